import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { OutpostError, systemErrorCode } from '../errors.js';
import { ensurePrivateDir } from '../state/state-dir.js';

/** One sign-in under way: what the callback must match, and where to go afterwards. */
export interface SignInAttempt {
  state: string;
  /** Where to return after sign-in (already validated). */
  rd: string;
  created_at: number;
  /** A real provider's PKCE and nonce, kept until the callback. */
  nonce?: string;
  code_verifier?: string;
  redirect_uri?: string;
}

const LIFETIME_MS = 10 * 60 * 1000;
const MAX_ATTEMPTS = 10_000;
const PRUNE_EVERY_MS = 60_000;
const PRUNE_EVERY_BEGINS = 1_000;
const ATTEMPT_FILE = /^[0-9a-f]{64}\.json$/;

/**
 * Sign-ins under way, by `state`, one file each in the state directory: a sign-in started in one
 * worker can finish in another, and one under way survives a restart. The state is also put in a
 * cookie of the browser that started it, so a callback carrying another browser's state is
 * refused. Each state works once, across processes too: finishing claims the file by renaming it,
 * which only one caller can do.
 */
export class SignInAttempts {
  private lastPrune = 0;
  private begunSincePrune = 0;

  private constructor(
    private readonly dir: string,
    private readonly onProblem: (message: string) => void,
  ) {}

  static open(dir: string, onProblem: (message: string) => void = () => undefined) {
    return new SignInAttempts(ensurePrivateDir(dir), onProblem);
  }

  /** @throws OutpostError STATE_UNWRITABLE when the attempt cannot be kept. */
  begin(rd: string, extra: Partial<SignInAttempt> = {}): SignInAttempt {
    this.pruneNow();
    const attempt = {
      ...extra,
      state: extra.state ?? randomBytes(24).toString('base64url'),
      rd,
      created_at: Date.now(),
    };
    const path = this.pathOf(attempt.state);
    const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      writeFileSync(draft, JSON.stringify(attempt), { mode: 0o600 });
      renameSync(draft, path);
    } catch (cause) {
      rmSync(draft, { force: true });
      throw new OutpostError('STATE_UNWRITABLE', `cannot keep the sign-in in ${this.dir}`, {
        hint: 'check that the state directory is writable, or pass another --state-dir',
        cause,
      });
    }
    return attempt;
  }

  /** The attempt for `state` if `cookieState` (the browser's) names the same one; used up. */
  finish(state: string | null, cookieState: string | undefined): SignInAttempt | null {
    if (!state || state !== cookieState) return null;
    const path = this.pathOf(state);
    const claimed = `${path}.claimed.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      renameSync(path, claimed);
    } catch {
      return null; // unknown, or used a moment ago by another request
    }
    const attempt = this.read(claimed, state);
    rmSync(claimed, { force: true });
    return attempt;
  }

  /** Looks at an attempt without using it up (the dev sign-in page shows it). */
  peek(state: string | undefined): SignInAttempt | null {
    return state ? this.read(this.pathOf(state), state) : null;
  }

  private pathOf(state: string): string {
    return join(this.dir, `${createHash('sha256').update(state).digest('hex')}.json`);
  }

  /** A live attempt from its file; anything missing, broken, foreign or expired is none. */
  private read(path: string, state: string): SignInAttempt | null {
    let attempt: Partial<SignInAttempt>;
    try {
      attempt = JSON.parse(readFileSync(path, 'utf8')) as Partial<SignInAttempt>;
    } catch (cause) {
      if (systemErrorCode(cause) !== 'ENOENT') {
        this.onProblem(`a sign-in under way could not be read, so it is ignored: ${String(cause)}`);
      }
      return null;
    }
    if (attempt.state !== state || typeof attempt.rd !== 'string') return null;
    if (typeof attempt.created_at !== 'number') return null;
    return Date.now() - attempt.created_at <= LIFETIME_MS ? (attempt as SignInAttempt) : null;
  }

  /**
   * Removes abandoned attempts once a minute, or after every thousand sign-ins started here: a
   * flood of sign-ins that never finish is cut to the newest MAX_ATTEMPTS and cannot fill the disk.
   */
  private pruneNow(): void {
    const now = Date.now();
    this.begunSincePrune += 1;
    if (now - this.lastPrune < PRUNE_EVERY_MS && this.begunSincePrune < PRUNE_EVERY_BEGINS) return;
    this.lastPrune = now;
    this.begunSincePrune = 0;
    let files: { path: string; mtime: number }[];
    try {
      files = readdirSync(this.dir)
        .filter((name) => ATTEMPT_FILE.test(name))
        .map((name) => ({ path: join(this.dir, name), mtime: mtimeOf(join(this.dir, name)) }));
    } catch (cause) {
      this.onProblem(`cannot list the sign-ins under way in ${this.dir}: ${String(cause)}`);
      return;
    }
    files.sort((a, b) => b.mtime - a.mtime);
    files.forEach((file, index) => {
      if (index >= MAX_ATTEMPTS || now - file.mtime > LIFETIME_MS)
        rmSync(file.path, { force: true });
    });
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
