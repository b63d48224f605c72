import * as oidc from 'openid-client';

import type { Identity } from '../identity/identity.js';
import { OutpostError } from '../errors.js';
import type { Claims } from './claims.js';
import type { OidcClient } from './oidc-client.js';
import { toOutpostError } from './oidc-errors.js';
import { resultFromTokenResponse, type OidcTokens, type SignInResult } from './token-response.js';

/**
 * Uses the refresh token (RFC 6749 §6, OpenID Connect Core §12) to get a new access token.
 * A new ID token must name the same user (§12.2) and its claims replace the old ones; without
 * one the identity stays as it was, with the new access token.
 *
 * @throws OutpostError NOT_LOGGED_IN without a refresh token, OidcProtocolError REFRESH_FAILED
 *   when the provider refuses (revoked, expired: sign the user out), PROVIDER_UNREACHABLE when
 *   the provider cannot be reached (keep the session and try later).
 */
export async function refreshSignIn(
  client: OidcClient,
  tokens: OidcTokens,
  identity: Identity,
): Promise<SignInResult> {
  if (!tokens.refresh_token) {
    throw new OutpostError('NOT_LOGGED_IN', 'there is no refresh token to renew the sign-in', {
      hint: 'sign in again; ask for the offline_access scope to get a refresh token',
    });
  }
  const response = await requestRefresh(client, tokens.refresh_token);
  const newSubject = response.claims()?.sub;
  if (newSubject !== undefined && newSubject !== identity.sub) {
    throw new OutpostError('REFRESH_FAILED', 'the refreshed ID token names another user', {
      hint: 'sign in again',
    });
  }
  return resultFromTokenResponse(client, response, {
    requireIdToken: false,
    fallbackClaims: claimsOf(identity),
    previous: tokens,
  });
}

/** True when the access token expires within `marginSeconds` (default 30). */
export function isExpiring(tokens: OidcTokens, marginSeconds = 30, now = Date.now()): boolean {
  return tokens.expires_at - marginSeconds <= Math.floor(now / 1000);
}

async function requestRefresh(client: OidcClient, refreshToken: string) {
  try {
    return await oidc.refreshTokenGrant(client.configuration, refreshToken);
  } catch (error) {
    throw toOutpostError(error, {
      issuer: client.issuer,
      action: 'token refresh',
      code: 'REFRESH_FAILED',
      hint: 'sign in again',
    });
  }
}

/** An identity back in claim form, so that a refresh without an ID token keeps it whole. */
function claimsOf(identity: Identity): Claims {
  return {
    sub: identity.sub,
    preferred_username: identity.preferred_username,
    name: identity.name,
    email: identity.email,
    groups: identity.groups,
    entitlements: identity.entitlements,
    ...(identity.sid ? { sid: identity.sid } : {}),
    ak_proxy: {
      user_attributes: identity.user_attributes,
      backend_override: identity.backend_override,
      host_header: identity.host_header,
      is_superuser: identity.is_superuser,
    },
  };
}
