import { createHash } from 'node:crypto';

import * as oidc from 'openid-client';

import type { Identity } from '../identity/identity.js';
import { OutpostError } from '../errors.js';
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

interface CacheEntry {
  until: number;
  answer: Promise<Answer>;
}

interface Answer {
  identity: Identity | null;
  /** The token's `exp` in seconds, when the provider said. */
  exp?: number;
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
  const ttl = options.ttlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();

  const introspect = async (token: string): Promise<Identity | null> => {
    const key = createHash('sha256').update(token).digest('hex');
    const cached = cache.get(key);
    if (cached && cached.until > now()) return (await cached.answer).identity;

    const entry: CacheEntry = { until: now() + ttl, answer: check(client, token) };
    remember(cache, key, entry, maxEntries);
    try {
      const answer = await entry.answer;
      if (answer.exp !== undefined) entry.until = Math.min(entry.until, answer.exp * 1000);
      return answer.identity;
    } catch (error) {
      cache.delete(key);
      throw error;
    }
  };
  return { introspect, clear: () => cache.clear() };
}

async function check(client: OidcClient, token: string): Promise<Answer> {
  const answer = await askProvider(client, token);
  if (answer.active !== true || !issuedToThisClient(client, answer)) return { identity: null };

  let claims: Claims = { ...answer };
  if (claims.preferred_username === undefined && typeof answer.username === 'string') {
    claims.preferred_username = answer.username;
  }
  // authentik puts the user's claims in the introspection answer; others keep them in userinfo
  if (lacksIdentityClaims(claims) && client.configuration.serverMetadata().userinfo_endpoint) {
    claims = completeClaims(claims, await fetchUserClaims(client, token, claims));
  }
  const identity = identityFromClaims(claims, token);
  return typeof answer.exp === 'number' ? { identity, exp: answer.exp } : { identity };
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

function remember(
  cache: Map<string, CacheEntry>,
  key: string,
  entry: CacheEntry,
  maxEntries: number,
): void {
  cache.delete(key);
  cache.set(key, entry);
  while (cache.size > maxEntries) {
    const oldest = cache.keys().next().value;
    if (oldest === undefined) break;
    cache.delete(oldest);
  }
}
