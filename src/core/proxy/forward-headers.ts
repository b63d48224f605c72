import type { IncomingHttpHeaders } from 'node:http';

import {
  buildIdentityHeaders,
  isFramingHeader,
  type HeaderContext,
} from '../headers/identity-headers.js';
import { toWireValue } from '../headers/wire.js';
import type { Identity } from '../identity/identity.js';
import type { OutpostContext } from './outpost-context.js';
import type { RequestState } from './request-state.js';

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

/** What the forwarding headers of one request depend on. */
export interface Forwarding {
  remoteAddress: string | undefined;
  scheme: string;
  host: string;
  /** `rewrite_host`: the app's own host, or null to keep the client's. */
  rewriteTo: string | null;
  userHostHeader: string | undefined;
}

/** The forwarding of one request to the app: the proxy and the dev panel's preview share it. */
export function forwardingOf(
  context: OutpostContext,
  state: RequestState,
  identity: Identity | null,
): Forwarding {
  return {
    remoteAddress: state.req.socket.remoteAddress,
    scheme: state.origin.scheme,
    host: state.origin.host,
    rewriteTo: context.config.rewrite_host ? context.options.upstream.host : null,
    userHostHeader: identity?.host_header,
  };
}

/**
 * X-Forwarded-For (the client appended, as Go's reverse proxy does), -Proto and -Host (both
 * replaced), and the Host sent on: the client's, the app's with `rewrite_host`, or the user's
 * `host_header`, which wins over both.
 */
export function applyForwardingHeaders(headers: IncomingHttpHeaders, forwarding: Forwarding): void {
  const prior = headers['x-forwarded-for'];
  const client = (forwarding.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
  setHeader(headers, 'X-Forwarded-For', prior ? `${prior}, ${client}` : client);
  setHeader(headers, 'X-Forwarded-Proto', forwarding.scheme);
  setHeader(headers, 'X-Forwarded-Host', forwarding.host);
  const sentHost = forwarding.userHostHeader || forwarding.rewriteTo;
  if (sentHost) headers.host = sentHost;
}
