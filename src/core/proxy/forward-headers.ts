import type { IncomingHttpHeaders } from 'node:http';

import {
  buildIdentityHeaders,
  isFramingHeader,
  type HeaderContext,
} from '../headers/identity-headers.js';
import { toWireValue } from '../headers/wire.js';
import type { Identity } from '../identity/identity.js';

/** Puts a header in the canonical casing it goes out with, replacing any other spelling. */
export function setHeader(headers: IncomingHttpHeaders, name: string, value: string): void {
  const lower = name.toLowerCase();
  if (lower !== name) delete headers[lower];
  headers[name] = toWireValue(value);
}

/** Wire-ready identity headers per identity and context: the same for every request of a session. */
const prepared = new WeakMap<Identity, WeakMap<HeaderContext, [string, string, string][]>>();

/** The identity headers of SPEC section 4, written into a request's headers. */
export function applyIdentityHeaders(
  headers: IncomingHttpHeaders,
  identity: Identity,
  context: HeaderContext,
): void {
  for (const [lower, name, value] of wireIdentityHeaders(identity, context)) {
    if (lower !== name) delete headers[lower];
    headers[name] = value;
  }
}

function wireIdentityHeaders(identity: Identity, context: HeaderContext) {
  let byContext = prepared.get(identity);
  if (!byContext) prepared.set(identity, (byContext = new WeakMap()));
  let pairs = byContext.get(context);
  if (!pairs) {
    pairs = [];
    for (const [name, value] of buildIdentityHeaders(identity, context)) {
      // Go ignores a Host entry in the header map, and framing headers would break the request
      if (!isFramingHeader(name)) pairs.push([name.toLowerCase(), name, toWireValue(value)]);
    }
    byContext.set(context, pairs);
  }
  return pairs;
}

/**
 * X-Forwarded-For (the client appended, as Go's reverse proxy does), -Proto and -Host (both
 * replaced), and the Host sent on: the client's, the app's with `rewrite_host`, or the user's
 * `host_header`, which wins over both.
 */
export function applyForwardingHeaders(
  headers: IncomingHttpHeaders,
  request: { remoteAddress: string | undefined; scheme: string; host: string },
  host: { rewriteTo: string | null; userHostHeader: string | undefined },
): void {
  const prior = headers['x-forwarded-for'];
  const client = (request.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
  setHeader(headers, 'X-Forwarded-For', prior ? `${prior}, ${client}` : client);
  setHeader(headers, 'X-Forwarded-Proto', request.scheme);
  setHeader(headers, 'X-Forwarded-Host', request.host);
  const sentHost = host.userHostHeader || host.rewriteTo;
  if (sentHost) headers.host = sentHost;
}
