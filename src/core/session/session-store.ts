import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
  type FSWatcher,
} from 'node:fs';
import { join } from 'node:path';

import { OutpostError, systemErrorCode } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { ensurePrivateDir } from '../state/state-dir.js';

/** A signed-in browser or client, kept on the server; the cookie only names it. */
export interface Session {
  /** SHA-256 of the session id: the file name, so a directory listing reveals no cookie. */
  key: string;
  identity: Identity;
  created_at: number;
  expires_at: number;
  /** A real provider's tokens, kept to refresh and to sign out. */
  refresh_token?: string;
  id_token?: string;
  /** When the access token in `identity` expires (ms); refresh is due after it. */
  access_expires_at?: number;
  /** A dev user's: which definition of the user in outpost.yaml the identity was made from. */
  dev_fingerprint?: string;
}

export interface SessionStoreOptions {
  dir: string;
  /** Key for the cookie signature; another key (another provider's) makes every cookie invalid. */
  secret: string;
  /** Told about sessions that could not be read or written; the store goes on without them. */
  onProblem?: (message: string) => void;
  now?: () => number;
}

/**
 * Sessions on disk in the state directory, one file each, cached in memory. Cookie values are
 * `<id>.<HMAC-SHA256(id)>`: anything else, an unknown id or an expired session reads as "not
 * signed in". Sessions survive a restart; expired ones are removed when met.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly dir: string;
  private watcher: FSWatcher | null = null;
  private readonly verified = new Map<string, string>();

  private constructor(private readonly options: SessionStoreOptions) {
    this.dir = ensurePrivateDir(options.dir);
  }

  static open(options: SessionStoreOptions): SessionStore {
    const store = new SessionStore(options);
    store.loadAll();
    store.watchForChanges();
    return store;
  }

  /**
   * Ends the sessions of `sub` kept in `dir` from outside the process that serves them (`outpost
   * logout`); a running serve sees the files go and forgets them. Returns how many ended.
   */
  static endSessionsOf(dir: string, sub: string): number {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return 0;
    }
    let ended = 0;
    for (const name of names.filter((file) => SESSION_FILE.test(file))) {
      const session = readSessionFile(join(dir, name), name.slice(0, 64));
      if (session?.identity.sub !== sub) continue;
      rmSync(join(dir, name), { force: true });
      ended += 1;
    }
    return ended;
  }

  /** Stops watching the directory; the store stays usable. */
  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  /**
   * Another process (a second worker, `outpost logout`) may remove or rewrite a session file: the
   * cached copy must go, or a signed-out session would live on in this process, or one refreshed
   * elsewhere would be refreshed again here with a spent refresh token. The next lookup reads the
   * file as it is now.
   */
  private watchForChanges(): void {
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (typeof name !== 'string' || !SESSION_FILE.test(name)) return;
        this.sessions.delete(name.slice(0, 64));
      });
      this.watcher.on('error', () => this.close());
    } catch (cause) {
      this.options.onProblem?.(
        `cannot watch ${this.dir} for sessions ended elsewhere: ${String(cause)}`,
      );
    }
  }

  private get now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Starts a session and returns the cookie value that names it: always a fresh id. */
  create(identity: Identity, lifetimeSeconds: number, tokens: Partial<Session> = {}): string {
    const id = randomBytes(32).toString('base64url');
    const created = this.now;
    const session: Session = {
      ...tokens,
      key: hashId(id),
      identity,
      created_at: created,
      expires_at: created + lifetimeSeconds * 1000,
    };
    this.save(session);
    return `${id}.${this.sign(id)}`;
  }

  /** The live session a cookie value names, or null for anything doubtful. */
  lookup(cookieValue: string | undefined): Session | null {
    if (cookieValue === undefined) return null;
    const key = this.keyOf(cookieValue);
    if (key === null) return null;
    const session = this.sessions.get(key) ?? this.readSession(key);
    if (!session) {
      this.verified.delete(cookieValue);
      return null;
    }
    if (session.expires_at <= this.now) {
      this.remove(key);
      return null;
    }
    return session;
  }

  /** Writes a changed session (refreshed tokens) back. */
  update(session: Session): void {
    this.save(session);
  }

  destroy(session: Session): void {
    this.remove(session.key);
  }

  /**
   * Ends every session of one user (same uid), those other processes (workers) started included;
   * returns how many there were.
   */
  destroyBySubject(sub: string): number {
    const keys = [...this.sessions.values()]
      .filter((s) => s.identity.sub === sub)
      .map((s) => s.key);
    for (const key of keys) this.remove(key);
    return keys.length + SessionStore.endSessionsOf(this.dir, sub);
  }

  /**
   * The session as it is on disk now, which another worker may have changed (refreshed) or ended
   * since this process read it; null once it is gone or expired.
   */
  reread(key: string): Session | null {
    this.sessions.delete(key);
    const session = this.readSession(key);
    if (session && session.expires_at <= this.now) {
      this.remove(key);
      return null;
    }
    return session;
  }

  /**
   * Claims the right to refresh one session across processes, so that two workers never spend the
   * same refresh token (a provider that rotates them would end the session). Returns the release
   * function, or null while another process holds the claim. A claim older than
   * `staleAfterMs` was left by a process that died and is taken over.
   */
  claimRefresh(key: string, staleAfterMs: number): (() => void) | null {
    const path = join(this.dir, `${key}.refreshing`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        closeSync(openSync(path, 'wx', 0o600));
        return () => rmSync(path, { force: true });
      } catch (cause) {
        if (systemErrorCode(cause) !== 'EEXIST') return () => undefined;
        if (this.now - mtimeOf(path) < staleAfterMs) return null;
        rmSync(path, { force: true });
      }
    }
    return null;
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * The session key a cookie value names, or null when its signature is wrong. Verified values
   * are remembered, so a signed-in request costs no HMAC and no hash.
   */
  private keyOf(cookieValue: string): string | null {
    const known = this.verified.get(cookieValue);
    if (known !== undefined) return known;
    const id = this.verify(cookieValue);
    if (id === null) return null;
    if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
    const key = hashId(id);
    this.verified.set(cookieValue, key);
    return key;
  }

  private sign(id: string): string {
    return createHmac('sha256', this.options.secret).update(id).digest('base64url');
  }

  private verify(cookieValue: string): string | null {
    const dot = cookieValue.indexOf('.');
    if (dot !== 43 || cookieValue.length !== 87) return null;
    const id = cookieValue.slice(0, dot);
    const given = Buffer.from(cookieValue.slice(dot + 1));
    const expected = Buffer.from(this.sign(id));
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
  }

  private save(session: Session): void {
    const path = join(this.dir, `${session.key}.json`);
    try {
      writeFileSync(`${path}.tmp`, JSON.stringify(session), { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    } catch (cause) {
      // said here once for every caller (sign-in, refresh), which only show the user a page
      this.options.onProblem?.(`cannot save a session in ${this.dir}: ${String(cause)}`);
      throw new OutpostError('STATE_UNWRITABLE', `cannot save the session in ${this.dir}`, {
        hint: 'check that the state directory is writable, or pass another --state-dir',
        cause,
      });
    }
    this.sessions.set(session.key, session);
  }

  private remove(key: string): void {
    this.sessions.delete(key);
    try {
      rmSync(join(this.dir, `${key}.json`), { force: true });
    } catch (cause) {
      this.options.onProblem?.(`cannot remove session file ${key}.json: ${String(cause)}`);
    }
  }

  private loadAll(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (cause) {
      this.options.onProblem?.(`cannot list sessions in ${this.dir}: ${String(cause)}`);
      return;
    }
    for (const name of names) {
      if (!SESSION_FILE.test(name)) continue;
      const session = this.readSession(name.slice(0, 64));
      if (session && session.expires_at <= this.now) this.remove(session.key);
    }
  }

  /** Reads one session file; a corrupt one is reported and treated as signed out. */
  private readSession(key: string): Session | null {
    let text: string;
    try {
      text = readFileSync(join(this.dir, `${key}.json`), 'utf8');
    } catch (cause) {
      if (systemErrorCode(cause) !== 'ENOENT') {
        this.options.onProblem?.(`cannot read session ${key.slice(0, 8)}: ${String(cause)}`);
      }
      return null;
    }
    const session = parseSession(text, key);
    if (!session) {
      this.options.onProblem?.(`session file ${key.slice(0, 8)}… is corrupt; it is ignored`);
      return null;
    }
    this.sessions.set(key, session);
    return session;
  }
}

const SESSION_FILE = /^[0-9a-f]{64}\.json$/;
const MAX_VERIFIED = 10_000;

/** Where the sessions of one provider (by client id) live in the state directory. */
export function sessionsDirFor(stateDir: string, clientId: string): string {
  return join(
    stateDir,
    'sessions',
    createHash('sha256').update(clientId, 'utf8').digest('hex').slice(0, 8),
  );
}

/** Where the sign-ins under way of one provider live: beside its sessions, not among them. */
export function signInsDirFor(stateDir: string, clientId: string): string {
  return join(
    stateDir,
    'sign-ins',
    createHash('sha256').update(clientId, 'utf8').digest('hex').slice(0, 8),
  );
}

function readSessionFile(path: string, key: string): Session | null {
  try {
    return parseSession(readFileSync(path, 'utf8'), key);
  } catch {
    return null;
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

function parseSession(text: string, key: string): Session | null {
  try {
    const value = JSON.parse(text) as Partial<Session>;
    const identity = value.identity as Partial<Identity> | undefined;
    if (
      value.key !== key ||
      typeof value.expires_at !== 'number' ||
      typeof identity?.sub !== 'string' ||
      typeof identity.preferred_username !== 'string'
    ) {
      return null;
    }
    return value as Session;
  } catch {
    return null;
  }
}
