const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `name` is an HTTP token (RFC 9110 section 5.1), the only thing a header name may be. */
export function isHeaderToken(name: string): boolean {
  return TOKEN.test(name);
}

/**
 * A header name in Go's canonical form (textproto.CanonicalMIMEHeaderKey), which is how
 * authentik's outpost sends them: first letter and each letter after `-` upper case, the rest
 * lower case. Like Go, a name that is not a valid token is returned unchanged.
 */
export function canonicalHeaderName(name: string): string {
  if (!TOKEN.test(name)) return name;
  let result = '';
  let upper = true;
  for (const char of name) {
    result += upper ? char.toUpperCase() : char.toLowerCase();
    upper = char === '-';
  }
  return result;
}
