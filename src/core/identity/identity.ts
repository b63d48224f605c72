/**
 * A signed-in identity, in the shape of the claims authentik's proxy provider issues. Dev users and
 * a real OpenID provider both end up here, so that both give the same headers.
 */
export interface Identity {
  /** `sub`: the user's uid. */
  sub: string;
  preferred_username: string;
  name: string;
  email: string;
  /** Direct group names, in order. */
  groups: string[];
  entitlements: string[];
  /** `ak_proxy.user_attributes`: attributes merged from groups (ancestors included) and the user. */
  user_attributes: Record<string, unknown>;
  /** `ak_proxy.backend_override`: replaces the upstream's scheme and host for this user. */
  backend_override?: string;
  /** `ak_proxy.host_header`: the Host sent upstream for this user. */
  host_header?: string;
  is_superuser: boolean;
  /** The raw access token, sent as `X-Authentik-Jwt`. */
  access_token: string;
  /** `sid` of a real provider's session, when it sent one. */
  sid?: string;
  source: 'dev' | 'oidc';
}
