import * as oidc from 'openid-client';

import type { OidcClient } from './oidc-client.js';
import { toOutpostError } from './oidc-errors.js';
import type { OidcTokens } from './token-response.js';

/** `revoked`: the provider was told; `unsupported`: it has no revocation endpoint. */
export type RevocationOutcome = 'revoked' | 'unsupported';

/**
 * Revokes the refresh token, then the access token (RFC 7009 §2). The refresh token goes first
 * because revoking it ends the whole grant at most providers (§2.1).
 *
 * @throws OutpostError PROVIDER_UNREACHABLE when the provider cannot be reached (the caller
 *   may still forget the tokens locally), PROVIDER_ERROR when it refuses.
 */
export async function revokeTokens(
  client: OidcClient,
  tokens: Pick<OidcTokens, 'access_token' | 'refresh_token'>,
): Promise<RevocationOutcome> {
  if (!client.canRevoke) return 'unsupported';
  if (tokens.refresh_token) await revokeOne(client, tokens.refresh_token, 'refresh_token');
  await revokeOne(client, tokens.access_token, 'access_token');
  return 'revoked';
}

export interface EndSessionOptions {
  /** The ID token of the sign-in being ended (RP-Initiated Logout 1.0 §2). */
  id_token_hint?: string;
  /** Where the provider sends the browser afterwards; must be registered at the provider. */
  post_logout_redirect_uri?: string;
  state?: string;
}

/**
 * The provider's end-session URL with `id_token_hint`, `post_logout_redirect_uri` and
 * `client_id` (OpenID Connect RP-Initiated Logout 1.0 §2), or null when the provider has no
 * `end_session_endpoint`.
 */
export function buildEndSessionUrl(client: OidcClient, options: EndSessionOptions): string | null {
  if (!client.canEndSession) return null;
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(options)) {
    if (typeof value === 'string' && value !== '') params[name] = value;
  }
  return oidc.buildEndSessionUrl(client.configuration, params).href;
}

async function revokeOne(client: OidcClient, token: string, hint: string): Promise<void> {
  try {
    await oidc.tokenRevocation(client.configuration, token, { token_type_hint: hint });
  } catch (error) {
    throw toOutpostError(error, {
      issuer: client.issuer,
      action: 'revoking the tokens',
      code: 'PROVIDER_ERROR',
    });
  }
}
