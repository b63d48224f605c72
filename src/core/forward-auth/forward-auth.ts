import type { Identity } from '../identity/identity.js';
import { subjectForUrl } from '../paths/request-subject.js';
import { ENDPOINT_PREFIX } from '../proxy/endpoints.js';
import { identityFromRequest } from '../proxy/header-credentials.js';
import type { OutpostContext } from '../proxy/outpost-context.js';
import type { RequestState } from '../proxy/request-state.js';
import { safeRedirectTarget } from '../proxy/redirects.js';
import { sendText } from '../proxy/responses.js';
import { SessionCookies } from '../proxy/session-cookies.js';
import { isForgeableHeader } from '../headers/forged-headers.js';
import { sendAllowed, sendConfigurationError, sendSignIn } from './auth-answers.js';
import { copiedHeaderNames, isCopiedByNginx } from './copied-headers.js';
import { AUTH_PREFIX, originalUrlOf, type ProxyKind } from './original-url.js';
import { compileTrustedProxies, type TrustedProxies } from './trusted-proxies.js';

const URL_HEADERS: Record<ProxyKind, string> = {
  nginx: 'X-Original-URL',
  traefik: 'X-Forwarded-Proto/-Host/-Uri',
  caddy: 'X-Forwarded-Proto/-Host/-Uri',
  envoy: 'path and Host',
};

/**
 * The forward-auth endpoints `auth/nginx`, `auth/traefik`, `auth/caddy` and `auth/envoy/…`
 * (SPEC section 7): the reverse proxy asks whether the URL the browser wants may pass, and copies
 * the identity headers of a `200` onto the request it sends to the app.
 */
export class ForwardAuth {
  private readonly trusted: TrustedProxies;
  private readonly warnedOrigins = new Set<string>();
  /** The identity headers nginx's printed snippet overwrites (lower case). */
  private readonly nginxOverwrites: Set<string>;
  private readonly cookies: SessionCookies;

  constructor(private readonly context: OutpostContext) {
    const { config } = context;
    this.cookies = new SessionCookies(context);
    const warn = (message: string) => context.options.onWarning?.(message);
    this.trusted = compileTrustedProxies(config.trusted_proxies);
    this.nginxOverwrites = new Set(
      copiedHeaderNames(config)
        .filter(isCopiedByNginx)
        .map((name) => name.toLowerCase()),
    );
    for (const entry of this.trusted.ignored) {
      warn(`trusted_proxies: ${JSON.stringify(entry)} is neither an IP address nor a CIDR range`);
    }
    if (config.mode === 'forward_domain' && !config.cookie_domain) {
      warn(
        'forward_domain without cookie_domain: the session cookie stays on the external host and no app host will see it',
      );
    }
  }

  /** Which proxy a request path asks for, or null when it is not a forward-auth endpoint. */
  static kindOf(path: string): ProxyKind | null {
    if (!path.startsWith(AUTH_PREFIX)) return null;
    const rest = path.slice(AUTH_PREFIX.length);
    if (rest === 'nginx' || rest === 'traefik' || rest === 'caddy') return rest;
    return rest === 'envoy' || rest.startsWith('envoy/') ? 'envoy' : null;
  }

  async handle(state: RequestState, kind: ProxyKind): Promise<void> {
    const original = this.originalUrl(state, kind);
    if (!original) return sendConfigurationError(state.res, state.cookies);
    if (kind === 'nginx' && this.refuseUnclearable(state)) return;
    const subject = subjectForUrl(this.context.config.mode, original);
    if (!subject.ok) {
      return sendText(state.res, 400, `Bad Request: ${subject.reason}\n`, state.cookies);
    }
    const external = this.externalFor(original);
    const identity = state.session?.identity ?? this.context.presetIdentity(external);
    if (identity) return this.allow(state, kind, identity, external);
    const match = this.context.options.paths.match(subject.subject);
    // outpost's own pages must stay reachable when the proxy guards them too (no sign-in loop)
    const rule = match?.rule ?? (isEndpointPath(subject.path) ? ENDPOINT_PREFIX : null);
    if (rule !== null) {
      state.user = 'public';
      state.rule = rule;
      return sendAllowed(state.res, kind, null, this.answerOptions(state));
    }
    const fromHeader = await identityFromRequest(this.context, state.req);
    if (fromHeader) return this.allow(state, kind, fromHeader, external);
    const start = `${external}${ENDPOINT_PREFIX}start?rd=${encodeURIComponent(original)}`;
    // nginx turns the 401 into its own redirect and passes none of this answer's cookies on
    if (kind !== 'nginx') state.cookies.push(...this.beginSignIn(state, original, external));
    sendSignIn(state.res, kind, start, state.cookies);
  }

  private allow(state: RequestState, kind: ProxyKind, identity: Identity, external: string): void {
    state.user = identity.preferred_username;
    const context = this.context.headerContextFor(identity, external);
    sendAllowed(state.res, kind, { identity, context }, this.answerOptions(state));
  }

  /**
   * The URL the browser asked the reverse proxy for, or null (after a log line naming what is
   * missing) when the request does not say, or comes from an address not in `trusted_proxies`.
   */
  private originalUrl(state: RequestState, kind: ProxyKind): string | null {
    const address = state.req.socket.remoteAddress;
    const warn = (why: string) =>
      this.context.options.onWarning?.(`forward auth (${kind}): ${why}; answered 500`);
    if (!this.trusted.trusts(address)) {
      warn(
        `${address ?? 'an unknown address'} is not in trusted_proxies, so its ${URL_HEADERS[kind]} cannot be believed`,
      );
      return null;
    }
    const found = originalUrlOf(kind, {
      headers: state.req.headers,
      rawTarget: state.rawTarget,
      host: state.origin.host,
      scheme: state.origin.scheme,
      pathOrigin: this.context.config.mode === 'forward_single' ? state.external : undefined,
    });
    if (found.ok) return found.url;
    warn(`the request has no ${found.missing} header naming the original URL`);
    return null;
  }

  /**
   * nginx cannot delete a header it does not name: a client's `X-Authentik-*` header that the
   * printed snippet does not overwrite would reach the app, so the request is refused (`403`).
   */
  private refuseUnclearable(state: RequestState): boolean {
    const lower = clientHeaderNames(state).map((name) => name.toLowerCase());
    const names = [...new Set(lower)].filter(
      (name) => isForgeableHeader(name) && !this.nginxOverwrites.has(name),
    );
    if (names.length === 0) return false;
    this.context.options.onWarning?.(
      `forward auth (nginx): the request carries ${names.join(', ')}, which nginx would pass to the app unchanged; answered 403`,
    );
    sendText(
      state.res,
      403,
      'Forbidden: the request carries a forged identity header\n',
      state.cookies,
    );
    return true;
  }

  /**
   * Where sign-in happens: `external_host`, or the app's own origin when none is set. In
   * `forward_single` that must be the app's URL, or the session cookie lands on another host.
   */
  private externalFor(original: string): string {
    const app = new URL(original).origin;
    const configured = this.context.config.external_host;
    if (!configured) return app;
    const external = new URL(configured).origin;
    if (this.context.config.mode === 'forward_single' && app !== external) {
      this.warnOnce(
        app,
        `forward_single: ${app} is not external_host (${external}); its session cookie is set on external_host, which this app's host never sees. Set external_host to the app's URL`,
      );
    }
    return external;
  }

  private warnOnce(key: string, message: string): void {
    if (this.warnedOrigins.has(key)) return;
    this.warnedOrigins.add(key);
    this.context.options.onWarning?.(message);
  }

  /**
   * The redirect to sign-in begins the sign-in, as authentik's does: the browser gets the cookie
   * that binds the attempt to it, and the sign-in page carries on with that attempt. A sign-in
   * that cannot be kept is not fatal here: the page begins its own.
   */
  private beginSignIn(state: RequestState, original: string, external: string): string[] {
    // the rd that start will accept, so that it carries this attempt on
    const rd =
      safeRedirectTarget(original, external, this.context.config.cookie_domain) ?? `${external}/`;
    try {
      return [this.cookies.attempt(state, this.context.attempts.begin(rd).state)];
    } catch (error) {
      this.context.options.onWarning?.(error instanceof Error ? error.message : String(error));
      return [];
    }
  }

  private answerOptions(state: RequestState) {
    return {
      cookies: state.cookies,
      clientHeaders: clientHeaderNames(state),
      // the parser refuses control characters, so the value can go back as it came
      userAgent: state.req.headers['user-agent'] ?? '',
    };
  }
}

/** Header names as the client sent them (the parsed headers have the forged ones removed). */
function clientHeaderNames(state: RequestState): string[] {
  return state.req.rawHeaders.filter((_, index) => index % 2 === 0);
}

function isEndpointPath(path: string): boolean {
  return path.startsWith(ENDPOINT_PREFIX);
}
