import type { Identity } from '../identity/identity.js';
import { OutpostError } from '../errors.js';

/** Claims as a provider sends them: the ID token payload, userinfo or introspection. */
export type Claims = Record<string, unknown>;

/**
 * The claims that sign-in needs beside `sub`. When the ID token lacks one of them and the
 * provider has a userinfo endpoint, the claims are completed from there (OpenID Connect Core
 * §5.3, §5.4: some providers keep profile claims out of the ID token).
 */
export const IDENTITY_CLAIMS: readonly string[] = [
  'preferred_username',
  'name',
  'email',
  'groups',
  'entitlements',
  'ak_proxy',
];

/** True when one of {@link IDENTITY_CLAIMS} is absent. */
export function lacksIdentityClaims(claims: Claims): boolean {
  return IDENTITY_CLAIMS.some((name) => claims[name] === undefined);
}

/**
 * Adds the claims of `extra` that `claims` does not have. `sub` must agree (OpenID Connect
 * Core §5.3.4); a userinfo answer for another subject is refused rather than merged.
 */
export function completeClaims(claims: Claims, extra: Claims): Claims {
  if (extra.sub !== undefined && extra.sub !== claims.sub) {
    throw new OutpostError('LOGIN_FAILED', 'the provider returned claims for another subject', {
      hint: 'this is a fault of the provider; sign in again',
    });
  }
  return { ...extra, ...claims };
}

/**
 * Maps the claims of authentik's proxy provider to an {@link Identity}: the standard claims,
 * `groups`, `entitlements` and the nested `ak_proxy` object (`user_attributes`,
 * `backend_override`, `host_header`, `is_superuser`). Values of the wrong type are ignored, as
 * authentik's outpost does when it decodes them.
 *
 * @throws OutpostError LOGIN_FAILED when there is no `sub`.
 */
export function identityFromClaims(claims: Claims, accessToken: string): Identity {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') {
    throw new OutpostError('LOGIN_FAILED', 'the provider sent no subject (sub) for the user', {
      hint: 'check that the provider includes the openid scope',
    });
  }
  const proxy = isPlainObject(claims.ak_proxy) ? claims.ak_proxy : {};
  const sid = text(claims.sid);
  const backendOverride = text(proxy.backend_override);
  const hostHeader = text(proxy.host_header);
  return {
    sub,
    preferred_username: text(claims.preferred_username) ?? '',
    name: text(claims.name) ?? '',
    email: text(claims.email) ?? '',
    groups: textList(claims.groups),
    entitlements: textList(claims.entitlements),
    user_attributes: isPlainObject(proxy.user_attributes) ? proxy.user_attributes : {},
    ...(backendOverride ? { backend_override: backendOverride } : {}),
    ...(hostHeader ? { host_header: hostHeader } : {}),
    is_superuser: proxy.is_superuser === true,
    access_token: accessToken,
    ...(sid ? { sid } : {}),
    source: 'oidc',
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function textList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === 'string');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
