import { timingSafeEqual } from 'node:crypto';

import * as oidc from 'openid-client';

import { OutpostError } from '../errors.js';
import type { OidcClient } from './oidc-client.js';
import { providerRefusal, toOutpostError } from './oidc-errors.js';
import { resultFromTokenResponse, type SignInResult } from './token-response.js';

/**
 * What must survive between sending the browser to the provider and its return: kept by the
 * caller (bound to the browser's session) and handed back to {@link finishSignIn}.
 */
export interface PendingSignIn {
  state: string;
  nonce: string;
  /** PKCE verifier (RFC 7636 §4.1); never leaves the server. */
  code_verifier: string;
  /** Exactly as sent; the token request must repeat it byte for byte (RFC 6749 §4.1.3). */
  redirect_uri: string;
  /** Where to send the user after sign-in; carried for the caller, not used here. */
  rd?: string;
}

export interface StartSignInOptions {
  /** The proxy's is `<external_host>/outpost.goauthentik.io/callback?X-authentik-auth-callback=true`. */
  redirect_uri: string;
  rd?: string;
  /** Extra authorization request parameters, e.g. `{ prompt: 'login' }`. */
  params?: Record<string, string>;
}

/**
 * Builds the authorization request (OpenID Connect Core §3.1.2.1) with PKCE S256 (RFC 7636),
 * a fresh `state` and `nonce`, and returns the URL to send the browser to together with the
 * {@link PendingSignIn} the caller must keep.
 */
export async function startSignIn(
  client: OidcClient,
  options: StartSignInOptions,
): Promise<{ url: string; pending: PendingSignIn }> {
  const pending: PendingSignIn = {
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
    code_verifier: oidc.randomPKCECodeVerifier(),
    redirect_uri: options.redirect_uri,
    ...(options.rd !== undefined ? { rd: options.rd } : {}),
  };
  const url = oidc.buildAuthorizationUrl(client.configuration, {
    ...options.params,
    response_type: 'code',
    redirect_uri: pending.redirect_uri,
    scope: client.scopes.join(' '),
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(pending.code_verifier),
    code_challenge_method: 'S256',
  });
  return { url: url.href, pending };
}

/**
 * Finishes a sign-in at the callback: checks the authorization response (RFC 6749 §4.1.2,
 * RFC 9207 `iss`), redeems the code with the PKCE verifier, verifies the ID token and its nonce,
 * completes the claims from userinfo and returns the identity and tokens.
 *
 * @param callbackUrl The full URL the browser came back to, query included.
 * @throws OutpostError STATE_MISMATCH when the response is not for `pending` (answer 400),
 *   OidcProtocolError PROVIDER_ERROR when the provider sent `error=…` (e.g. access_denied),
 *   OidcProtocolError LOGIN_FAILED when the code is refused (replayed, expired), LOGIN_FAILED for
 *   a bad ID token, PROVIDER_UNREACHABLE when the provider cannot be reached.
 */
export async function finishSignIn(
  client: OidcClient,
  callbackUrl: URL | string,
  pending: PendingSignIn,
): Promise<SignInResult> {
  const params = new URL(callbackUrl).searchParams;
  const code = checkAuthorizationResponse(client, params, pending.state);
  const response = await redeemCode(client, code, pending);
  return resultFromTokenResponse(client, response, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
}

/** The `code` of a successful authorization response for `expectedState`. */
function checkAuthorizationResponse(
  client: OidcClient,
  params: URLSearchParams,
  expectedState: string,
): string {
  // state first: an error from another browser's sign-in is not this browser's business
  const state = single(params, 'state');
  if (state === undefined || !sameText(state, expectedState)) {
    throw new OutpostError('STATE_MISMATCH', 'this sign-in response is not for this browser', {
      hint: 'start the sign-in again from the app, in the same browser',
    });
  }
  checkIssuer(client, single(params, 'iss'));
  throwIfRefused(client, params);

  const code = single(params, 'code');
  if (!code) throw new OutpostError('LOGIN_FAILED', 'the sign-in response carries no code');
  return code;
}

/** RFC 6749 §4.1.2.1: `error=access_denied` and friends, in the provider's own words. */
function throwIfRefused(client: OidcClient, params: URLSearchParams): void {
  const error = single(params, 'error');
  if (error === undefined) return;
  const context = {
    issuer: client.issuer,
    action: 'sign-in',
    code: 'PROVIDER_ERROR' as const,
    hint: refusalHint(error),
  };
  throw providerRefusal(context, {
    error,
    error_description: single(params, 'error_description'),
    error_uri: single(params, 'error_uri'),
  });
}

/** RFC 9207 §2.4: the `iss` parameter, when sent or promised, must be this issuer. */
function checkIssuer(client: OidcClient, iss: string | undefined): void {
  const promised =
    client.configuration.serverMetadata().authorization_response_iss_parameter_supported;
  if (iss === undefined ? promised === true : iss !== client.issuer) {
    throw new OutpostError('LOGIN_FAILED', 'the sign-in response comes from another issuer', {
      hint: `expected ${client.issuer}; check oidc.issuer`,
    });
  }
}

/**
 * openid-client's authorizationCodeGrant() rebuilds redirect_uri from the callback URL without
 * its query, which breaks authentik's `?X-authentik-auth-callback=true`; the generic grant sends
 * the redirect_uri exactly as it was in the authorization request.
 */
async function redeemCode(client: OidcClient, code: string, pending: PendingSignIn) {
  try {
    return await oidc.genericGrantRequest(client.configuration, 'authorization_code', {
      code,
      redirect_uri: pending.redirect_uri,
      code_verifier: pending.code_verifier,
    });
  } catch (error) {
    throw toOutpostError(error, {
      issuer: client.issuer,
      action: 'sign-in',
      code: 'LOGIN_FAILED',
      hint: 'start the sign-in again: a code works once and only for a short time',
    });
  }
}

function refusalHint(error: string): string {
  if (error === 'access_denied') return 'the user or the provider declined; sign in again';
  if (error === 'login_required' || error === 'interaction_required') return 'sign in again';
  return 'check the application and the client at the provider';
}

/** A response parameter that must appear at most once (RFC 6749 §3.1). */
function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) {
    throw new OutpostError('LOGIN_FAILED', `the sign-in response repeats "${name}"`);
  }
  return values[0];
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
