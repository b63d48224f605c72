import type { Identity } from '../identity/identity.js';
import { canonicalHeaderName, isHeaderToken } from './canonical-name.js';

/** Headers that frame the message or name its host: never sent as an identity header. */
const FRAMING = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'keep-alive',
  'te',
  'trailer',
  'proxy-connection',
]);

/**
 * Whether `name` frames the HTTP message (or is Host): an `additionalHeaders` entry with such a
 * name would break the request, so serve, forward auth and `outpost headers` all leave it out.
 */
export function isFramingHeader(name: string): boolean {
  return FRAMING.has(name.toLowerCase());
}

/** What the headers say about the provider and outpost, besides the user. */
export interface HeaderContext {
  providerName: string;
  applicationSlug: string;
  outpostName: string;
  /** `goauthentik.io/outpost/<version>`. */
  version: string;
  jwksUrl: string;
  basicAuth: { enabled: boolean; userAttribute: string; passwordAttribute: string };
}

/**
 * The identity headers for one signed-in request (SPEC section 4), as an ordered map from the
 * canonical header name to its value. `serve`, forward auth and `outpost headers` all call this,
 * so that all three say the same thing. It never throws: any identity gives some headers.
 */
export function buildIdentityHeaders(
  identity: Identity,
  context: HeaderContext,
): Map<string, string> {
  const headers = new Map<string, string>();
  const set = (name: string, value: string) => headers.set(canonicalHeaderName(name), value);

  set('X-authentik-username', text(identity.preferred_username));
  set('X-authentik-groups', listOf(identity.groups).join('|'));
  set('X-authentik-entitlements', listOf(identity.entitlements).join('|'));
  set('X-authentik-email', text(identity.email));
  set('X-authentik-name', text(identity.name));
  set('X-authentik-uid', text(identity.sub));
  set('X-authentik-jwt', text(identity.access_token));

  set('X-authentik-meta-jwks', context.jwksUrl);
  set('X-authentik-meta-outpost', context.outpostName);
  set('X-authentik-meta-provider', context.providerName);
  set('X-authentik-meta-app', context.applicationSlug);
  set('X-authentik-meta-version', context.version);

  const attributes = isRecord(identity.user_attributes) ? identity.user_attributes : {};
  const authorization = basicAuthorization(identity, attributes, context.basicAuth);
  if (authorization) set('Authorization', authorization);
  for (const [name, value] of additionalHeaders(attributes)) set(name, value);
  return headers;
}

/**
 * `Authorization: Basic` from the user's attributes when the provider enables it; the user part
 * falls back to the email, and an empty password sends no header.
 */
function basicAuthorization(
  identity: Identity,
  attributes: Record<string, unknown>,
  settings: HeaderContext['basicAuth'],
): string | null {
  if (!settings.enabled) return null;
  const password = attributes[settings.passwordAttribute];
  if (typeof password !== 'string' || password === '') return null;
  const user = attributes[settings.userAttribute];
  const name = typeof user === 'string' ? user : text(identity.email);
  return `Basic ${Buffer.from(`${name}:${password}`, 'utf8').toString('base64')}`;
}

/**
 * `additionalHeaders` entries: strings as they are, numbers and booleans as their JSON text. A name
 * that is not a token cannot be sent by anyone, so it is left out here for all three callers.
 */
function additionalHeaders(attributes: Record<string, unknown>): [string, string][] {
  const extra = attributes.additionalHeaders;
  if (!isRecord(extra)) return [];
  return Object.entries(extra).flatMap(([name, value]): [string, string][] => {
    if (!isHeaderToken(name)) return [];
    if (typeof value === 'string') return [[name, value]];
    if (typeof value === 'number' || typeof value === 'boolean')
      return [[name, JSON.stringify(value)]];
    return [];
  });
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  try {
    return String(value);
  } catch {
    // an object that cannot become text (no prototype, a toString that is not a function)
    return '';
  }
}

function listOf(value: unknown): string[] {
  return Array.isArray(value) ? value.map(text) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
