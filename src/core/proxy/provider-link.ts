import type { OidcSettings } from '../config/config.js';
import { OutpostError, isOutpostError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import {
  createIntrospector,
  createPasswordExchange,
  discoverOidcClient,
  isExpiring,
  refreshSignIn,
  type Introspector,
  type OidcClient,
  type PasswordExchange,
} from '../oidc/index.js';
import type { Session, SessionStore } from '../session/session-store.js';

const RETRY_AFTER_MS = 5_000;
/** A refresh claimed by another worker for longer than this was abandoned (it died). */
const REFRESH_CLAIM_STALE_MS = 10_000;
const REFRESH_POLL_MS = 50;

/**
 * The proxy's connection to a real OpenID provider: discovered on first need (a provider that is
 * down at start does not stop `serve`; sign-in shows an error page until it answers), then kept.
 * Refreshing sessions, introspecting bearer tokens and exchanging Basic credentials go through
 * here.
 */
export class ProviderLink {
  private discovered: OidcClient | null = null;
  private pending: Promise<OidcClient> | null = null;
  private failedAt = 0;
  private failure: OutpostError | null = null;
  private introspector: Introspector | null = null;
  private passwords: PasswordExchange | null = null;
  private readonly refreshing = new Map<string, Promise<Session | null>>();

  constructor(
    readonly settings: OidcSettings,
    private readonly onWarning: (message: string) => void,
  ) {}

  /** Starts discovery now, so a provider that is down is reported at start. */
  warmUp(): void {
    this.client().then(
      (client) => client.warnings.forEach((warning) => this.onWarning(warning)),
      (error: unknown) =>
        this.onWarning(`${describe(error)}; sign-in shows an error page until it answers`),
    );
  }

  /** The discovered client. @throws OutpostError PROVIDER_UNREACHABLE while it cannot be had. */
  client(): Promise<OidcClient> {
    if (this.discovered) return Promise.resolve(this.discovered);
    if (this.failure && Date.now() - this.failedAt < RETRY_AFTER_MS) {
      return Promise.reject(this.failure);
    }
    this.pending ??= discoverOidcClient(this.settings, { timeout: 5 }).then(
      (client) => {
        this.discovered = client;
        this.pending = null;
        return client;
      },
      (error: unknown) => {
        this.pending = null;
        this.failedAt = Date.now();
        this.failure = asOutpostError(error);
        throw this.failure;
      },
    );
    return this.pending;
  }

  /** The provider's JWKS URL once discovered, for `X-Authentik-Meta-Jwks`. */
  get jwksUri(): string | undefined {
    return this.discovered?.jwksUri;
  }

  /**
   * The session with a fresh access token: refreshed when it is about to expire, one refresh per
   * session at a time. A refresh the provider refuses ends the session (null: signed out).
   * @throws OutpostError PROVIDER_UNREACHABLE when the provider cannot be asked.
   */
  async fresh(session: Session, sessions: SessionStore): Promise<Session | null> {
    if (!needsRefresh(session)) return session;
    let running = this.refreshing.get(session.key);
    if (!running) {
      running = this.refreshOnce(session.key, sessions).finally(() =>
        this.refreshing.delete(session.key),
      );
      this.refreshing.set(session.key, running);
    }
    return running;
  }

  /**
   * Refreshes a session unless another worker has just done it or is doing it: then that
   * worker's result, read from the state directory, is used.
   */
  private async refreshOnce(key: string, sessions: SessionStore): Promise<Session | null> {
    const deadline = Date.now() + REFRESH_CLAIM_STALE_MS;
    for (;;) {
      const latest = sessions.reread(key);
      if (!latest || !needsRefresh(latest)) return latest;
      const release = sessions.claimRefresh(key, REFRESH_CLAIM_STALE_MS);
      if (release) {
        try {
          return await this.refresh(latest, sessions);
        } finally {
          release();
        }
      }
      if (Date.now() > deadline) return latest;
      await new Promise((resolve) => setTimeout(resolve, REFRESH_POLL_MS));
    }
  }

  private async refresh(session: Session, sessions: SessionStore): Promise<Session | null> {
    if (!session.refresh_token) {
      sessions.destroy(session);
      return null;
    }
    const client = await this.client();
    try {
      const tokens = {
        access_token: session.identity.access_token,
        refresh_token: session.refresh_token,
        expires_at: (session.access_expires_at ?? 0) / 1000,
        ...(session.id_token ? { id_token: session.id_token } : {}),
      };
      const result = await refreshSignIn(client, tokens, session.identity);
      const renewed: Session = {
        ...session,
        identity: result.identity,
        access_expires_at: result.tokens.expires_at * 1000,
        refresh_token: result.tokens.refresh_token ?? session.refresh_token,
      };
      if (result.tokens.id_token) renewed.id_token = result.tokens.id_token;
      sessions.update(renewed);
      return renewed;
    } catch (error) {
      if (isOutpostError(error) && error.code === 'PROVIDER_UNREACHABLE') throw error;
      const user = session.identity.preferred_username;
      // the provider may have answered, yet the new tokens could not be kept: sign out all the same
      const what =
        isOutpostError(error) && error.code === 'STATE_UNWRITABLE'
          ? `the refreshed session of ${user} could not be saved, so it is signed out`
          : `refresh refused for ${user}`;
      this.onWarning(`${what}: ${describe(error)}`);
      sessions.destroy(session);
      return null;
    }
  }

  /**
   * The identity behind an `Authorization: Bearer` token (RFC 7662), cached briefly, or null when
   * the provider says it is not active or cannot introspect.
   */
  async introspect(token: string): Promise<Identity | null> {
    const client = await this.client();
    if (!client.canIntrospect) return null;
    this.introspector ??= createIntrospector(client, { ttlMs: 30_000 });
    return this.introspector.introspect(token);
  }

  /**
   * The identity of a service account behind `Authorization: Basic` credentials, from the
   * client-credentials grant (authentik's app passwords), kept for a minute; null when the
   * provider refuses them, with a log line saying why.
   */
  async exchangeBasic(username: string, password: string): Promise<Identity | null> {
    const client = await this.client();
    this.passwords ??= createPasswordExchange(client, (user, why) =>
      this.onWarning(`Basic credentials of ${JSON.stringify(user)} refused: ${why}`),
    );
    return this.passwords.exchange(username, password);
  }

  /** Forgets what bearer tokens and Basic credentials were found to mean (after a sign-out). */
  forgetCredentials(): void {
    this.introspector?.clear();
    this.passwords?.clear();
  }
}

function asOutpostError(error: unknown): OutpostError {
  if (isOutpostError(error)) return error;
  return new OutpostError(
    'PROVIDER_UNREACHABLE',
    `the OpenID provider cannot be reached: ${String(error)}`,
    {
      hint: 'check oidc.issuer and that the provider is running',
      cause: error,
    },
  );
}

function describe(error: unknown): string {
  return isOutpostError(error) ? error.message : String(error);
}

/** True when the session's access token expires within the refresh margin. */
function needsRefresh(session: Session): boolean {
  const expiresAt = session.access_expires_at;
  return expiresAt !== undefined && isExpiring({ access_token: '', expires_at: expiresAt / 1000 });
}
