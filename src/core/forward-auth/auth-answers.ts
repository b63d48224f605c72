import type { ServerResponse } from 'node:http';

import { isForgeableHeader } from '../headers/forged-headers.js';
import { buildIdentityHeaders, type HeaderContext } from '../headers/identity-headers.js';
import { toWireValue } from '../headers/wire.js';
import type { Identity } from '../identity/identity.js';
import type { ProxyKind } from './original-url.js';

/** The header nginx's sign-in location redirects to (`auth_request_set` + `return 302`). */
export const SIGN_IN_HEADER = 'X-Outpost-Sign-In';

/** Envoy's ext_authz removes the request headers this OK answer lists. */
const ENVOY_REMOVE_HEADER = 'x-envoy-auth-headers-to-remove';

// an additionalHeaders entry must not be able to change how the answer itself is framed
const FRAMING = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade']);

type Headers = Record<string, string | string[]>;

/**
 * `200`: let the request through. Signed in, with the identity headers from the one builder
 * (wire-encoded, no `X-Forwarded-Host`) and the request's own `User-Agent` echoed last, empty when
 * it sent none, as authentik's outpost answers; public, with none. Envoy is also told which forged
 * identity headers to strip, since it copies only what the answer carries.
 */
export function sendAllowed(
  res: ServerResponse,
  kind: ProxyKind,
  grant: { identity: Identity; context: HeaderContext } | null,
  options: { cookies: string[]; clientHeaders: readonly string[]; userAgent: string },
): void {
  const headers: Headers = {};
  if (grant) {
    for (const [name, value] of buildIdentityHeaders(grant.identity, grant.context)) {
      if (!FRAMING.has(name.toLowerCase())) headers[name] = toWireValue(value);
    }
    // names are canonical, so this replaces an additionalHeaders `user-agent`, as in authentik
    headers['User-Agent'] = options.userAgent;
  }
  if (kind === 'envoy') {
    const forged = forgedNames(options.clientHeaders, headers);
    if (forged.length > 0) headers[ENVOY_REMOVE_HEADER] = forged.join(', ');
  }
  send(res, 200, headers, options.cookies, '');
}

/**
 * No session on a protected URL: nginx gets `401` (its `error_page` turns that into the redirect
 * named by {@link SIGN_IN_HEADER}, since nginx cannot percent-encode the URL itself); the
 * others get the `302` to sign-in, which they hand to the browser as it is.
 */
export function sendSignIn(
  res: ServerResponse,
  kind: ProxyKind,
  startUrl: string,
  cookies: string[],
): void {
  if (kind === 'nginx') {
    send(res, 401, { [SIGN_IN_HEADER]: startUrl }, cookies, 'unauthorized request\n');
    return;
  }
  send(res, 302, { Location: startUrl, 'Cache-Control': 'no-store' }, cookies, '');
}

/** `500 configuration error`: the reverse proxy did not say (or may not say) which URL it guards. */
export function sendConfigurationError(res: ServerResponse, cookies: string[]): void {
  send(res, 500, {}, cookies, 'configuration error\n');
}

function send(
  res: ServerResponse,
  status: number,
  headers: Headers,
  cookies: string[],
  body: string,
): void {
  const all: Headers = { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
  if (body) all['Content-Type'] = 'text/plain; charset=utf-8';
  if (cookies.length > 0) all['Set-Cookie'] = cookies;
  res.writeHead(status, all);
  res.end(body);
}

/** Identity-like header names the client sent (lower case) that this answer does not set. */
function forgedNames(clientHeaders: readonly string[], answer: Headers): string[] {
  const set = new Set(Object.keys(answer).map((name) => name.toLowerCase()));
  const forged = new Set<string>();
  for (const name of clientHeaders) {
    const lower = name.toLowerCase();
    if (isForgeableHeader(lower) && !set.has(lower)) forged.add(lower);
  }
  return [...forged];
}
