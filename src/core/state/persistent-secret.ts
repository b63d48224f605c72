import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  // written whole under a private name, then linked into place: a reader never sees half a file,
  // and of two processes starting at once (workers) exactly one value wins
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(draft, `${value}\n`, { mode: 0o600 });
    linkSync(draft, path);
    return value;
  } catch (cause) {
    if (systemErrorCode(cause) === 'EEXIST') return readIfPresent(path) ?? value;
    throw new OutpostError('STATE_UNWRITABLE', `cannot write ${path}`, {
      hint: 'pass --state-dir (or set OUTPOST_STATE_DIR) to a directory you can write',
      cause,
    });
  } finally {
    rmSync(draft, { force: true });
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
