import { mkdirSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { OutpostError } from '../errors.js';

/**
 * Where outpost keeps what must survive a restart: sessions, the generated certificate, the
 * generated install id and secrets. The command layer decides the directory (flag, environment,
 * XDG default) and passes it in; core never reads the environment itself.
 */
export function defaultStateDir(env: { XDG_STATE_HOME?: string; HOME?: string }): string {
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'outpost');
  return join(env.HOME || homedir(), '.local', 'state', 'outpost');
}

/** Creates `dir` (and `sub` below it) readable only by the user, and returns the full path. */
export function ensurePrivateDir(dir: string, ...sub: string[]): string {
  const path = join(dir, ...sub);
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    chmodSync(path, 0o700);
  } catch (cause) {
    throw new OutpostError('STATE_UNWRITABLE', `cannot create the state directory ${path}`, {
      hint: 'pass --state-dir (or set OUTPOST_STATE_DIR) to a directory you can write',
      cause,
    });
  }
  return path;
}
