import {
  Agent as HttpAgent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';

import type { ProxyServer } from 'http-proxy-3';
import type { Dispatcher, Pool as PoolType } from 'undici';
import Pool from 'undici/lib/dispatcher/pool.js';

import { systemErrorCode } from '../errors.js';

export interface UpstreamOptions {
  /** Verify an https upstream's certificate (`internal_host_ssl_validation`). */
  verifyTls: boolean;
  /** Milliseconds to wait for response headers before giving up with 504. */
  timeout: number;
}

/** Why a request could not be answered by the app. */
export interface UpstreamFailure {
  status: 502 | 504;
  target: string;
  /** `ECONNREFUSED`, `timeout`, ... */
  code: string;
  message: string;
}

/** Request headers undici sets itself from the message and refuses to be given. */
const SET_BY_CLIENT = new Set([
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
]);

/** Response headers about the app's connection, not the message (RFC 9110 section 7.6.1). */
const HOP_BY_HOP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'proxy-authenticate',
  'trailer',
  'upgrade',
]);

/**
 * Forwards requests to the app over pooled keep-alive connections (undici: Node's own HTTP client
 * was measured as the proxy's main cost), and WebSocket upgrades through http-proxy-3. Failures
 * never throw: they come back once, as an UpstreamFailure, so one bad request cannot stop the
 * proxy.
 */
export class Upstream {
  private readonly pools = new Map<string, PoolType>();
  /** http-proxy-3, for WebSockets only: loaded after start, off the path to ready. */
  private proxy: ProxyServer | null = null;
  private readonly loadingProxy: Promise<ProxyServer>;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxFreeSockets: 64 });
  private readonly httpsAgent: HttpsAgent;

  constructor(readonly options: UpstreamOptions) {
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxFreeSockets: 64,
      rejectUnauthorized: options.verifyTls,
    });
    this.loadingProxy = import('http-proxy-3').then(({ createProxyServer }) => {
      const proxy = createProxyServer({ xfwd: false, ws: true, secure: options.verifyTls });
      // errors are handled per call through the callbacks below; this keeps stray ones quiet
      proxy.on('error', () => undefined);
      this.proxy = proxy;
      return proxy;
    });
  }

  /**
   * Sends `req` to `target` (origin of the app) and streams the answer into `res`, with
   * `cookies` (outpost's own Set-Cookie values) added. A failure goes to `onFailure`; once the
   * app has answered (`res.headersSent`), the response is also cut short.
   */
  web(
    req: IncomingMessage,
    res: ServerResponse,
    target: URL,
    cookies: string[],
    onFailure: (failure: UpstreamFailure) => void,
  ): void {
    const request: Dispatcher.DispatchOptions = {
      path: joinPath(target, req.url ?? '/'),
      method: req.method as Dispatcher.HttpMethod,
      headers: requestHeaders(req),
      body: hasBody(req) ? req : null,
    };
    const relay = new ResponseRelay(res, cookies, (error) =>
      onFailure(failureOf(target, error, this.options.timeout)),
    );
    this.poolFor(target).dispatch(request, relay);
  }

  /** Forwards a WebSocket upgrade; on failure the client's socket is closed. */
  ws(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: URL,
    onFailure: (failure: UpstreamFailure) => void,
  ): void {
    const agent = target.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    const forward = (proxy: ProxyServer) =>
      proxy.ws(req, socket, head, { target: new URL(target), agent: agent as never }, (error) => {
        onFailure(failureOf(target, error, this.options.timeout));
        socket.destroy();
      });
    if (this.proxy) return void forward(this.proxy);
    // an upgrade in the first moments after start waits for the engine, its bytes held meanwhile
    socket.pause();
    void this.loadingProxy.then(forward);
  }

  close(): void {
    for (const pool of this.pools.values()) void pool.destroy().catch(() => undefined);
    this.pools.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.proxy?.close();
  }

  private poolFor(target: URL): PoolType {
    let pool = this.pools.get(target.origin);
    if (!pool) {
      pool = new Pool(target.origin, {
        connections: 256,
        keepAliveTimeout: 10_000,
        headersTimeout: this.options.timeout,
        // streams (SSE, long polls, downloads) may stay quiet for as long as they like
        bodyTimeout: 0,
        ...(target.protocol === 'https:'
          ? { connect: { rejectUnauthorized: this.options.verifyTls } }
          : {}),
      });
      this.pools.set(target.origin, pool);
    }
    return pool;
  }
}

/**
 * Streams one answer of the app into the client's response, with backpressure both ways, through
 * undici's dispatch interface: no body stream and no promise per request, which `request()`
 * makes and which a profile showed as a cost of every proxied request.
 */
class ResponseRelay implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private isClientGone = false;
  private hasStarted = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly cookies: string[],
    private readonly onFailure: (error: unknown) => void,
  ) {
    res.once('close', this.onClientClose);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.isClientGone) controller.abort(new Error('the client went away'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    // 1xx answers (103 Early Hints) are not passed on: Node's server cannot send them as is
    if (statusCode < 200 || this.isClientGone) return;
    this.hasStarted = true;
    this.res.writeHead(statusCode, responseHeaders(headers, this.cookies));
    this.res.on('drain', () => controller.resume());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.isClientGone) return;
    // before the app answered, the client gets an error page; after, a cut response, which
    // onFailure is told of too (headers sent), so that the access log can say why
    this.onFailure(error);
    if (this.hasStarted) this.res.destroy();
  }

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.isClientGone = true;
    this.controller?.abort(new Error('the client went away'));
  };
}

/** The app's response headers without hop-by-hop ones, with outpost's own cookies added. */
function responseHeaders(
  incoming: IncomingHttpHeaders,
  cookies: string[],
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== undefined && !HOP_BY_HOP_RESPONSE.has(name)) headers[name] = value;
  }
  if (cookies.length > 0) headers['set-cookie'] = [...asList(headers['set-cookie']), ...cookies];
  return headers;
}

function requestHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !SET_BY_CLIENT.has(name.toLowerCase())) headers[name] = value;
  }
  return headers;
}

/** Whether the request carries a body: framed by a length or by chunks (RFC 9112 section 6.3). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** The app's base path (from internal_host) before the request's own path. */
function joinPath(target: URL, path: string): string {
  return target.pathname === '/' ? path : `${target.pathname.replace(/\/$/, '')}${path}`;
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function failureOf(target: URL, error: unknown, timeout: number): UpstreamFailure {
  const code = systemErrorCode(error) ?? 'error';
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return {
      status: 504,
      target: target.origin,
      code: 'timeout',
      message: `no response within ${timeout} ms`,
    };
  }
  return {
    status: 502,
    target: target.origin,
    code: plainCode(code),
    message: errorMessage(error),
  };
}

/** undici's own codes are long; the network's (ECONNREFUSED, ...) pass as they are. */
function plainCode(code: string): string {
  return code === 'UND_ERR_SOCKET' ? 'ECONNRESET' : code.replace(/^UND_ERR_/, '');
}

function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0)
    return errorMessage(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}
