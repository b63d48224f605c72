import { createHash } from 'node:crypto';

/** The session cookie's name: `authentik_proxy_` + 8 hex chars of SHA-256(client id), as authentik. */
export function sessionCookieName(clientId: string): string {
  return `authentik_proxy_${createHash('sha256').update(clientId, 'utf8').digest('hex').slice(0, 8)}`;
}

/** The value of one cookie in a Cookie header, or undefined; malformed pairs are skipped. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at >= 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

export interface CookieAttributes {
  secure: boolean;
  domain?: string;
  /** Seconds; 0 deletes the cookie. Omitted: a browser-session cookie. */
  maxAge?: number;
  path?: string;
}

export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  const parts = [`${name}=${value}`, `Path=${attributes.path ?? '/'}`];
  if (attributes.domain) parts.push(`Domain=${attributes.domain}`);
  if (attributes.maxAge !== undefined) {
    parts.push(`Max-Age=${attributes.maxAge}`);
    if (attributes.maxAge === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  parts.push('HttpOnly');
  if (attributes.secure) parts.push('Secure');
  parts.push('SameSite=Lax');
  return parts.join('; ');
}
