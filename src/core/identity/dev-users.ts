import { createHash, createHmac, randomUUID } from 'node:crypto';

import type { DevGroup, DevUser } from '../config/config.js';
import { OutpostError } from '../errors.js';
import { mergeUserAttributes } from './attributes.js';
import type { Identity } from './identity.js';

/** What a dev user's token needs to look like one authentik's provider would issue. */
export interface DevTokenSettings {
  /** `<external host>/application/o/<slug>/`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  installId: string;
  /** Seconds the token is valid (`access_token_validity`). */
  validity: number;
}

/** The uid authentik-like providers give a dev user: hex SHA-256 of `<username>-<install_id>`. */
export function devUserUid(username: string, installId: string): string {
  return createHash('sha256').update(`${username}-${installId}`, 'utf8').digest('hex');
}

export function findDevUser(users: readonly DevUser[], username: string): DevUser {
  const user = users.find((candidate) => candidate.username === username);
  if (user) return user;
  throw new OutpostError('UNKNOWN_USER', `there is no dev user "${username}"`, {
    hint: `known users: ${users.map((known) => known.username).join(', ')}`,
  });
}

/**
 * The identity of a dev user signing in now: claims as authentik's proxy provider would put them
 * in the token, and an access token signed HS256 with the provider's client secret.
 */
export function devUserIdentity(
  user: DevUser,
  groups: readonly DevGroup[],
  settings: DevTokenSettings,
  now = Date.now(),
): Identity {
  const identity: Identity = {
    sub: user.uid ?? devUserUid(user.username, settings.installId),
    preferred_username: user.username,
    name: user.name,
    email: user.email,
    groups: [...user.groups],
    entitlements: [...user.entitlements],
    user_attributes: mergeUserAttributes(user, groups),
    is_superuser: user.is_superuser,
    access_token: '',
    source: 'dev',
  };
  if (user.backend_override !== undefined) identity.backend_override = user.backend_override;
  if (user.host_header !== undefined) identity.host_header = user.host_header;
  identity.access_token = signDevToken(identity, settings, now);
  return identity;
}

function signDevToken(identity: Identity, settings: DevTokenSettings, now: number): string {
  const issuedAt = Math.floor(now / 1000);
  const claims = {
    iss: settings.issuer,
    sub: identity.sub,
    aud: settings.clientId,
    exp: issuedAt + settings.validity,
    iat: issuedAt,
    auth_time: issuedAt,
    acr: 'goauthentik.io/providers/oauth2/default',
    azp: settings.clientId,
    jti: randomUUID().replaceAll('-', ''),
    email: identity.email,
    email_verified: true,
    name: identity.name,
    given_name: identity.name,
    preferred_username: identity.preferred_username,
    nickname: identity.preferred_username,
    groups: identity.groups,
    entitlements: identity.entitlements,
    ak_proxy: {
      user_attributes: identity.user_attributes,
      is_superuser: identity.is_superuser,
      ...(identity.backend_override === undefined
        ? {}
        : { backend_override: identity.backend_override }),
      ...(identity.host_header === undefined ? {} : { host_header: identity.host_header }),
    },
  };
  const header = encodeSegment({ alg: 'HS256', typ: 'JWT' });
  const body = `${header}.${encodeSegment(claims)}`;
  const signature = createHmac('sha256', settings.clientSecret).update(body).digest('base64url');
  return `${body}.${signature}`;
}

function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}
