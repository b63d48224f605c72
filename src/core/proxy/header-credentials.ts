import type { IncomingMessage } from 'node:http';

import type { Identity } from '../identity/identity.js';
import { TOKEN_USERNAME } from '../oidc/index.js';
import type { OutpostContext } from './outpost-context.js';
import type { ProviderLink } from './provider-link.js';

/** Credentials an API client sent in `Authorization`, as outpost reads them. */
export type HeaderCredentials =
  { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };

/**
 * The credentials in an `Authorization` header: `Bearer <token>`, or `Basic` with base64 of
 * `username:password` (RFC 7617; the username is everything before the first colon). Null for
 * any other scheme or a value that does not decode.
 */
export function parseAuthorization(header: string): HeaderCredentials | null {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
  if (bearer) return { kind: 'bearer', token: bearer };
  const encoded = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header)?.[1];
  if (!encoded || encoded.length % 4 !== 0) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The identity behind the credentials of an API client, as authentik's outpost finds it with
 * `intercept_header_auth`: a bearer token by introspection; Basic credentials by the
 * client-credentials grant, except that the username `goauthentik.io/token` sends a token as the
 * password. Null when there are none, the provider refuses them, or it cannot be asked (then
 * `warn` says why).
 */
export async function identityFromAuthorization(
  provider: ProviderLink,
  header: string,
  warn: (message: string) => void,
): Promise<Identity | null> {
  const credentials = parseAuthorization(header);
  if (!credentials) return null;
  try {
    if (credentials.kind === 'bearer') return await provider.introspect(credentials.token);
    if (credentials.username === TOKEN_USERNAME) {
      return await provider.introspect(credentials.password);
    }
    return await provider.exchangeBasic(credentials.username, credentials.password);
  } catch (error) {
    const what = credentials.kind === 'bearer' ? 'bearer token' : 'Basic credentials';
    warn(`${what} could not be checked: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/**
 * The identity behind a request's `Authorization` header when a real provider is configured and
 * `intercept_header_auth` is on (the default); null otherwise. Proxy mode and forward auth both
 * ask this after the session and the unauthenticated paths.
 */
export function identityFromRequest(
  context: OutpostContext,
  req: IncomingMessage,
): Promise<Identity | null> {
  const provider = context.provider;
  const header = req.headers.authorization;
  if (!provider || !context.config.intercept_header_auth || !header) return Promise.resolve(null);
  return identityFromAuthorization(provider, header, (message) =>
    context.options.onWarning?.(message),
  );
}
