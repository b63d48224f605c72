import { EventEmitter } from 'node:events';
import { Agent as HttpAgent, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';

import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import { Pool, type Dispatcher } from 'undici';

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
  private readonly pools = new Map<string, Pool>();
  private readonly proxy: ProxyServer;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxFreeSockets: 64 });
  private readonly httpsAgent: HttpsAgent;

  constructor(private readonly options: UpstreamOptions) {
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxFreeSockets: 64,
      rejectUnauthorized: options.verifyTls,
    });
    this.proxy = createProxyServer({ xfwd: false, ws: true, secure: options.verifyTls });
    // errors are handled per call through the callbacks below; this keeps stray ones from throwing
    this.proxy.on('error', () => undefined);
  }

  /**
   * Sends `req` to `target` (origin of the app) and streams the answer into `res`, with
   * `cookies` (outpost's own Set-Cookie values) added. Before the app answers, a failure goes to
   * `onFailure`; after, the response is cut short instead.
   */
  web(
    req: IncomingMessage,
    res: ServerResponse,
    target: URL,
    cookies: string[],
    onFailure: (failure: UpstreamFailure) => void,
  ): void {
    // undici takes an emitter as its abort signal: much cheaper per request than AbortController
    const abort = new EventEmitter();
    let aborted = false;
    res.once('close', () => {
      if (res.writableFinished) return;
      aborted = true;
      abort.emit('abort');
    });
    const request: Dispatcher.RequestOptions = {
      path: joinPath(target, req.url ?? '/'),
      method: req.method as Dispatcher.HttpMethod,
      headers: requestHeaders(req),
      body: hasBody(req) ? req : null,
      signal: abort,
    };
    this.poolFor(target)
      .request(request)
      .then(
        (response) => relay(response, res, cookies),
        (error: unknown) => {
          if (!aborted) onFailure(failureOf(target, error, this.options.timeout));
        },
      );
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
    this.proxy.ws(
      req,
      socket,
      head,
      { target: new URL(target), agent: agent as never },
      (error) => {
        onFailure(failureOf(target, error, this.options.timeout));
        socket.destroy();
      },
    );
  }

  close(): void {
    for (const pool of this.pools.values()) void pool.destroy().catch(() => undefined);
    this.pools.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.proxy.close();
  }

  private poolFor(target: URL): Pool {
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

function relay(response: Dispatcher.ResponseData, res: ServerResponse, cookies: string[]): void {
  if (res.destroyed) {
    response.body.destroy();
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && !HOP_BY_HOP_RESPONSE.has(name)) headers[name] = value;
  }
  if (cookies.length > 0) headers['set-cookie'] = [...asList(headers['set-cookie']), ...cookies];
  res.writeHead(response.statusCode, headers);
  // pipe, not pipeline: pipeline makes an AbortController per call, a measured cost per request;
  // an app that fails mid-answer leaves the client a cut response, and the proxy goes on
  response.body.on('error', () => res.destroy());
  res.once('close', () => {
    if (!response.body.readableEnded) response.body.destroy();
  });
  response.body.pipe(res);
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
