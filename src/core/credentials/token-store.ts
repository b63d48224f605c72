import type { Identity } from '../identity/identity.js';
import type { OidcTokens } from '../oidc/token-response.js';
import { OutpostError } from '../errors.js';
import { CredentialsFile } from './credentials-file.js';
import { systemKeychain, type Keychain } from './keychain.js';

/** The service name of outpost's keychain entries. */
export const KEYCHAIN_SERVICE = 'outpost';

/** What `outpost login` keeps: the tokens and the identity they were issued for. */
export interface StoredLogin {
  issuer: string;
  client_id: string;
  tokens: OidcTokens;
  identity: Identity;
  /** Seconds since the epoch. */
  saved_at: number;
}

/** `keychain`: the OS keychain; `file`: `credentials.json` in the state directory. */
export type CredentialStoreKind = 'keychain' | 'file';

export interface TokenStoreOptions {
  stateDir: string;
  /** The keychain to try first; default the OS one. `null` uses the file only. */
  keychain?: Keychain | null;
  /** The keychain service name; default {@link KEYCHAIN_SERVICE}. */
  service?: string;
}

export interface SaveOutcome {
  store: CredentialStoreKind;
  /** The file, when the file was used. */
  path?: string;
  /** Why the keychain was not used, when it was not. */
  keychainError?: string;
}

export interface TokenStore {
  /** Keeps the login, in the keychain when it answers, else in the file (says which). */
  save(login: StoredLogin): Promise<SaveOutcome>;
  /** The login for this issuer and client, or null; the keychain wins over the file. */
  load(
    issuer: string,
    clientId: string,
  ): Promise<{ login: StoredLogin; store: CredentialStoreKind } | null>;
  /** Forgets the login everywhere; returns where it was found. */
  delete(issuer: string, clientId: string): Promise<CredentialStoreKind[]>;
}

/**
 * The CLI's token storage: one entry per issuer and client id (service `outpost`, account
 * `<issuer>|<client_id>`), in the OS keychain, or where none is reachable (headless Linux
 * without a Secret Service, CI) in a file only the user can read. Tokens never go anywhere else.
 */
export function openTokenStore(options: TokenStoreOptions): TokenStore {
  const keychain = options.keychain === undefined ? systemKeychain() : options.keychain;
  const service = options.service ?? KEYCHAIN_SERVICE;
  const file = new CredentialsFile(options.stateDir);

  return {
    save: (login) => saveLogin(keychain, service, file, login),
    load: (issuer, clientId) => loadLogin(keychain, service, file, accountFor(issuer, clientId)),
    delete: (issuer, clientId) =>
      deleteLogin(keychain, service, file, accountFor(issuer, clientId)),
  };
}

/** The keychain account of one issuer and client. */
export function accountFor(issuer: string, clientId: string): string {
  return `${issuer}|${clientId}`;
}

async function saveLogin(
  keychain: Keychain | null,
  service: string,
  file: CredentialsFile,
  login: StoredLogin,
): Promise<SaveOutcome> {
  const account = accountFor(login.issuer, login.client_id);
  const secret = JSON.stringify(login);
  let keychainError = keychain ? undefined : 'the keychain is turned off';
  if (keychain) {
    try {
      await keychain.setPassword(service, account, secret);
      // an older copy in the file would otherwise outlive the keychain's
      await file.delete(account);
      return { store: 'keychain' };
    } catch (error) {
      keychainError = error instanceof Error ? firstLine(error.message) : String(error);
    }
  }
  await file.set(account, secret);
  return { store: 'file', path: file.path, ...(keychainError ? { keychainError } : {}) };
}

async function loadLogin(
  keychain: Keychain | null,
  service: string,
  file: CredentialsFile,
  account: string,
): Promise<{ login: StoredLogin; store: CredentialStoreKind } | null> {
  const fromKeychain = keychain ? await readKeychain(keychain, service, account) : null;
  if (fromKeychain !== null)
    return { login: parseLogin(fromKeychain, 'the keychain'), store: 'keychain' };

  const fromFile = await file.get(account);
  if (fromFile !== null) return { login: parseLogin(fromFile, file.path), store: 'file' };
  return null;
}

async function deleteLogin(
  keychain: Keychain | null,
  service: string,
  file: CredentialsFile,
  account: string,
): Promise<CredentialStoreKind[]> {
  const found: CredentialStoreKind[] = [];
  if (keychain && (await deleteFromKeychain(keychain, service, account))) found.push('keychain');
  if (await file.delete(account)) found.push('file');
  return found;
}

/** An unreachable keychain holds nothing we can use: read it as empty and try the file. */
async function readKeychain(
  keychain: Keychain,
  service: string,
  account: string,
): Promise<string | null> {
  try {
    return await keychain.getPassword(service, account);
  } catch {
    return null;
  }
}

async function deleteFromKeychain(
  keychain: Keychain,
  service: string,
  account: string,
): Promise<boolean> {
  try {
    return await keychain.deletePassword(service, account);
  } catch {
    // unreachable or no such entry: either way nothing is left there to forget
    return false;
  }
}

function parseLogin(secret: string, where: string): StoredLogin {
  try {
    const login = JSON.parse(secret) as StoredLogin;
    if (typeof login.tokens?.access_token === 'string' && typeof login.identity?.sub === 'string') {
      return login;
    }
  } catch {
    // reported below
  }
  throw new OutpostError('KEYCHAIN_FAILED', `the saved login in ${where} cannot be read`, {
    hint: 'run `outpost logout` to forget it, then `outpost login`',
  });
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
