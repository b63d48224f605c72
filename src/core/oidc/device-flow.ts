import * as oidc from 'openid-client';

import { OutpostError } from '../errors.js';
import type { OidcClient } from './oidc-client.js';
import { OidcProtocolError, toOutpostError } from './oidc-errors.js';
import { resultFromTokenResponse, type SignInResult } from './token-response.js';

/** What the user must see to confirm a device sign-in (RFC 8628 §3.3). */
export interface DeviceCodePrompt {
  verification_uri: string;
  /** The same page with the code filled in, when the provider offers it. */
  verification_uri_complete?: string;
  user_code: string;
  /** Seconds until the code expires. */
  expires_in: number;
}

export interface DeviceSignInOptions {
  /** Called once with the URL and code to show; sign-in waits for the user after it returns. */
  onPrompt: (prompt: DeviceCodePrompt) => void | Promise<void>;
  /** Stops waiting early; without one, waiting ends when the code expires. */
  signal?: AbortSignal;
}

/**
 * Signs in with the device authorization grant (RFC 8628): asks for a user code, hands it to
 * `onPrompt`, then polls the token endpoint at the provider's interval, slowing down by five
 * seconds whenever the provider says `slow_down` (§3.5).
 *
 * @throws OutpostError LOGIN_TIMEOUT when the code expires or `signal` aborts,
 *   OidcProtocolError LOGIN_FAILED when the user declines (`access_denied`), LOGIN_FAILED when
 *   the provider has no device flow, PROVIDER_UNREACHABLE when it cannot be reached.
 */
export async function signInWithDeviceCode(
  client: OidcClient,
  options: DeviceSignInOptions,
): Promise<SignInResult> {
  if (!client.canUseDeviceFlow) {
    throw new OutpostError('LOGIN_FAILED', 'the OpenID provider offers no device code sign-in', {
      hint: 'sign in with the browser instead (outpost login without --device)',
    });
  }
  const authorization = await requestDeviceCode(client);
  await options.onPrompt({
    verification_uri: authorization.verification_uri,
    ...(authorization.verification_uri_complete
      ? { verification_uri_complete: authorization.verification_uri_complete }
      : {}),
    user_code: authorization.user_code,
    expires_in: authorization.expires_in,
  });
  const response = await pollForTokens(client, authorization, options.signal);
  return resultFromTokenResponse(client, response, {
    requireIdToken: client.scopes.includes('openid'),
  });
}

async function requestDeviceCode(client: OidcClient): Promise<oidc.DeviceAuthorizationResponse> {
  try {
    return await oidc.initiateDeviceAuthorization(client.configuration, {
      scope: client.scopes.join(' '),
    });
  } catch (error) {
    throw toOutpostError(error, {
      issuer: client.issuer,
      action: 'device sign-in',
      code: 'LOGIN_FAILED',
      hint: 'check that the client may use the device code grant at the provider',
    });
  }
}

async function pollForTokens(
  client: OidcClient,
  authorization: oidc.DeviceAuthorizationResponse,
  callerSignal: AbortSignal | undefined,
) {
  const expiry = AbortSignal.timeout(authorization.expires_in * 1000);
  const signal = callerSignal ? AbortSignal.any([callerSignal, expiry]) : expiry;
  try {
    return await oidc.pollDeviceAuthorizationGrant(client.configuration, authorization, undefined, {
      signal,
    });
  } catch (error) {
    throw asPollingError(client, error, { expired: expiry.aborted, aborted: signal.aborted });
  }
}

function asPollingError(
  client: OidcClient,
  error: unknown,
  // a request that timed out on its own is a network failure, not the end of the wait
  stopped: { expired: boolean; aborted: boolean },
): OutpostError {
  const failure = toOutpostError(error, {
    issuer: client.issuer,
    action: 'device sign-in',
    code: 'LOGIN_FAILED',
    hint: 'run the login again',
  });
  const refusedAsExpired =
    failure instanceof OidcProtocolError && failure.error === 'expired_token';
  const expired = stopped.expired || refusedAsExpired;
  if (!expired && !stopped.aborted) return failure;
  const message = expired
    ? 'the device code expired before it was confirmed'
    : 'gave up waiting for the device code to be confirmed';
  return new OutpostError('LOGIN_TIMEOUT', message, {
    hint: 'run the login again and confirm the code in the browser before it expires',
    cause: error,
  });
}
