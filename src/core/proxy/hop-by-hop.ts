import type { IncomingHttpHeaders } from 'node:http';

import { isForgeableHeader } from '../headers/forged-headers.js';

/** Headers that describe one connection, not the message (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * Removes what must not reach the app from a request's headers, in place: forged identity
 * headers (any `X-Authentik-*`, any name with `_`), hop-by-hop headers and those the Connection
 * header names. An upgrade keeps `Connection: upgrade` and `Upgrade`, which the handshake needs.
 */
export function removeUntrustedHeaders(headers: IncomingHttpHeaders, isUpgrade: boolean): void {
  const named = connectionTokens(headers.connection);
  for (const name of Object.keys(headers)) {
    if (isForgeableHeader(name) || named.has(name)) delete headers[name];
  }
  for (const name of HOP_BY_HOP) {
    if (isUpgrade && (name === 'connection' || name === 'upgrade')) continue;
    if (name === 'transfer-encoding') continue;
    delete headers[name];
  }
  if (isUpgrade) headers.connection = 'upgrade';
}

function connectionTokens(value: string | undefined): Set<string> {
  const tokens = new Set<string>();
  if (!value) return tokens;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'upgrade' && name !== 'close' && name !== 'keep-alive') tokens.add(name);
  }
  return tokens;
}
