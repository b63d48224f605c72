/**
 * The canonical form of a request path: the one string that both the unauthenticated-path rules
 * and the app see. Unreserved characters that were percent-encoded are decoded (RFC 3986 §6.2.2.2),
 * doubled slashes are collapsed and dot segments are resolved (RFC 3986 §5.2.4), so the result is
 * a fixed point of every normalisation an app server might run. Encodings that different servers
 * read differently (`%2F`, `\`, `;`, `#`, NUL, double encoding, overlong UTF-8, ...) have no single
 * meaning, so they are refused instead of guessed at.
 */
export type CanonicalPath =
  { ok: true; encoded: string; decoded: string } | { ok: false; reason: string };

/** Decoded characters that would change the structure of the path if an app decoded them. */
const REFUSED_ESCAPES: Readonly<Record<string, string>> = {
  '%2F': 'an encoded / (%2F)',
  '%5C': 'an encoded \\ (%5C)',
  '%3B': 'an encoded ; (%3B)',
  '%23': 'an encoded # (%23)',
  '%3F': 'an encoded ? (%3F)',
  '%00': 'an encoded NUL (%00)',
};

/** Characters that end or split the path for some servers and not for others. */
const REFUSED_RAW: Readonly<Record<string, string>> = {
  '\\': 'a backslash, which some servers read as /',
  '#': 'a literal #, which is a fragment to some servers and path text to others',
  ';': 'a ; path parameter, which some servers (Tomcat, Spring) strip before routing',
  // callers split the query off first; a ? here means they did not
  '?': 'a literal ?, which starts the query',
};

/** Decoded escapes that would change the structure of the path, and the control characters. */
const REFUSED_ESCAPE = /%(?:2F|5C|3B|23|3F|[01][0-9A-F]|7F)/i;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const HIGH_BYTES = /[\u0080-\u00ff]/g;
const ANY_ESCAPE = /%[0-9A-Fa-f]{2}/g;
const LOWER_CASE_ESCAPE = /%(?:[0-9A-Fa-f][a-f]|[a-f][0-9A-F])/;
/** Escapes of `-`, `.`, digits, letters, `_` and `~` (RFC 3986 unreserved). */
const UNRESERVED_ESCAPE = /%(?:2[DE]|3[0-9]|4[1-9A-F]|5[0-9A]|5F|6[1-9A-F]|7[0-9A]|7E)/g;
const DOUBLE_ENCODING = /%25[0-9A-F]{2}/i;
/** Controls, space, DEL, characters above one byte, and the characters of REFUSED_RAW. */
const RAW_PROBLEM = /[^!-~\u0080-\u00ff]|[\\#;?]/;
const NON_ASCII = /[\u0080-\uffff]/;
/** What NFKC folding must not produce out of a non-ASCII character. */
const STRUCTURAL = /[/\\.;?#%]/g;

/**
 * Anything but plain path characters (RFC 3986 pchar without `%` and `;`), a doubled slash, or a
 * segment of dots. A path with none of these is already canonical, which is the common case.
 */
const NEEDS_WORK = /^(?!\/)|[^!$&'()*+,\-./0-9:=@A-Z_a-z~]|\/\/|\/\.+(?:\/|$)/;

/** Dots and spaces only: Windows drops trailing dots and spaces from names, so `.. ` is `..`. */
const LOOKS_LIKE_DOTS = /^(?:\.|%20)*\.(?:\.|%20)*$/;

/**
 * Canonicalises the path part of a request target (no query). `rawPath` starts with `/` and holds
 * one character per byte, as Node gives a request line or header value; a byte above 0x7F is
 * percent-encoded. Returns the canonical encoded form (what to forward) and its decoded text (what
 * path-mode rules see, like Go's `URL.Path`), or the reason the path is refused.
 */
export function canonicalisePath(rawPath: string): CanonicalPath {
  if (!NEEDS_WORK.test(rawPath)) return { ok: true, encoded: rawPath, decoded: rawPath };
  if (!rawPath.startsWith('/')) return { ok: false, reason: 'the path does not start with /' };
  const problem = rawProblem(rawPath) ?? escapeProblem(rawPath);
  if (problem) return refuse(problem);

  // no escape left can produce a /, so splitting after normalising keeps the segments
  const segments = normaliseEscapes(rawPath).split('/').slice(1);
  const dots = segments.find((text) => LOOKS_LIKE_DOTS.test(text) && text !== '.' && text !== '..');
  if (dots !== undefined) {
    return refuse(`the segment ${dots}, which Windows servers trim into a dot segment`);
  }
  const encoded = resolveSegments(segments);
  if (DOUBLE_ENCODING.test(encoded)) {
    return refuse(
      'double percent-encoding (%25 followed by an escape), which some apps decode twice',
    );
  }
  return decodePath(encoded);
}

function refuse(reason: string): { ok: false; reason: string } {
  return { ok: false, reason: `the path holds ${reason}` };
}

function rawProblem(rawPath: string): string | null {
  const found = RAW_PROBLEM.exec(rawPath)?.[0];
  if (found === undefined) return null;
  const code = found.charCodeAt(0);
  if (code === 0) return 'a NUL byte';
  if (code <= 0x20 || code === 0x7f) return 'a control character or space';
  return REFUSED_RAW[found] ?? `the character ${JSON.stringify(found)}, which is not one byte`;
}

function escapeProblem(rawPath: string): string | null {
  if (MALFORMED_ESCAPE.test(rawPath)) {
    return 'a malformed % escape (% must be followed by two hex digits)';
  }
  const escape = REFUSED_ESCAPE.exec(rawPath)?.[0].toUpperCase();
  if (escape === undefined) return null;
  return REFUSED_ESCAPES[escape] ?? `an encoded control character (${escape})`;
}

/**
 * Percent-encodes raw bytes above 0x7F (as a browser would have sent them), upper-cases the hex
 * of every escape and decodes the escapes of unreserved characters. Each step runs only when it
 * has something to do, so that a long path of ordinary escapes costs a few scans.
 */
function normaliseEscapes(rawPath: string): string {
  let text = rawPath;
  if (HIGH_BYTES.test(text)) {
    text = text.replace(HIGH_BYTES, (byte) => `%${byte.charCodeAt(0).toString(16).toUpperCase()}`);
  }
  if (LOWER_CASE_ESCAPE.test(text))
    text = text.replace(ANY_ESCAPE, (escape) => escape.toUpperCase());
  if (UNRESERVED_ESCAPE.test(text)) {
    text = text.replace(UNRESERVED_ESCAPE, (escape) =>
      String.fromCharCode(parseInt(escape.slice(1), 16)),
    );
  }
  return text;
}

/**
 * Joins segments with empty ones (doubled slashes) dropped and `.`/`..` applied. A path whose last
 * segment was empty or a dot segment keeps its trailing slash, as RFC 3986's algorithm does.
 */
function resolveSegments(segments: readonly string[]): string {
  const kept: string[] = [];
  for (const segment of segments) {
    if (segment === '..') kept.pop();
    else if (segment !== '.' && segment !== '') kept.push(segment);
  }
  const last = segments[segments.length - 1] ?? '';
  const trailingSlash = kept.length > 0 && (last === '' || last === '.' || last === '..');
  return `/${kept.join('/')}${trailingSlash ? '/' : ''}`;
}

/**
 * Decodes the canonical path to text. Bytes that are not UTF-8 (overlong forms such as `%C0%AE`
 * among them) and characters that Unicode folding turns into `/`, `.` and friends (`%EF%BC%8F`,
 * a fullwidth solidus) are refused: some servers fold them, others do not.
 */
function decodePath(encoded: string): CanonicalPath {
  let decoded: string;
  try {
    // decodeURIComponent refuses overlong forms and surrogates, as a strict UTF-8 decoder does
    decoded = encoded.includes('%') ? decodeURIComponent(encoded) : encoded;
  } catch {
    return refuse('percent-encoded bytes that are not UTF-8 text');
  }
  const lookalike = NON_ASCII.test(decoded) ? foldedLookalike(decoded) : null;
  if (lookalike) return refuse(lookalike);
  return { ok: true, encoded, decoded };
}

/** Names a character that NFKC folds into structure, or null when folding adds none. */
function foldedLookalike(decoded: string): string | null {
  const folded = decoded.normalize('NFKC');
  const count = (text: string) => text.match(STRUCTURAL)?.length ?? 0;
  if (folded === decoded || count(folded) === count(decoded)) return null;
  for (const char of decoded) {
    const one = char.normalize('NFKC');
    if (char.charCodeAt(0) > 0x7f && count(one) > 0) {
      return `U+${char.codePointAt(0)?.toString(16).toUpperCase()}, which some servers fold into ${one}`;
    }
  }
  return 'characters that Unicode folding turns into path structure';
}
