import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { ForwardAuth } from '../forward-auth/forward-auth.js';
import { subjectForRequest } from '../paths/request-subject.js';
import { pathOf, type AccessEntry } from './access-log.js';
import { DevSignIn } from './dev-sign-in.js';
import { ENDPOINT_PREFIX, Endpoints } from './endpoints.js';
import { applyForwardingHeaders, applyIdentityHeaders, forwardingOf } from './forward-headers.js';
import { identityFromRequest } from './header-credentials.js';
import { removeUntrustedHeaders } from './hop-by-hop.js';
import type { OutpostContext } from './outpost-context.js';
import { requestOrigin } from './request-origin.js';
import { splitTarget, type RequestState } from './request-state.js';
import { redirect, sendErrorPage, sendText } from './responses.js';
import { SessionCookies } from './session-cookies.js';
import type { Upstream, UpstreamFailure } from './upstream.js';
import type { Identity } from '../identity/identity.js';
import type { Session } from '../session/session-store.js';

/**
 * Proxy mode: every request is checked, then answered by an endpoint, forwarded to the app with
 * the identity headers, forwarded as public, or sent to sign in. Nothing here throws out to the
 * server: an unexpected error becomes a 500 page and a log line.
 */
export class RequestHandler {
  private readonly cookies: SessionCookies;
  private readonly endpoints: Endpoints;
  /** The forward-auth endpoints; null in proxy mode. */
  private readonly forwardAuth: ForwardAuth | null;

  constructor(
    private readonly context: OutpostContext,
    private readonly upstream: Upstream,
  ) {
    this.cookies = new SessionCookies(context);
    this.endpoints = new Endpoints(context, this.cookies, new DevSignIn(context, this.cookies));
    this.forwardAuth = context.config.mode === 'proxy' ? null : new ForwardAuth(context);
  }

  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const state = this.begin(req, res);
    res.once('close', () => this.log(req, res, state, started));
    if (!state) {
      sendText(res, 400, 'Bad Request: the Host header is missing or not a host name\n');
      return;
    }
    Promise.resolve(this.route(state)).catch((error: unknown) => this.fail(state, error));
  };

  private advisedHttps = false;

  readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const state = this.begin(req, null);
    if (!state || state.path.startsWith(ENDPOINT_PREFIX)) return refuseUpgrade(socket, 400);
    if (this.forwardAuth) return refuseUpgrade(socket, 404);
    const identity = this.identityOf(state);
    const subject = subjectForRequest(this.context.config.mode, {
      scheme: state.origin.scheme,
      host: state.origin.host,
      rawTarget: state.rawTarget,
    });
    if (!subject.ok) return refuseUpgrade(socket, 400);
    if (!identity && !this.context.options.paths.match(subject.subject))
      return refuseUpgrade(socket, 401);
    req.url = subject.path;
    this.prepareHeaders(state, identity);
    this.upstream.ws(req, socket, head, this.targetFor(identity), (failure) => {
      this.context.options.onWarning?.(`WebSocket to ${failure.target} failed: ${failure.message}`);
    });
  };

  private begin(req: IncomingMessage, res: ServerResponse | null): RequestState | null {
    const origin = requestOrigin(req);
    if (!origin) return null;
    const rawTarget = req.url ?? '/';
    const state: RequestState = {
      req,
      res: res as ServerResponse,
      origin,
      external: this.context.externalOrigin(origin.origin),
      rawTarget,
      ...splitTarget(rawTarget),
      session: null,
      cookies: [],
      user: '-',
    };
    removeUntrustedHeaders(req.headers, res === null);
    state.session = this.readSession(state);
    return state;
  }

  /** The session the cookie names; a cookie that names none is cleared. */
  private readSession(state: RequestState): Session | null {
    const value = this.cookies.read(state);
    if (value === undefined) return null;
    const found = this.context.sessions.lookup(value);
    const session = found && this.context.currentSession(found, state.external);
    if (!session) state.cookies.push(this.cookies.clearSession(state));
    return session;
  }

  private identityOf(state: RequestState): Identity | null {
    return state.session?.identity ?? this.context.presetIdentity(state.external);
  }

  private async route(state: RequestState): Promise<void> {
    if (!(await this.renewSession(state))) return;
    if (this.forwardAuth) return this.routeForward(state, this.forwardAuth);
    if (this.endpoints.claims(state)) return this.endpoints.handle(state);
    const subject = subjectForRequest(this.context.config.mode, {
      scheme: state.origin.scheme,
      host: state.origin.host,
      rawTarget: state.rawTarget,
    });
    if (!subject.ok) {
      return sendErrorPage(state.res, 400, 'Bad request', subject.reason, state.cookies);
    }
    const identity = this.identityOf(state);
    if (identity) return this.forward(state, identity, subject.path);
    const match = this.context.options.paths.match(subject.subject);
    if (match) {
      state.user = 'public';
      state.rule = match.rule;
      return this.forward(state, null, subject.path);
    }
    const fromHeader = await identityFromRequest(this.context, state.req);
    if (fromHeader) {
      // the credentials were for outpost; the app gets the identity headers instead
      delete state.req.headers.authorization;
      return this.forward(state, fromHeader, subject.path);
    }
    this.challenge(state);
  }

  /**
   * Forward modes: the reverse proxy talks to the app itself and only asks `auth/*`; outpost's
   * own endpoints still answer (sign-in runs here), and nothing else exists.
   */
  private async routeForward(state: RequestState, forwardAuth: ForwardAuth): Promise<void> {
    const kind = ForwardAuth.kindOf(state.path);
    if (kind) return forwardAuth.handle(state, kind);
    if (state.path.startsWith(ENDPOINT_PREFIX)) return this.endpoints.handle(state);
    const why = `In ${this.context.config.mode} mode your reverse proxy serves the app; outpost only answers ${ENDPOINT_PREFIX}.`;
    sendErrorPage(state.res, 404, 'Not found', why, state.cookies);
  }

  /**
   * A real provider's session gets a fresh access token before it is used; one the provider
   * refuses to refresh is signed out. False when the request was answered (provider down).
   */
  private async renewSession(state: RequestState): Promise<boolean> {
    const provider = this.context.provider;
    if (!provider || state.session?.identity.source !== 'oidc') return true;
    try {
      state.session = await provider.fresh(state.session, this.context.sessions);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      const explanation = `Your session needs a new token, but the provider cannot be reached: ${why}`;
      sendErrorPage(
        state.res,
        502,
        'The sign-in provider is not reachable',
        explanation,
        state.cookies,
      );
      return false;
    }
    if (!state.session) state.cookies.push(this.cookies.clearSession(state));
    return true;
  }

  /**
   * No session on a protected path: 401 for API clients that sent credentials, else sign in.
   * `rd` names the path and query on the external host, as authentik's outpost does, so that a
   * request that reached another origin (plain http, another name) still comes back to its page.
   */
  private challenge(state: RequestState): void {
    if (this.context.config.intercept_header_auth && state.req.headers.authorization) {
      sendText(state.res, 401, 'Unauthorized\n', state.cookies);
      return;
    }
    const original = `${state.external}${state.rawTarget}`;
    const start = `${state.external}${ENDPOINT_PREFIX}start?rd=${encodeURIComponent(original)}`;
    redirect(state.res, start, state.cookies);
  }

  private forward(state: RequestState, identity: Identity | null, path: string): void {
    if (identity) state.user = identity.preferred_username;
    this.adviseHttpsForHttpsApp(state);
    state.req.url = path;
    this.prepareHeaders(state, identity);
    this.upstream.web(state.req, state.res, this.targetFor(identity), state.cookies, (failure) =>
      this.upstreamFailed(state, failure),
    );
  }

  /** authentik advises reaching an https app through the outpost's https port; say so once. */
  private adviseHttpsForHttpsApp(state: RequestState): void {
    if (this.advisedHttps || state.origin.scheme !== 'http') return;
    if (this.context.options.upstream.protocol !== 'https:') return;
    this.advisedHttps = true;
    this.context.options.onWarning?.(
      `the app is https but this request came over plain http; use the https port, as authentik advises for https apps`,
    );
  }

  private prepareHeaders(state: RequestState, identity: Identity | null): void {
    const headers = state.req.headers;
    if (identity) {
      applyIdentityHeaders(
        headers,
        identity,
        this.context.headerContextFor(identity, state.external),
      );
    }
    applyForwardingHeaders(headers, forwardingOf(this.context, state, identity));
  }

  /**
   * The app's origin, or the user's `backend_override` (its scheme and host; path ignored). An
   * override that is not a URL is ignored with a warning, as authentik's outpost does.
   */
  private targetFor(identity: Identity | null): URL {
    const base = this.context.options.upstream;
    if (!identity?.backend_override) return base;
    if (!URL.canParse(identity.backend_override)) {
      this.context.options.onWarning?.(
        `backend_override of ${identity.preferred_username} is not a URL; using ${base.origin}`,
      );
      return base;
    }
    const override = new URL(identity.backend_override);
    const target = new URL(base.href);
    target.protocol = override.protocol;
    target.host = override.host;
    return target;
  }

  private upstreamFailed(state: RequestState, failure: UpstreamFailure): void {
    if (state.res.headersSent) {
      // the app's answer had begun and is cut short: only the log line can still say why
      state.error = `upstream cut: ${failure.code}`;
      return;
    }
    state.error = failure.code;
    const title = failure.status === 504 ? 'The app is too slow' : 'The app is not reachable';
    const explanation =
      failure.status === 504
        ? `${failure.target} did not answer in time (${failure.message}).`
        : `outpost could not reach ${failure.target}: ${failure.message} (${failure.code}). Is the app running?`;
    sendErrorPage(state.res, failure.status, title, explanation, state.cookies);
  }

  private fail(state: RequestState, error: unknown): void {
    state.error = 'internal';
    this.context.options.onWarning?.(
      `internal error on ${state.req.method} ${pathOf(state.rawTarget)}: ${String(error)}`,
    );
    sendErrorPage(state.res, 500, 'Internal error', 'outpost failed on this request; see its log.');
  }

  private log(
    req: IncomingMessage,
    res: ServerResponse,
    state: RequestState | null,
    started: number,
  ) {
    const entry: AccessEntry = {
      time: new Date().toISOString(),
      method: req.method ?? '',
      path: pathOf(state?.rawTarget ?? req.url),
      status: res.statusCode,
      user: state?.user ?? '-',
      ms: Math.round((performance.now() - started) * 100) / 100,
    };
    if (state?.rule !== undefined) entry.rule = state.rule;
    if (state?.error !== undefined) entry.error = state.error;
    if (!res.writableFinished && !state?.error) entry.error = 'aborted';
    this.context.options.onAccess?.(entry);
  }
}

function refuseUpgrade(socket: Duplex, status: 400 | 401 | 404): void {
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' }[status];
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
