/**
 * Where the browser may be sent back to after sign-in (`rd`): only the external host itself or,
 * in domain mode, a host under `cookie_domain` on a dot boundary. Anything else (another host,
 * `//evil`, `/\evil`, `https:evil`, userinfo tricks, control characters) gives null, and the
 * caller lands the user on the external host instead.
 */
export function safeRedirectTarget(
  rd: string | null | undefined,
  externalOrigin: string,
  cookieDomain = '',
): string | null {
  if (!rd || rd.length > 8192) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f\\]/.test(rd)) return null;
  let url: URL;
  try {
    url = new URL(rd, `${externalOrigin}/`);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.origin === new URL(externalOrigin).origin) return url.href;
  if (cookieDomain && isUnderDomain(url.hostname, cookieDomain)) return url.href;
  return null;
}

/** `a.example.com` is under `example.com` and `.example.com`; `evilexample.com` is not. */
export function isUnderDomain(hostname: string, domain: string): boolean {
  const bare = domain.replace(/^\./, '').toLowerCase();
  const host = hostname.toLowerCase();
  return bare !== '' && (host === bare || host.endsWith(`.${bare}`));
}
