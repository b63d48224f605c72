import type { IncomingHttpHeaders } from 'node:http';

/** The reverse proxies outpost answers in the forward modes (SPEC section 7). */
export type ProxyKind = 'nginx' | 'traefik' | 'caddy' | 'envoy';

export const PROXY_KINDS: readonly ProxyKind[] = ['nginx', 'traefik', 'caddy', 'envoy'];

export const AUTH_PREFIX = '/outpost.goauthentik.io/auth/';
export const ENVOY_PREFIX = `${AUTH_PREFIX}envoy`;

/** What an auth request carries that can name the URL the browser asked the reverse proxy for. */
export interface AuthRequest {
  headers: IncomingHttpHeaders;
  /** The auth request's own path and query (envoy appends the original path to its prefix). */
  rawTarget: string;
  /** The auth request's Host header. */
  host: string;
  /** The scheme of the connection from the reverse proxy to outpost. */
  scheme: 'http' | 'https';
  /**
   * The origin a path-only `X-Original-URI` is on when no `X-Forwarded-Proto` or `-Host` names
   * one: the external host in `forward_single`, as authentik's outpost sends the browser back to
   * that path on the external host. Without it, the auth request's own scheme and Host.
   */
  pathOrigin?: string;
}

/** The original URL, or which header the reverse proxy should have sent and did not. */
export type OriginalUrl = { ok: true; url: string } | { ok: false; missing: string };

/**
 * Where each proxy puts the original URL: nginx in `X-Original-URL` (or the path alone in
 * `X-Original-URI`), Traefik and Caddy in `X-Forwarded-Proto`, `-Host` and `-Uri`, envoy after the
 * `auth/envoy` prefix of the auth request's own path, with its Host.
 */
export function originalUrlOf(kind: ProxyKind, request: AuthRequest): OriginalUrl {
  switch (kind) {
    case 'nginx':
      return nginxUrl(request);
    case 'envoy':
      return envoyUrl(request);
    default:
      return forwardedUrl(request);
  }
}

function nginxUrl(request: AuthRequest): OriginalUrl {
  const url = single(request.headers['x-original-url']);
  if (url) return { ok: true, url };
  const path = single(request.headers['x-original-uri']);
  if (!path?.startsWith('/')) return { ok: false, missing: 'X-Original-URL' };
  const scheme = nearest(request.headers['x-forwarded-proto']);
  const host = nearest(request.headers['x-forwarded-host']);
  if (!scheme && !host && request.pathOrigin) return { ok: true, url: request.pathOrigin + path };
  return { ok: true, url: `${scheme ?? request.scheme}://${host ?? request.host}${path}` };
}

function forwardedUrl(request: AuthRequest): OriginalUrl {
  const scheme = nearest(request.headers['x-forwarded-proto']);
  const host = nearest(request.headers['x-forwarded-host']);
  const uri = single(request.headers['x-forwarded-uri']);
  const missing = [
    scheme ? null : 'X-Forwarded-Proto',
    host ? null : 'X-Forwarded-Host',
    uri?.startsWith('/') ? null : 'X-Forwarded-Uri',
  ].filter((name) => name !== null);
  if (missing.length > 0) return { ok: false, missing: missing.join(', ') };
  return { ok: true, url: `${scheme}://${host}${uri}` };
}

function envoyUrl(request: AuthRequest): OriginalUrl {
  const rest = request.rawTarget.slice(ENVOY_PREFIX.length);
  const target = rest.startsWith('/') ? rest : `/${rest}`;
  const scheme = nearest(request.headers['x-forwarded-proto']) ?? request.scheme;
  return { ok: true, url: `${scheme}://${request.host}${target}` };
}

function single(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text?.trim() || undefined;
}

/**
 * A list-valued forwarding header (`X-Forwarded-Proto: https, http`) after several hops: the
 * last entry is the one the nearest proxy, the trusted one, wrote.
 */
function nearest(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.at(-1) : value;
  return text?.split(',').at(-1)?.trim() || undefined;
}
