import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { OutpostError, systemErrorCode } from '../errors.js';
import { ensurePrivateDir } from '../state/state-dir.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** Where it came from, for the start banner: a generated file's path or the user's. */
  certPath: string;
  generated: boolean;
}

const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const VALID_DAYS = 825;

/**
 * The user's certificate when `cert`/`key` are given, otherwise the self-signed one for
 * localhost, 127.0.0.1 and ::1 kept in the state directory: made once, reused until it is within
 * 30 days of expiry, so a browser exception or a trusted copy keeps working across restarts.
 */
export async function loadTlsMaterial(options: {
  stateDir: string;
  cert: string | null;
  key: string | null;
  now?: number;
}): Promise<TlsMaterial> {
  if (options.cert || options.key) return readUserCertificate(options.cert, options.key);
  const dir = ensurePrivateDir(options.stateDir, 'tls');
  const certPath = join(dir, 'localhost.crt');
  const keyPath = join(dir, 'localhost.key');
  const cached = readCachedCertificate(certPath, keyPath, options.now ?? Date.now());
  if (cached) return cached;

  const generated = await generateLocalhostCertificate(options.now ?? Date.now());
  writeFileSync(keyPath, generated.key, { mode: 0o600 });
  writeFileSync(certPath, generated.cert, { mode: 0o644 });
  return { ...generated, certPath, generated: true };
}

function readUserCertificate(cert: string | null, key: string | null): TlsMaterial {
  if (!cert || !key) {
    throw new OutpostError('TLS_INVALID', `--${cert ? 'key' : 'cert'} is missing`, {
      hint: 'give both --cert and --key, or neither to use the generated localhost certificate',
    });
  }
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (cause) {
      throw new OutpostError('TLS_INVALID', `cannot read the ${what} ${path}`, {
        hint: 'check the path and that the file is PEM encoded',
        cause,
      });
    }
  };
  const material = { cert: read(cert, 'certificate'), key: read(key, 'key'), certPath: cert };
  try {
    new X509Certificate(material.cert);
  } catch (cause) {
    throw new OutpostError('TLS_INVALID', `${cert} is not a PEM certificate`, {
      hint: 'pass a PEM file that starts with -----BEGIN CERTIFICATE-----',
      cause,
    });
  }
  return { ...material, generated: false };
}

function readCachedCertificate(certPath: string, keyPath: string, now: number): TlsMaterial | null {
  try {
    const cert = readFileSync(certPath, 'utf8');
    const key = readFileSync(keyPath, 'utf8');
    const expires = Date.parse(new X509Certificate(cert).validTo);
    if (!(expires - now > RENEW_BEFORE_MS)) return null;
    return { cert, key, certPath, generated: false };
  } catch (cause) {
    if (systemErrorCode(cause) === 'ENOENT' || cause instanceof Error) return null;
    throw cause;
  }
}

async function generateLocalhostCertificate(now: number): Promise<{ cert: string; key: string }> {
  const notBefore = new Date(now - 60_000);
  const notAfter = new Date(now + VALID_DAYS * 24 * 3600 * 1000);
  // loaded only when a certificate is made: it is most of the start-up time otherwise
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    algorithm: 'sha256',
    keySize: 2048,
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
