import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { OutpostError, systemErrorCode } from '../errors.js';
import { ensurePrivateDir } from '../state/state-dir.js';

/** The fallback file's name in the state directory. */
export const CREDENTIALS_FILE = 'credentials.json';

interface FileContent {
  version: 1;
  /** Secrets by keychain account (`<issuer>|<client_id>`), as they would be in the keychain. */
  entries: Record<string, string>;
}

/**
 * Where tokens go when no keychain is reachable: `credentials.json` in the state directory,
 * mode 0600 in a 0700 directory, replaced atomically so that a crash never leaves half a file.
 */
export class CredentialsFile {
  readonly path: string;

  constructor(private readonly stateDir: string) {
    this.path = join(stateDir, CREDENTIALS_FILE);
  }

  async get(account: string): Promise<string | null> {
    return (await this.read()).entries[account] ?? null;
  }

  async set(account: string, secret: string): Promise<void> {
    const content = await this.read();
    content.entries[account] = secret;
    await this.write(content);
  }

  /** Removes the entry; true when there was one. The file goes when its last entry does. */
  async delete(account: string): Promise<boolean> {
    const content = await this.read();
    if (!(account in content.entries)) return false;
    delete content.entries[account];
    await this.write(content);
    return true;
  }

  private async read(): Promise<FileContent> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (cause) {
      if (systemErrorCode(cause) === 'ENOENT') return { version: 1, entries: {} };
      throw this.failure('cannot read', cause);
    }
    return this.parse(text);
  }

  private parse(text: string): FileContent {
    try {
      const content = JSON.parse(text) as Partial<FileContent>;
      if (typeof content.entries === 'object' && content.entries !== null) {
        return { version: 1, entries: { ...content.entries } };
      }
    } catch {
      // reported below like any other unreadable content
    }
    throw new OutpostError('KEYCHAIN_FAILED', `${this.path} is not a credentials file`, {
      hint: `delete ${this.path} and log in again`,
    });
  }

  private async write(content: FileContent): Promise<void> {
    ensurePrivateDir(this.stateDir);
    try {
      if (Object.keys(content.entries).length === 0) {
        await rm(this.path, { force: true });
        return;
      }
      const temporary = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
      // the mode given at creation is filtered by the umask; make sure of it
      await chmod(temporary, 0o600);
      await rename(temporary, this.path);
    } catch (cause) {
      throw this.failure('cannot write', cause);
    }
  }

  private failure(what: string, cause: unknown): OutpostError {
    return new OutpostError('KEYCHAIN_FAILED', `${what} ${this.path}`, {
      hint: 'check the permissions of the state directory, or pass another --state-dir',
      cause,
    });
  }
}
