import * as oidc from 'openid-client';

import type { Identity } from '../identity/identity.js';
import { OutpostError } from '../errors.js';
import { completeClaims, identityFromClaims, lacksIdentityClaims, type Claims } from './claims.js';
import { verifySymmetricIdToken } from './id-token.js';
import type { OidcClient } from './oidc-client.js';
import { toOutpostError } from './oidc-errors.js';

/** The tokens of one sign-in, as kept by a session or the CLI's token store. */
export interface OidcTokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  /**
   * When the access token expires, in seconds since the epoch: from `expires_in`, else the ID
   * token's `exp`, else one hour after it was issued.
   */
  expires_at: number;
  scope?: string;
}

/** A finished sign-in: who the user is and the tokens that prove it. */
export interface SignInResult {
  identity: Identity;
  tokens: OidcTokens;
}

export type TokenResponse = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

interface ResultOptions {
  /** The `nonce` sent with the authorization request; the ID token must carry it. */
  expectedNonce?: string;
  /** Whether a response without an ID token is an error (true for sign-in). */
  requireIdToken: boolean;
  /** Claims to start from when the response has no ID token (a refresh). */
  fallbackClaims?: Claims;
  /** The tokens being refreshed: their refresh and ID tokens stay when no new ones come. */
  previous?: OidcTokens;
}

/**
 * Turns a token endpoint response into a {@link SignInResult}: checks an HS* ID token's MAC
 * and the nonce (OpenID Connect Core §3.1.3.7), completes missing claims from userinfo and maps
 * them to an Identity. openid-client has already checked iss, aud, exp and, for asymmetric
 * algorithms, the signature.
 */
export async function resultFromTokenResponse(
  client: OidcClient,
  response: TokenResponse,
  options: ResultOptions,
): Promise<SignInResult> {
  const idClaims = checkIdToken(client, response, options);
  let claims: Claims = idClaims ?? options.fallbackClaims ?? {};

  if (lacksIdentityClaims(claims) && client.configuration.serverMetadata().userinfo_endpoint) {
    claims = completeClaims(claims, await fetchUserClaims(client, response.access_token, claims));
  }
  return {
    identity: identityFromClaims(claims, response.access_token),
    tokens: tokensFrom(response, idClaims, options.previous),
  };
}

/** The userinfo claims for an access token (OpenID Connect Core §5.3). */
export async function fetchUserClaims(
  client: OidcClient,
  accessToken: string,
  known: Claims,
): Promise<Claims> {
  const expected = typeof known.sub === 'string' ? known.sub : oidc.skipSubjectCheck;
  try {
    return await oidc.fetchUserInfo(client.configuration, accessToken, expected);
  } catch (error) {
    throw toOutpostError(error, {
      issuer: client.issuer,
      action: 'reading the user’s claims (userinfo)',
      code: 'LOGIN_FAILED',
    });
  }
}

function checkIdToken(
  client: OidcClient,
  response: TokenResponse,
  options: ResultOptions,
): Claims | undefined {
  const claims = response.claims();
  if (!response.id_token || !claims) {
    if (!options.requireIdToken) return undefined;
    throw new OutpostError('LOGIN_FAILED', 'the provider sent no ID token', {
      hint: 'check that the client may use the openid scope at the provider',
    });
  }
  // the secret stays inside openid-client's configuration, out of anything printable
  verifySymmetricIdToken(response.id_token, client.configuration.clientMetadata().client_secret);
  if (options.expectedNonce !== undefined && claims.nonce !== options.expectedNonce) {
    throw new OutpostError('LOGIN_FAILED', 'the ID token does not carry this sign-in’s nonce', {
      hint: 'start the sign-in again; an ID token from another sign-in was replayed',
    });
  }
  return { ...claims };
}

function tokensFrom(
  response: TokenResponse,
  idClaims: Claims | undefined,
  previous: OidcTokens | undefined,
): OidcTokens {
  const now = Math.floor(Date.now() / 1000);
  const idExpiry = typeof idClaims?.exp === 'number' ? idClaims.exp : undefined;
  // the raw expires_in: openid-client's expiresIn() rounds down the time left, a second early
  const expiresIn = response.expires_in;
  const refreshToken = response.refresh_token ?? previous?.refresh_token;
  const idToken = response.id_token ?? previous?.id_token;
  return {
    access_token: response.access_token,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(idToken ? { id_token: idToken } : {}),
    expires_at: expiresIn !== undefined ? now + expiresIn : (idExpiry ?? now + 3600),
    ...(response.scope ? { scope: response.scope } : {}),
  };
}
