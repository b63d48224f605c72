import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { OutpostError, systemErrorCode } from '../errors.js';
import { ensurePrivateDir } from './state-dir.js';

/**
 * A value generated once and kept in the state directory (install id, cookie key, client secret),
 * so that uids, sessions and tokens stay the same across restarts. The first writer wins: a file
 * created meanwhile by another process is read instead of overwritten.
 */
export function persistentSecret(stateDir: string, name: string, bytes = 32): string {
  const path = join(ensurePrivateDir(stateDir), name);
  const existing = readIfPresent(path);
  if (existing) return existing;
  const value = randomBytes(bytes).toString('hex');
  try {
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return value;
  } catch (cause) {
    if (systemErrorCode(cause) === 'EEXIST') return readIfPresent(path) ?? value;
    throw new OutpostError('STATE_UNWRITABLE', `cannot write ${path}`, {
      hint: 'pass --state-dir (or set OUTPOST_STATE_DIR) to a directory you can write',
      cause,
    });
  }
}

function readIfPresent(path: string): string | null {
  try {
    const value = readFileSync(path, 'utf8').trim();
    return value === '' ? null : value;
  } catch (cause) {
    if (systemErrorCode(cause) === 'ENOENT') return null;
    throw new OutpostError('STATE_UNWRITABLE', `cannot read ${path}`, {
      hint: 'check the permissions of the state directory, or pass another --state-dir',
      cause,
    });
  }
}
