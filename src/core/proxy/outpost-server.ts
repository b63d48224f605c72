import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import type { OutpostConfig } from '../config/config.js';
import type { EchoAppHandle } from '../echo/echo-app.js';
import { OutpostError, systemErrorCode } from '../errors.js';
import { compileUnauthenticatedPaths, describeRuleLine } from '../paths/unauthenticated-paths.js';
import type { TlsMaterial } from '../tls/certificate.js';
import type { AccessEntry } from './access-log.js';
import { OutpostContext } from './outpost-context.js';
import { RequestHandler } from './request-handler.js';
import { Upstream } from './upstream.js';

export interface StartOutpostOptions {
  config: OutpostConfig;
  stateDir: string;
  version: string;
  /** The certificate for the HTTPS listener; null serves HTTP only. */
  tls: TlsMaterial | null;
  presetUser?: string;
  /** The built-in echo app when another process runs it (the primary of `--workers`). */
  builtInUpstream?: string;
  onAccess?: (entry: AccessEntry) => void;
  onWarning?: (message: string) => void;
  /** How long close() lets requests in flight finish before cutting them (ms). */
  gracePeriod?: number;
}

/** A running outpost: where it listens, and an idempotent, graceful close(). */
export interface OutpostHandle {
  httpUrl: string;
  httpsUrl: string | null;
  /** The app requests go to: the configured upstream or the built-in echo app. */
  upstreamUrl: string;
  context: OutpostContext;
  close(): Promise<void>;
}

/**
 * Starts the proxy (SPEC section 9): rules are compiled and everything is checked before
 * anything listens; then HTTP and HTTPS listeners share one request handler.
 */
export async function startOutpost(options: StartOutpostOptions): Promise<OutpostHandle> {
  const { config } = options;
  const where = { file: config.file, fileLines: config.skip_path_regex_lines ?? [] };
  const { paths, warnings } = compileUnauthenticatedPaths(config.skip_path_regex, {
    mode: config.mode,
    ...where,
  });
  for (const warning of warnings) {
    const at = warning.line === null ? 'skip_path_regex' : describeRuleLine(warning.line, where);
    const rule = warning.rule === null ? '' : ` ${JSON.stringify(warning.rule)}`;
    options.onWarning?.(`${at}:${rule} ${warning.message}`);
  }
  // the echo app (and its WebSocket library) is loaded only when it is the upstream
  const echo =
    config.internal_host || options.builtInUpstream
      ? null
      : await import('../echo/echo-app.js').then(({ startEchoApp }) => startEchoApp());
  const upstreamUrl = new URL(config.internal_host ?? options.builtInUpstream ?? echo!.url);
  const context = new OutpostContext({ ...options, paths, upstream: upstreamUrl });
  const upstream = new Upstream({
    verifyTls: config.internal_host_ssl_validation,
    timeout: config.upstream_timeout,
  });
  const handler = new RequestHandler(context, upstream);
  context.provider?.warmUp();

  const servers: Server[] = [];
  try {
    servers.push(
      await listen(
        createHttpServer(serverOptions(config.client_header_timeout)),
        config.host,
        config.port,
        '--port',
      ),
    );
    if (options.tls) {
      const https = createHttpsServer({
        ...serverOptions(config.client_header_timeout),
        cert: options.tls.cert,
        key: options.tls.key,
      });
      servers.push(await listen(https, config.host, config.https_port, '--https-port'));
    }
  } catch (error) {
    await Promise.all(servers.map((server) => closeServer(server, 0)));
    upstream.close();
    await echo?.close();
    throw error;
  }
  for (const server of servers) {
    server.on('request', handler.onRequest);
    server.on('upgrade', handler.onUpgrade);
  }
  return handleOf(
    servers,
    handler,
    upstream,
    echo,
    context,
    upstreamUrl,
    options.gracePeriod ?? 5000,
  );
}

/**
 * Slow or stalled clients (slowloris) are cut off while headers arrive; bodies may stream for as
 * long as they need. Node only checks the headers timeout every `connectionsCheckingInterval`
 * (30 s by default, which let a stalled client hold its connection for up to 50 s), so the check
 * runs at least once a second.
 */
function serverOptions(headersTimeout: number) {
  return {
    headersTimeout,
    requestTimeout: 0,
    keepAliveTimeout: 5_000,
    connectionsCheckingInterval: Math.min(1_000, headersTimeout),
  };
}

function listen(server: Server, host: string, port: number, flag: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, host, port, flag)));
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      server.on('error', () => undefined);
      resolve(server);
    });
  });
}

function listenError(error: unknown, host: string, port: number, flag: string): OutpostError {
  const code = systemErrorCode(error);
  if (code === 'EADDRINUSE') {
    return new OutpostError('PORT_IN_USE', `port ${port} on ${host} is already in use`, {
      hint: `stop what uses it, or choose another port with ${flag}`,
      cause: error,
    });
  }
  const why =
    code === 'EACCES'
      ? 'permission denied'
      : code === 'EADDRNOTAVAIL'
        ? 'no such address here'
        : String(error);
  return new OutpostError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${why}`, {
    hint: `choose another address with --host or another port with ${flag}`,
    cause: error,
  });
}

function handleOf(
  servers: Server[],
  handler: RequestHandler,
  upstream: Upstream,
  echo: EchoAppHandle | null,
  context: OutpostContext,
  upstreamUrl: URL,
  gracePeriod: number,
): OutpostHandle {
  const urls = servers.map((server, index) => urlOf(server, index === 0 ? 'http' : 'https'));
  let closing: Promise<void> | undefined;
  return {
    httpUrl: urls[0]!,
    httpsUrl: urls[1] ?? null,
    upstreamUrl: upstreamUrl.origin,
    context,
    close: () =>
      (closing ??= (async () => {
        await Promise.all(servers.map((server) => closeServer(server, gracePeriod)));
        handler.closeUpgrades();
        context.sessions.close();
        upstream.close();
        await echo?.close();
      })()),
  };
}

function urlOf(server: Server, scheme: 'http' | 'https'): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/** Stops accepting, lets requests in flight finish for up to `gracePeriod`, then cuts the rest. */
function closeServer(server: Server, gracePeriod: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), gracePeriod);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
    server.on('connection', (socket: Socket) => socket.destroy());
  });
}
