import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** How a request reached outpost: its scheme and the Host it named. */
export interface RequestOrigin {
  scheme: 'http' | 'https';
  /** The Host header as sent (validated), e.g. `localhost:9443`. */
  host: string;
  /** `scheme://host`. */
  origin: string;
}

// host names, IPv4 and bracketed IPv6, with an optional port; nothing that could bend a URL
const HOST =
  /^(?:[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)*\.?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** The origin of a request, or null when its Host header is missing or not a plain host. */
export function requestOrigin(req: IncomingMessage): RequestOrigin | null {
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const host = req.headers.host;
  if (!host || !HOST.test(host)) return null;
  return { scheme, host, origin: `${scheme}://${host}` };
}

export function isHostHeaderValid(host: string): boolean {
  return HOST.test(host);
}
