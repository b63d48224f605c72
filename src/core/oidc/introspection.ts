import * as oidc from 'openid-client';

import type { Identity } from '../identity/identity.js';
import { OutpostError } from '../errors.js';
import { AnswerCache, type CachedAnswer } from './answer-cache.js';
import { completeClaims, identityFromClaims, lacksIdentityClaims, type Claims } from './claims.js';
import type { OidcClient } from './oidc-client.js';
import { toOutpostError } from './oidc-errors.js';
import { fetchUserClaims } from './token-response.js';

export interface IntrospectorOptions {
  /** How long an answer is reused, in milliseconds. Default 30 000. */
  ttlMs?: number;
  /** At most this many tokens are remembered; the oldest go first. Default 1000. */
  maxEntries?: number;
  /** The clock, for tests. */
  now?: () => number;
}

/** Checks bearer tokens with the provider, remembering each answer briefly. */
export interface Introspector {
  /**
   * The identity behind an `Authorization: Bearer` token, or null when the provider says it is
   * not active or it was issued to another client.
   *
   * @throws OutpostError PROVIDER_UNREACHABLE or PROVIDER_ERROR; such failures are not cached.
   */
  introspect(token: string): Promise<Identity | null>;
  /** Forgets every remembered answer (after a sign-out). */
  clear(): void;
}

/**
 * An {@link Introspector} for tokens sent as `Authorization: Bearer` (RFC 7662 §2). Answers are
 * cached by the token's SHA-256, never past the token's `exp`; concurrent checks of one token
 * share a single request.
 *
 * @throws OutpostError PROVIDER_ERROR when the provider has no introspection endpoint.
 */
export function createIntrospector(
  client: OidcClient,
  options: IntrospectorOptions = {},
): Introspector {
  if (!client.canIntrospect) {
    throw new OutpostError('PROVIDER_ERROR', 'the OpenID provider offers no token introspection', {
      hint: 'bearer tokens cannot be checked; sign in through the browser instead',
    });
  }
  const cache = new AnswerCache<Identity | null>(
    options.ttlMs ?? 30_000,
    options.maxEntries ?? 1000,
    options.now,
  );
  return {
    introspect: (token) => cache.answer(token, () => check(client, token)),
    clear: () => cache.clear(),
  };
}

async function check(client: OidcClient, token: string): Promise<CachedAnswer<Identity | null>> {
  const answer = await askProvider(client, token);
  if (answer.active !== true || !issuedToThisClient(client, answer)) return { value: null };

  let claims: Claims = { ...answer };
  if (claims.preferred_username === undefined && typeof answer.username === 'string') {
    claims.preferred_username = answer.username;
  }
  // authentik puts the user's claims in the introspection answer; others keep them in userinfo
  if (lacksIdentityClaims(claims) && client.configuration.serverMetadata().userinfo_endpoint) {
    claims = completeClaims(claims, await fetchUserClaims(client, token, claims));
  }
  const value = identityFromClaims(claims, token);
  return typeof answer.exp === 'number' ? { value, staleAfterMs: answer.exp * 1000 } : { value };
}

async function askProvider(client: OidcClient, token: string): Promise<oidc.IntrospectionResponse> {
  try {
    return await oidc.tokenIntrospection(client.configuration, token, {
      token_type_hint: 'access_token',
    });
  } catch (error) {
    throw toOutpostError(error, {
      issuer: client.issuer,
      action: 'token introspection',
      code: 'PROVIDER_ERROR',
    });
  }
}

/**
 * A provider answers for every token it issued, to any client allowed to ask; authentik's
 * outpost only accepts tokens of its own application, so tokens of other clients are refused.
 */
function issuedToThisClient(client: OidcClient, answer: oidc.IntrospectionResponse): boolean {
  if (answer.client_id === undefined && answer.aud === undefined) return true;
  const audiences = Array.isArray(answer.aud) ? answer.aud : [answer.aud];
  return answer.client_id === client.clientId || audiences.includes(client.clientId);
}
