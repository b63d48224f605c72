import { createHash, createHmac } from 'node:crypto';

import type { OutpostConfig } from '../config/config.js';
import { findDevUser } from '../identity/dev-users.js';
import type { Identity } from '../identity/identity.js';
import type { UnauthenticatedPaths } from '../paths/unauthenticated-paths.js';
import { sessionCookieName } from '../session/cookies.js';
import {
  SessionStore,
  sessionsDirFor,
  signInsDirFor,
  type Session,
} from '../session/session-store.js';
import { persistentSecret } from '../state/persistent-secret.js';
import type { AccessEntry } from './access-log.js';
import type { HeaderContext } from '../headers/identity-headers.js';
import { IdentitySource } from './identity-source.js';
import { ProviderLink } from './provider-link.js';
import { SignInAttempts } from './sign-in-attempts.js';

export interface OutpostOptions {
  config: OutpostConfig;
  stateDir: string;
  /** outpost's version, for `X-Authentik-Meta-Version`. */
  version: string;
  paths: UnauthenticatedPaths;
  /** The app's origin; the built-in echo app's when the config names none. */
  upstream: URL;
  /** `--user`: every request is this dev user, with no sign-in. */
  presetUser?: string;
  /** `--user @login`: every request carries this identity (the one `outpost login` kept). */
  presetIdentity?: Identity;
  onAccess?: (entry: AccessEntry) => void;
  onWarning?: (message: string) => void;
}

/**
 * Everything a request needs, made once at start: the resolved settings, secrets from the state
 * directory, the session store and the shared matcher. Request handling reads it and never
 * changes the configuration.
 */
export class OutpostContext extends IdentitySource {
  readonly sessions: SessionStore;
  readonly cookieName: string;
  readonly attempts: SignInAttempts;
  /** The real OpenID provider when the config has an `oidc` section; null for dev users. */
  readonly provider: ProviderLink | null;
  private readonly presetIdentities = new Map<string, Identity>();
  private readonly providerContexts = new Map<string, HeaderContext>();
  private readonly devFingerprints = new Map<string, string | null>();

  constructor(readonly options: OutpostOptions) {
    super(options.config, options.stateDir, options.version);
    const { config, stateDir } = options;
    if (options.presetUser !== undefined) findDevUser(config.users, options.presetUser);
    this.cookieName = sessionCookieName(config.client_id);
    const sessionKey = createHmac('sha256', persistentSecret(stateDir, 'session-key'))
      .update(config.client_id)
      .digest('hex');
    this.sessions = SessionStore.open({
      dir: sessionsDirFor(stateDir, config.client_id),
      secret: sessionKey,
      onProblem: (message) => options.onWarning?.(message),
    });
    this.attempts = SignInAttempts.open(signInsDirFor(stateDir, config.client_id), (message) =>
      options.onWarning?.(message),
    );
    this.provider = config.oidc
      ? new ProviderLink(config.oidc, (message) => options.onWarning?.(message))
      : null;
  }

  /** The header context for one identity: a real provider's own JWKS URL for its users. */
  headerContextFor(identity: Identity, externalOrigin: string): HeaderContext {
    const base = this.headerContext(externalOrigin);
    const jwks = identity.source === 'oidc' ? this.provider?.jwksUri : undefined;
    if (!jwks) return base;
    let context = this.providerContexts.get(externalOrigin);
    if (context?.jwksUrl !== jwks) {
      context = { ...base, jwksUrl: jwks };
      this.providerContexts.set(externalOrigin, context);
    }
    return context;
  }

  /** `--user`: the preset identity, its token renewed once half its validity has passed. */
  presetIdentity(externalOrigin: string): Identity | null {
    if (this.options.presetIdentity) return this.options.presetIdentity;
    const username = this.options.presetUser;
    if (username === undefined) return null;
    const cached = this.presetIdentities.get(externalOrigin);
    if (cached && !isPastHalfLife(cached.access_token, this.config.access_token_validity))
      return cached;
    const identity = this.devIdentity(username, externalOrigin);
    this.presetIdentities.set(externalOrigin, identity);
    return identity;
  }

  /**
   * A session as outpost.yaml defines its user now. A dev user's identity is made again when the
   * user's definition changed since sign-in (serve reloaded the file, or started with an edited
   * one), so the app sees new groups or attributes at the next request; a dev user no longer
   * configured is signed out (null). Sessions of a real provider are returned as they are.
   */
  currentSession(session: Session, externalOrigin: string): Session | null {
    if (session.identity.source !== 'dev') return session;
    const username = session.identity.preferred_username;
    const fingerprint = this.devFingerprint(username);
    if (fingerprint === session.dev_fingerprint) return session;
    if (fingerprint === null) {
      this.sessions.destroy(session);
      this.options.onWarning?.(
        `${JSON.stringify(username)} is no longer a dev user in ${this.config.file ?? 'the configuration'}: that session ended`,
      );
      return null;
    }
    const identity = this.devIdentity(username, externalOrigin);
    const current = { ...session, identity, dev_fingerprint: fingerprint };
    this.sessions.update(current);
    return current;
  }

  /**
   * What a dev user's identity is made from (the user, the groups, the token settings), hashed;
   * null when no such user is configured.
   */
  devFingerprint(username: string): string | null {
    let fingerprint = this.devFingerprints.get(username);
    if (fingerprint === undefined) {
      const user = this.config.users.find((candidate) => candidate.username === username);
      const config = this.config;
      fingerprint = user
        ? createHash('sha256')
            .update(
              JSON.stringify([
                user,
                config.groups,
                config.client_id,
                this.clientSecret,
                this.installId,
                config.access_token_validity,
                config.assigned_application_slug,
              ]),
            )
            .digest('base64url')
        : null;
      this.devFingerprints.set(username, fingerprint);
    }
    return fingerprint;
  }

  cookieIsSecure(externalOrigin: string): boolean {
    return externalOrigin.startsWith('https:');
  }
}

function isPastHalfLife(token: string, validity: number): boolean {
  try {
    const payload = JSON.parse(
      Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
    );
    return Date.now() / 1000 > (payload.exp as number) - validity / 2;
  } catch {
    return true;
  }
}
