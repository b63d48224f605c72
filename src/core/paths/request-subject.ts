import type { Mode } from '../config/config.js';
import { canonicalisePath } from './canonical-path.js';

/**
 * Which string the unauthenticated-path rules see for one request, and which path and query are
 * forwarded to the app. Both come from the same canonical form, so a rule always judges the path
 * the app will act on (SPEC §5). A target that has no single meaning is refused with a 400.
 */
export type RequestSubject =
  | { ok: true; subject: string; path: string /* path+query to forward upstream */ }
  | { ok: false; status: 400; reason: string };

export interface IncomingRequest {
  scheme: 'http' | 'https';
  /** The Host header as received. */
  host: string;
  /** The request-target exactly as received (Node's `req.url`): path and query, or absolute-form. */
  rawTarget: string;
}

const ABSOLUTE_URL = /^(https?):\/\/([^/?#\\]*)(.*)$/is;
const HOST = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?$/;
/** Controls, space, DEL, characters above one byte, and `#`. */
const QUERY_PROBLEM = /[^!-~\u0080-\u00ff]|#/;
const HIGH_BYTES = /[\u0080-\u00ff]/g;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * Decides the rule subject and the forwarded path of one request. In `proxy` and `forward_single`
 * the subject is the decoded canonical path without the query (authentik matches `URL.Path`); in
 * `forward_domain` it is `scheme://host/path?query` with the canonical encoded path. An
 * absolute-form target must name the same host as the Host header.
 */
export function subjectForRequest(mode: Mode, request: IncomingRequest): RequestSubject {
  const { rawTarget } = request;
  if (rawTarget.startsWith('/')) return subjectOf(mode, request.scheme, request.host, rawTarget);
  if (rawTarget === '*') return refuse('an asterisk-form target (OPTIONS *) is not proxied');

  const absolute = splitAbsoluteUrl(rawTarget);
  if (!absolute)
    return refuse('the request target must start with / or be an absolute http(s) URL');
  if (!absolute.ok) return absolute;
  const hostHeader = canonicalHost(request.host, request.scheme);
  if (!hostHeader.ok || hostHeader.host !== absolute.host || absolute.scheme !== request.scheme) {
    return refuse(
      'the request target names another scheme or host than the connection and Host header',
    );
  }
  return subjectOf(mode, absolute.scheme, absolute.host, absolute.target);
}

/**
 * The same decision for a full URL, as the forward-auth modes receive it (`X-Original-URL`, or
 * `X-Forwarded-Proto` + `-Host` + `-Uri` put together). `path` is the canonical path and query.
 */
export function subjectForUrl(mode: Mode, url: string): RequestSubject {
  const absolute = splitAbsoluteUrl(url);
  if (!absolute) return refuse(`${JSON.stringify(url)} is not an absolute http(s) URL`);
  if (!absolute.ok) return absolute;
  return subjectOf(mode, absolute.scheme, absolute.host, absolute.target);
}

/**
 * The decision for what a person types (`outpost test-path`): a path, or a full URL. Characters
 * outside ASCII are sent as UTF-8 percent-escapes, as a browser would send them; a bare path in
 * `forward_domain` is taken relative to `baseUrl` (the external host).
 */
export function subjectForInput(mode: Mode, input: string, baseUrl: string): RequestSubject {
  const typed = input.replace(/[\u0080-\u{10ffff}]+/gu, (text) =>
    Buffer.from(text, 'utf8').toString('hex').toUpperCase().replace(/(..)/g, '%$1'),
  );
  if (ABSOLUTE_URL.test(typed)) return subjectForUrl(mode, typed);
  if (!typed.startsWith('/'))
    return refuse(`${JSON.stringify(input)} is neither a path (/...) nor an http(s) URL`);
  if (mode !== 'forward_domain') return subjectOf(mode, 'http', 'localhost', typed);
  return subjectForUrl(mode, `${baseUrl.replace(/\/+$/, '')}${typed}`);
}

function subjectOf(mode: Mode, scheme: string, host: string, target: string): RequestSubject {
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const rawQuery = queryAt === -1 ? null : target.slice(queryAt + 1);

  const path = canonicalisePath(rawPath);
  if (!path.ok) return refuse(path.reason);
  const query = rawQuery === null ? null : canonicalQuery(rawQuery);
  if (query !== null && !query.ok) return refuse(query.reason);

  const forwarded = query === null ? path.encoded : `${path.encoded}?${query.text}`;
  if (mode !== 'forward_domain') return { ok: true, subject: path.decoded, path: forwarded };
  const authority = canonicalHost(host, scheme);
  if (!authority.ok) return refuse(authority.reason);
  return { ok: true, subject: `${scheme}://${authority.host}${forwarded}`, path: forwarded };
}

/**
 * The query is forwarded as received: only what no client should send is refused (controls, a
 * literal `#`), and raw bytes above 0x7F are percent-encoded as a browser would.
 */
function canonicalQuery(raw: string): { ok: true; text: string } | { ok: false; reason: string } {
  const found = QUERY_PROBLEM.exec(raw)?.[0];
  if (found !== undefined) {
    const code = found.charCodeAt(0);
    const what =
      found === '#'
        ? 'a literal #'
        : code > 0xff
          ? 'a character that is not one byte'
          : 'a control character or space';
    return { ok: false, reason: `the query holds ${what}` };
  }
  const text = raw.replace(
    HIGH_BYTES,
    (byte) => `%${byte.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return { ok: true, text };
}

type AbsoluteUrl =
  | { ok: true; scheme: string; host: string; target: string }
  | { ok: false; status: 400; reason: string };

/** Splits `scheme://authority/rest`, or returns null when `url` is not an http(s) URL at all. */
function splitAbsoluteUrl(url: string): AbsoluteUrl | null {
  const parts = ABSOLUTE_URL.exec(url);
  if (!parts) return null;
  const scheme = (parts[1] ?? '').toLowerCase();
  const rest = parts[3] ?? '';
  if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) {
    return refuse(
      `the URL holds ${rest.startsWith('#') ? 'a literal #' : 'a backslash'} after the host`,
    );
  }
  const host = canonicalHost(parts[2] ?? '', scheme);
  if (!host.ok) return refuse(host.reason);
  return { ok: true, scheme, host: host.host, target: rest.startsWith('/') ? rest : `/${rest}` };
}

/** Lower-cases the host and drops the scheme's default port; refuses anything but host[:port]. */
function canonicalHost(
  raw: string,
  scheme: string,
): { ok: true; host: string } | { ok: false; reason: string } {
  const host = raw.toLowerCase();
  const parts = HOST.exec(host);
  if (!parts) {
    return {
      ok: false,
      reason: `the host ${JSON.stringify(raw)} is not a host name with an optional port`,
    };
  }
  const port = parts[1];
  if (port === undefined || port !== DEFAULT_PORTS[scheme]) return { ok: true, host };
  return { ok: true, host: host.slice(0, -(port.length + 1)) };
}

function refuse(reason: string): { ok: false; status: 400; reason: string } {
  return { ok: false, status: 400, reason };
}
