import type { CustomFetch } from 'openid-client';

import type { OidcSettings, OutpostConfig } from '../config/config.js';
import type { Keychain } from '../credentials/keychain.js';
import {
  openTokenStore,
  type CredentialStoreKind,
  type SaveOutcome,
  type StoredLogin,
} from '../credentials/token-store.js';
import { OutpostError, isOutpostError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { loginWithBrowser } from './cli-login.js';
import { signInWithDeviceCode, type DeviceCodePrompt } from './device-flow.js';
import { discoverOidcClient, type OidcClient } from './oidc-client.js';
import { revokeTokens, type RevocationOutcome } from './sign-out.js';
import type { SignInResult } from './token-response.js';

/** The config's `oidc` section, or USAGE when there is none to log in to. */
export function requireOidcSettings(config: Pick<OutpostConfig, 'oidc'>): OidcSettings {
  if (config.oidc) return config.oidc;
  throw new OutpostError('USAGE', 'no OpenID provider is configured', {
    hint: 'set oidc.issuer and oidc.client_id in outpost.yaml, or pass --issuer and --client-id',
  });
}

/** Where the CLI keeps its login and how it reaches the provider. */
export interface AccountOptions {
  stateDir: string;
  /** Default: the OS keychain; `null`: the file only. */
  keychain?: Keychain | null;
  fetch?: CustomFetch;
}

export interface LogInOptions extends AccountOptions {
  method: 'browser' | 'device';
  /** Browser: the URL to open (print it, open a browser). */
  onUrl?: (url: string) => void | Promise<void>;
  /** Device: the URL and code to show. */
  onPrompt?: (prompt: DeviceCodePrompt) => void | Promise<void>;
  /** Called once discovery is done, with what the provider needs said (plain HTTP, …). */
  onWarnings?: (warnings: readonly string[]) => void;
  /** Milliseconds to wait for the user. Default five minutes. */
  timeoutMs?: number;
  /** Browser: the loopback port (0: any). */
  port?: number;
  signal?: AbortSignal;
}

export interface LogInOutcome {
  login: StoredLogin;
  saved: SaveOutcome;
}

/**
 * `outpost login`: signs the developer in to the configured provider, by browser (RFC 8252
 * loopback redirect) or device code (RFC 8628), and keeps the tokens in the token store under
 * the configured issuer and client id, where `outpost headers` and `serve --user @login` look.
 */
export async function logIn(settings: OidcSettings, options: LogInOptions): Promise<LogInOutcome> {
  const client = await discoverOidcClient(settings, options.fetch ? { fetch: options.fetch } : {});
  options.onWarnings?.(client.warnings);

  const result = await signInBy(client, options);
  const login: StoredLogin = {
    issuer: settings.issuer,
    client_id: settings.client_id,
    tokens: result.tokens,
    identity: result.identity,
    saved_at: Math.floor(Date.now() / 1000),
  };
  const saved = await openTokenStore(storeOptions(options)).save(login);
  return { login, saved };
}

export interface LogOutOptions extends AccountOptions {
  /** Ends the proxy sessions of this subject; returns how many ended. */
  endSessions?: (sub: string) => Promise<number | undefined>;
}

export interface LogOutOutcome {
  /** The identity that was logged in, or null when nobody was. */
  identity: Identity | null;
  /** What the provider was told; `failed` with `problem` when it could not be reached. */
  revocation: RevocationOutcome | 'failed' | 'skipped';
  problem?: string;
  forgotten: CredentialStoreKind[];
  /** Proxy sessions ended, when `endSessions` could tell. */
  sessionsEnded?: number;
}

/**
 * `outpost logout`: revokes the kept tokens where the provider can (RFC 7009), forgets them
 * locally whatever the provider said, and ends that user's proxy sessions. Works offline: a
 * provider that cannot be reached is reported in `problem`, not thrown.
 */
export async function logOut(
  settings: OidcSettings,
  options: LogOutOptions,
): Promise<LogOutOutcome> {
  const store = openTokenStore(storeOptions(options));
  const found = await store.load(settings.issuer, settings.client_id);
  if (!found) return { identity: null, revocation: 'skipped', forgotten: [] };

  const { login } = found;
  const told = await tellProvider(settings, login, options);
  const forgotten = await store.delete(settings.issuer, settings.client_id);
  const sessionsEnded = await options.endSessions?.(login.identity.sub);
  return {
    identity: login.identity,
    ...told,
    forgotten,
    ...(sessionsEnded === undefined ? {} : { sessionsEnded }),
  };
}

async function signInBy(client: OidcClient, options: LogInOptions): Promise<SignInResult> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  if (options.method === 'device') {
    const timeout = AbortSignal.timeout(timeoutMs);
    return signInWithDeviceCode(client, {
      onPrompt: options.onPrompt ?? (() => {}),
      signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
    });
  }
  if (!options.onUrl) {
    throw new OutpostError('USAGE', 'a browser login needs somewhere to show its URL');
  }
  return loginWithBrowser(client, {
    onUrl: options.onUrl,
    timeoutMs,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

async function tellProvider(
  settings: OidcSettings,
  login: StoredLogin,
  options: AccountOptions,
): Promise<{ revocation: LogOutOutcome['revocation']; problem?: string }> {
  try {
    const client = await discoverOidcClient(
      settings,
      options.fetch ? { fetch: options.fetch } : {},
    );
    return { revocation: await revokeTokens(client, login.tokens) };
  } catch (error) {
    if (!isOutpostError(error)) throw error;
    return { revocation: 'failed', problem: error.message };
  }
}

function storeOptions(options: AccountOptions) {
  return {
    stateDir: options.stateDir,
    ...(options.keychain === undefined ? {} : { keychain: options.keychain }),
  };
}
