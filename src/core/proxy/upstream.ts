import {
  Agent as HttpAgent,
  type ClientRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';

import { createProxyServer, type ProxyServer } from 'http-proxy-3';

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

/**
 * Forwards requests and WebSocket upgrades to the app through http-proxy-3, over keep-alive
 * connections (its default opens a connection per request). Failures never throw: they come
 * back to the caller once, as an UpstreamFailure, so one bad request cannot stop the proxy.
 */
export class Upstream {
  private readonly proxy: ProxyServer;
  private readonly httpAgent = new HttpAgent({
    keepAlive: true,
    maxSockets: 512,
    maxFreeSockets: 256,
  });
  private readonly httpsAgent: HttpsAgent;
  private readonly pending = new WeakMap<IncomingMessage, ClientRequest>();
  /** Set-Cookie values of outpost's own (a stale cookie cleared) to add to the app's answer. */
  private readonly cookies = new WeakMap<IncomingMessage, string[]>();

  constructor(private readonly options: UpstreamOptions) {
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxSockets: 512,
      maxFreeSockets: 256,
      rejectUnauthorized: options.verifyTls,
    });
    this.proxy = createProxyServer({ xfwd: false, ws: true, secure: options.verifyTls });
    this.proxy.on('proxyReq', (proxyReq, req) => this.pending.set(req, proxyReq));
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const extra = this.cookies.get(req);
      if (extra)
        proxyRes.headers['set-cookie'] = [...(proxyRes.headers['set-cookie'] ?? []), ...extra];
    });
    // errors are handled per call through the callbacks below; this keeps stray ones from throwing
    this.proxy.on('error', () => undefined);
  }

  /**
   * Sends `req` to `target` (origin of the app) and streams the answer into `res`. Before the
   * app answers, a failure goes to `onFailure` (once); after, the response is cut short instead.
   */
  web(
    req: IncomingMessage,
    res: ServerResponse,
    target: URL,
    cookies: string[],
    onFailure: (failure: UpstreamFailure) => void,
  ): void {
    if (cookies.length > 0) this.cookies.set(req, cookies);
    let answered = false;
    let failed = false;
    const fail = (failure: UpstreamFailure) => {
      clearTimeout(timer);
      if (answered) res.destroy();
      else if (!failed) onFailure(failure);
      failed = true;
    };
    const timer = setTimeout(() => {
      this.pending.get(req)?.destroy();
      fail(failureOf(target, 'timeout', `no response within ${this.options.timeout} ms`));
    }, this.options.timeout);
    res.once('pipe', () => {
      answered = true;
      clearTimeout(timer);
    });
    res.once('close', () => clearTimeout(timer));

    const agent = target.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    this.proxy.web(req, res, { target, agent }, (error) => {
      fail(failureOf(target, systemErrorCode(error) ?? 'error', errorMessage(error)));
    });
  }

  /** Forwards a WebSocket upgrade; on failure the client's socket is closed. */
  ws(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: URL,
    onFailure: (failure: UpstreamFailure) => void,
  ) {
    const wsTarget = new URL(target);
    const agent = target.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    this.proxy.ws(req, socket, head, { target: wsTarget, agent: agent as never }, (error) => {
      onFailure(failureOf(target, systemErrorCode(error) ?? 'error', errorMessage(error)));
      socket.destroy();
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.proxy.close();
  }
}

function failureOf(target: URL, code: string, message: string): UpstreamFailure {
  return { status: code === 'timeout' ? 504 : 502, target: target.origin, code, message };
}

function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0)
    return errorMessage(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}
