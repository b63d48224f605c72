import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

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
  /** The context new requests get; a reconfigure() replaces it. */
  readonly context: OutpostContext;
  /**
   * Serves new requests with `config` (an edited outpost.yaml) on the same listeners; requests
   * in flight finish with the old one. Sessions stay where the client id keeps them.
   *
   * @throws OutpostError when `config` cannot be served (a rule that does not compile, a
   * `--user` no longer configured); the old configuration then stays in force.
   */
  reconfigure(config: OutpostConfig): Promise<Reconfigured>;
  close(): Promise<void>;
}

/** What a reconfigure() did. */
export interface Reconfigured {
  /** Settings that changed but only take effect when serve starts again (ports, TLS, ...). */
  needRestart: string[];
}

/** Settings fixed while serve runs: the listeners, the process model, the access log's form. */
export const RESTART_KEYS = [
  'host',
  'port',
  'https_port',
  'cert',
  'key',
  'client_header_timeout',
  'workers',
  'log_format',
] as const satisfies readonly (keyof OutpostConfig)[];

/**
 * Starts the proxy (SPEC section 9): rules are compiled and everything is checked before
 * anything listens; then HTTP and HTTPS listeners share one request handler.
 */
export async function startOutpost(options: StartOutpostOptions): Promise<OutpostHandle> {
  const running = new RunningOutpost(options);
  running.current = await running.prepare(options.config);
  const { config } = options;
  // each server answers from its first connection: a worker of --workers gets connections as
  // soon as its HTTP port listens, while its HTTPS port may still be binding
  const serving = (server: Server) =>
    server.on('request', running.onRequest).on('upgrade', running.onUpgrade);
  const servers: Server[] = [];
  try {
    const http = serving(createHttpServer(serverOptions(config.client_header_timeout)));
    servers.push(await listen(http, config.host, config.port, '--port'));
    if (options.tls) {
      const https = serving(
        createHttpsServer({
          ...serverOptions(config.client_header_timeout),
          cert: options.tls.cert,
          key: options.tls.key,
        }),
      );
      servers.push(await listen(https, config.host, config.https_port, '--https-port'));
    }
  } catch (error) {
    await Promise.all(servers.map((server) => closeServer(server, 0)));
    await running.close();
    throw error;
  }
  // the provider is asked only once outpost listens: a port in use stops it before that
  running.current.context.provider?.warmUp();
  const urls = servers.map((server, index) => urlOf(server, index === 0 ? 'http' : 'https'));
  const gracePeriod = options.gracePeriod ?? 5000;
  let closing: Promise<void> | undefined;
  return {
    httpUrl: urls[0]!,
    httpsUrl: urls[1] ?? null,
    get upstreamUrl() {
      return running.current.context.options.upstream.origin;
    },
    get context() {
      return running.current.context;
    },
    reconfigure: (next) => running.reconfigure(next),
    close: () =>
      (closing ??= (async () => {
        await Promise.all(servers.map((server) => closeServer(server, gracePeriod)));
        await running.close();
      })()),
  };
}

/** One configuration being served: its context and the handler built on it. */
interface Generation {
  config: OutpostConfig;
  context: OutpostContext;
  handler: RequestHandler;
}

/**
 * What the listeners serve: the current generation, replaced whole when the configuration is
 * reloaded, plus what generations share (the upstream connection pools, the built-in echo app).
 */
class RunningOutpost {
  current!: Generation;
  private readonly upstreams: Upstream[] = [];
  /** Open WebSocket connections, which the HTTP server's close() does not wait for or end. */
  private readonly upgraded = new Set<Duplex>();
  private echo: EchoAppHandle | null = null;

  constructor(private readonly options: StartOutpostOptions) {}

  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void =>
    this.current.handler.onRequest(req, res);

  readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    this.current.handler.onUpgrade(req, socket, head);
  };

  /**
   * Compiles the rules and builds everything `config` needs before anything is served with it.
   * The provider is not contacted until the generation is served.
   */
  async prepare(config: OutpostConfig): Promise<Generation> {
    const where = { file: config.file, fileLines: config.skip_path_regex_lines ?? [] };
    const { paths, warnings } = compileUnauthenticatedPaths(config.skip_path_regex, {
      mode: config.mode,
      ...where,
    });
    for (const warning of warnings) {
      const at = warning.line === null ? 'skip_path_regex' : describeRuleLine(warning.line, where);
      const rule = warning.rule === null ? '' : ` ${JSON.stringify(warning.rule)}`;
      this.options.onWarning?.(`${at}:${rule} ${warning.message}`);
    }
    const upstreamUrl = new URL(
      config.internal_host ?? this.options.builtInUpstream ?? (await this.echoUrl()),
    );
    const context = new OutpostContext({ ...this.options, config, paths, upstream: upstreamUrl });
    return { config, context, handler: new RequestHandler(context, this.upstreamFor(config)) };
  }

  serve(generation: Generation): void {
    // requests in flight finish with the old generation; its sessions stop following the disk
    this.current?.context.sessions.close();
    this.current = generation;
    generation.context.provider?.warmUp();
  }

  async reconfigure(config: OutpostConfig): Promise<Reconfigured> {
    const before = this.current.config;
    const needRestart = RESTART_KEYS.filter(
      (key) => JSON.stringify(before[key]) !== JSON.stringify(config[key]),
    );
    // the listeners keep their settings, so the configuration served must say what they use
    const kept = { ...config };
    for (const key of needRestart) Object.assign(kept, { [key]: before[key] });
    this.serve(await this.prepare(kept));
    return { needRestart };
  }

  /** Ends what outlives the listeners: WebSockets, session watching, pools, the echo app. */
  async close(): Promise<void> {
    for (const socket of this.upgraded) socket.destroy();
    this.upgraded.clear();
    this.current?.context.sessions.close();
    for (const upstream of this.upstreams) upstream.close();
    await this.echo?.close();
  }

  /** The built-in echo app, started the first time a configuration names no app. */
  private async echoUrl(): Promise<string> {
    // the echo app (and its WebSocket library) is loaded only when it is the upstream
    if (!this.echo) {
      const { startEchoApp } = await import('../echo/echo-app.js');
      this.echo = await startEchoApp();
    }
    return this.echo.url;
  }

  /** A pool per TLS and timeout setting, shared across reloads that keep them. */
  private upstreamFor(config: OutpostConfig): Upstream {
    const wanted = {
      verifyTls: config.internal_host_ssl_validation,
      timeout: config.upstream_timeout,
    };
    const same = this.upstreams.find(
      (upstream) =>
        upstream.options.verifyTls === wanted.verifyTls &&
        upstream.options.timeout === wanted.timeout,
    );
    if (same) return same;
    const upstream = new Upstream(wanted);
    this.upstreams.push(upstream);
    return upstream;
  }
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
