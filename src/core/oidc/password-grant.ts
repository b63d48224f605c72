import * as oidc from 'openid-client';

import type { Identity } from '../identity/identity.js';
import { AnswerCache, type CachedAnswer } from './answer-cache.js';
import type { OidcClient } from './oidc-client.js';
import { OidcProtocolError, toOutpostError } from './oidc-errors.js';
import { resultFromTokenResponse } from './token-response.js';

/**
 * The Basic username under which authentik's outpost reads the password as a bearer token, for
 * clients that can only send Basic credentials.
 */
export const TOKEN_USERNAME = 'goauthentik.io/token';

export interface PasswordExchangeOptions {
  /** How long an accepted password is believed without asking again, in ms. Default 60 000. */
  ttlMs?: number;
  /** At most this many credentials are remembered; the oldest go first. Default 1000. */
  maxEntries?: number;
  /** The clock, for tests. */
  now?: () => number;
}

/** Trades `Authorization: Basic` credentials for the identity of a service account. */
export interface PasswordExchange {
  /**
   * The identity the provider gives for this username and password (authentik: a service
   * account's app password), or null when the provider refuses them.
   *
   * @throws OutpostError PROVIDER_UNREACHABLE, or PROVIDER_ERROR when the provider answers with
   * something other than a token or a refusal; such failures are not kept.
   */
  exchange(username: string, password: string): Promise<Identity | null>;
  /** Forgets every accepted password (after a sign-out). */
  clear(): void;
}

/** Why the provider refused, for the log; refusals are not remembered. */
export type RefusalListener = (username: string, why: string) => void;

/**
 * A {@link PasswordExchange} through the client-credentials grant with `username` and
 * `password`, as authentik's outpost does (authentik accepts a service account's app password
 * there and answers with an ID token for that account). Accepted answers are kept under the
 * SHA-256 of the credentials, never past the access token's expiry.
 */
export function createPasswordExchange(
  client: OidcClient,
  onRefused: RefusalListener,
  options: PasswordExchangeOptions = {},
): PasswordExchange {
  const now = options.now ?? Date.now;
  const cache = new AnswerCache<Identity | null>(
    options.ttlMs ?? 60_000,
    options.maxEntries ?? 1000,
    now,
  );
  const exchange = (username: string, password: string) =>
    cache.answer(`${username}\u0000${password}`, async () => {
      const answer = await grant(client, username, password);
      if (answer.value === null) onRefused(username, answer.why);
      // a refusal is not kept: the next attempt, perhaps with a fixed password, asks again
      return answer.value === null ? { value: null, staleAfterMs: 0 } : answer;
    });
  return { exchange, clear: () => cache.clear() };
}

type GrantAnswer = CachedAnswer<Identity> | { value: null; why: string };

async function grant(client: OidcClient, username: string, password: string): Promise<GrantAnswer> {
  const context = {
    issuer: client.issuer,
    action: 'exchanging Basic credentials',
    code: 'PROVIDER_ERROR' as const,
  };
  let response;
  try {
    response = await oidc.clientCredentialsGrant(client.configuration, {
      username,
      password,
      scope: client.scopes.join(' '),
    });
  } catch (error) {
    const failure = toOutpostError(error, context);
    if (failure instanceof OidcProtocolError) return { value: null, why: refusal(failure) };
    throw failure;
  }
  const { identity, tokens } = await resultFromTokenResponse(client, response, {
    requireIdToken: false,
  });
  return { value: identity, staleAfterMs: tokens.expires_at * 1000 };
}

function refusal(error: OidcProtocolError): string {
  const said = `${error.error}${error.error_description ? ` (${error.error_description})` : ''}`;
  if (error.error === 'unsupported_grant_type' || error.error === 'unauthorized_client') {
    return `${said}: the provider does not let this client use the client-credentials grant`;
  }
  return said;
}
