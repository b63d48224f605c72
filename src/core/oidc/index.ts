/**
 * OpenID Connect for outpost: discovery, sign-in with PKCE, refresh, revocation, end session,
 * introspection and the CLI's own logins. Everything takes an {@link OidcClient} made once by
 * {@link discoverOidcClient}; nothing here keeps sessions, prints or reads the environment.
 */
export {
  DEFAULT_SCOPES,
  chooseScopes,
  discoverOidcClient,
  isLoopbackHost,
  type DiscoverOptions,
  type OidcClient,
} from './oidc-client.js';
export { identityFromClaims, type Claims } from './claims.js';
export { OidcProtocolError } from './oidc-errors.js';
export {
  finishSignIn,
  startSignIn,
  type PendingSignIn,
  type StartSignInOptions,
} from './sign-in.js';
export type { OidcTokens, SignInResult } from './token-response.js';
export { isExpiring, refreshSignIn } from './refresh.js';
export {
  buildEndSessionUrl,
  revokeTokens,
  type EndSessionOptions,
  type RevocationOutcome,
} from './sign-out.js';
export {
  createIntrospector,
  type Introspector,
  type IntrospectorOptions,
} from './introspection.js';
export {
  TOKEN_USERNAME,
  createPasswordExchange,
  type PasswordExchange,
  type PasswordExchangeOptions,
} from './password-grant.js';
export {
  signInWithDeviceCode,
  type DeviceCodePrompt,
  type DeviceSignInOptions,
} from './device-flow.js';
export { loginWithBrowser, type BrowserLoginOptions } from './cli-login.js';
export {
  logIn,
  logOut,
  requireOidcSettings,
  type LogInOptions,
  type LogInOutcome,
  type LogOutOptions,
  type LogOutOutcome,
} from './cli-account.js';
