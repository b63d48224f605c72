import type { OidcSettings } from '../config/config.js';
import type { Identity } from '../identity/identity.js';

/**
 * The identity `outpost login` kept for this provider (issuer and client id of the `oidc`
 * section), or null when nobody is logged in. The token store is loaded only when asked, so
 * that `outpost headers` for dev users starts without it.
 */
export async function loadLoggedInIdentity(
  oidc: OidcSettings,
  stateDir: string,
): Promise<Identity | null> {
  const { openTokenStore } = await import('../credentials/token-store.js');
  const found = await openTokenStore({ stateDir }).load(oidc.issuer, oidc.client_id);
  if (!found) return null;
  // a refresh renews the tokens; the header carries the newest access token
  return { ...found.login.identity, access_token: found.login.tokens.access_token };
}
