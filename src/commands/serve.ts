import { Flags } from '@oclif/core';

import { OutpostCommand } from '../cli/base-command.js';
import { formatAccessEntry } from '../cli/access-log-format.js';
import { watchConfigFile, type ConfigReloadOptions } from '../cli/config-reload.js';
import { LineBatch } from '../cli/line-batch.js';
import { colorsFor } from '../cli/output.js';
import { printServeBanner } from '../cli/serve-banner.js';
import {
  WORKER_UPSTREAM_ENV,
  isServeWorker,
  startWorkers,
  workerChannel,
  workerConfigEnv,
  workerConfigText,
} from '../cli/serve-workers.js';
import { MODES, type OutpostConfig } from '../core/config/config.js';
import { OutpostError } from '../core/errors.js';
import { loadLoggedInIdentity } from '../core/headers/logged-in-identity.js';
import type { Identity } from '../core/identity/identity.js';
import { configFilePath, loadConfig, readConfigText } from '../core/config/load-config.js';
import { PROXY_KINDS, type ProxyKind } from '../core/forward-auth/original-url.js';
import { renderProxyConfig } from '../core/forward-auth/snippets/proxy-config.js';
import { startOutpost } from '../core/proxy/outpost-server.js';
import { probeUpstream } from '../core/proxy/upstream-probe.js';
import { loadTlsMaterial, type TlsMaterial } from '../core/tls/certificate.js';

export default class Serve extends OutpostCommand {
  static override summary = 'Run the proxy in front of your app, signing users in like authentik.';

  static override description = `Listens on http://localhost:9000 and https://localhost:9443 (a self-signed certificate is made once and kept), signs users in (the dev users of outpost.yaml, or akadmin without a config) and forwards each request to your app with the same X-authentik-* headers authentik's proxy outpost sends.

Without a config file and without --upstream, a built-in echo app shows every header it receives.
Flags beat OUTPOST_* environment variables, which beat outpost.yaml, which beats the defaults.`;

  static override examples = [
    { description: 'The built-in echo app behind the proxy', command: '<%= config.bin %> serve' },
    {
      description: 'Your own app',
      command: '<%= config.bin %> serve --upstream http://localhost:3000',
    },
    {
      description: 'Every request signed in as alice (for curl and API tests)',
      command: '<%= config.bin %> serve --user alice',
    },
    {
      description: 'Forward auth behind nginx: print the server block to paste into nginx.conf',
      command:
        '<%= config.bin %> serve --mode forward_single --external-host http://app.localhost:8080 --upstream http://localhost:3000 --print-config nginx',
    },
    {
      description: 'JSON access log on other ports',
      command: '<%= config.bin %> serve --port 8000 --https-port 8443 --log-format json',
    },
  ];

  static override flags = {
    upstream: Flags.string({
      char: 'u',
      summary: 'Your app, e.g. http://localhost:3000 (internal_host).',
    }),
    user: Flags.string({
      summary:
        'Sign every request in as this dev user, or @login for the `outpost login` identity.',
    }),
    port: Flags.integer({ char: 'p', summary: 'HTTP port (default 9000).', min: 0, max: 65535 }),
    'https-port': Flags.integer({ summary: 'HTTPS port (default 9443).', min: 0, max: 65535 }),
    host: Flags.string({ summary: 'Address to listen on (default 127.0.0.1, loopback only).' }),
    cert: Flags.string({ summary: 'PEM certificate for HTTPS instead of the generated one.' }),
    key: Flags.string({ summary: 'PEM private key for --cert.' }),
    mode: Flags.string({
      summary: 'proxy, forward_single or forward_domain.',
      options: [...MODES],
    }),
    'external-host': Flags.string({ summary: 'The URL users type (external_host).' }),
    'rewrite-host': Flags.boolean({
      summary: "Send the app's own host as Host instead of the client's.",
      allowNo: true,
    }),
    'log-format': Flags.string({ summary: 'Access log format.', options: ['pretty', 'json'] }),
    workers: Flags.string({
      summary: 'Processes serving requests: a number, or auto for one per CPU core (default 1).',
      description:
        'The workers share the ports, the sessions and the sign-ins under way; this process supervises them and replaces one that dies.',
    }),
    'print-config': Flags.string({
      summary: 'Print the config for this reverse proxy (forward modes) and exit.',
      description:
        'The auth request, the sign-in redirect, the identity headers to copy (and the forged ones to drop) and the /outpost.goauthentik.io/ route, for the external_host, internal_host and port of this config. Nothing listens.',
      options: [...PROXY_KINDS],
    }),
  };

  public async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    const stateDir = this.stateDirFrom(flags['state-dir']);
    const source = { cwd: process.cwd(), env: process.env, configPath: flags.config };
    const load = (text: string | undefined) =>
      loadConfig({
        ...source,
        ...(text === undefined ? {} : { text }),
        flags: {
          internal_host: flags.upstream,
          port: flags.port,
          https_port: flags['https-port'],
          host: flags.host,
          cert: flags.cert,
          key: flags.key,
          mode: flags.mode,
          external_host: flags['external-host'],
          rewrite_host: flags['rewrite-host'],
          log_format: flags['log-format'],
          workers: flags.workers,
        },
      });
    // a worker starts from the version its primary last saw served, not from a broken save
    const text = workerConfigText() ?? (await readConfigText(source));
    const config = await load(text);
    if (flags['print-config']) {
      process.stdout.write(renderProxyConfig(flags['print-config'] as ProxyKind, config));
      return;
    }
    const reloading = { path: configFilePath(source), load };
    if (isServeWorker()) return this.runWorker(config, stateDir, flags.user, reloading);
    const preset = await presetOf(flags.user ?? process.env.OUTPOST_USER, config, stateDir);
    // made here once, before any worker starts, so that they all share one certificate
    const tls = await loadTlsMaterial({ stateDir, cert: config.cert, key: config.key });
    if (config.workers > 1) return this.runWorkers(config, tls, preset.name, text);

    const accessLog = new LineBatch(process.stdout);
    const handle = await startOutpost({
      ...proxyOptions(config, stateDir, this.config.version, tls, preset),
      onWarning: warn,
      onAccess: (entry) => accessLog.write(formatAccessEntry(entry, config.log_format, out)),
    });
    printServeBanner({ handle, config, tls, presetUser: preset.name, color: out, warn });
    await warnIfUnreachable(config);
    const watcher = watchConfigFile({
      ...reloading,
      current: config,
      apply: (next) => handle.reconfigure(next),
      notice: (message) => {
        accessLog.flush();
        process.stdout.write(`${out.green('config:')} ${message}\n`);
      },
      warn,
    });
    await this.waitForSignal(handle);
    watcher.close();
    accessLog.flush();
  }

  /** `--workers N`: this process supervises N workers and serves nothing itself. */
  private async runWorkers(
    config: OutpostConfig,
    tls: TlsMaterial | null,
    presetName: string | undefined,
    configText: string | undefined,
  ): Promise<void> {
    const echo = config.internal_host
      ? null
      : await import('../core/echo/echo-app.js').then(({ startEchoApp }) => startEchoApp());
    let served = configText;
    const group = await startWorkers({
      count: config.workers,
      env: () => ({
        ...(echo ? { [WORKER_UPSTREAM_ENV]: echo.url } : {}),
        ...workerConfigEnv(served),
      }),
      onApplied: (text) => (served = text),
      onWarning: warn,
      onNotice: (message) => process.stdout.write(`${out.green('config:')} ${message}\n`),
    }).catch(async (error: unknown) => {
      await echo?.close();
      throw error;
    });
    printServeBanner({ handle: group.urls, config, tls, presetUser: presetName, color: out, warn });
    await warnIfUnreachable(config);
    const stopped = this.waitForSignal(group).then(() => null);
    const failure = await Promise.race([stopped, group.failed]);
    if (failure) await group.close();
    await echo?.close();
    if (failure) throw failure;
  }

  /**
   * One worker of `--workers N`: serves, and reports to the primary instead of printing. Each
   * worker reloads the config file itself; the primary prints what they all say once.
   */
  private async runWorker(
    config: OutpostConfig,
    stateDir: string,
    user: string | undefined,
    reloading: Pick<ConfigReloadOptions, 'path' | 'load'>,
  ) {
    const stop = workerChannel.stopRequested();
    try {
      const preset = await presetOf(user ?? process.env.OUTPOST_USER, config, stateDir);
      const tls = await loadTlsMaterial({ stateDir, cert: config.cert, key: config.key });
      const accessLog = new LineBatch(process.stdout);
      const builtIn = process.env[WORKER_UPSTREAM_ENV];
      const handle = await startOutpost({
        ...proxyOptions(config, stateDir, this.config.version, tls, preset),
        ...(builtIn ? { builtInUpstream: builtIn } : {}),
        onWarning: (message) => workerChannel.warning(message),
        onAccess: (entry) => accessLog.write(formatAccessEntry(entry, config.log_format, out)),
      });
      workerChannel.ready(handle);
      const watcher = watchConfigFile({
        ...reloading,
        current: config,
        apply: (next) => handle.reconfigure(next),
        notice: (message) => workerChannel.notice(message),
        onApplied: (text) => workerChannel.applied(text),
        warn: (message) => workerChannel.warning(message),
      });
      await stop;
      watcher.close();
      await handle.close();
      accessLog.flush();
    } catch (error) {
      workerChannel.failed(error);
      process.exitCode = 1;
    }
    // the channel to the primary would keep this process alive
    process.disconnect?.();
  }

  /** SIGINT/SIGTERM: stop accepting, let requests in flight finish, exit 0; twice: exit now. */
  private waitForSignal(handle: { close(): Promise<void> }): Promise<void> {
    return new Promise((resolve) => {
      let stopping = false;
      const stop = () => {
        if (stopping) process.exit(1);
        stopping = true;
        process.stderr.write('stopping: finishing requests in flight (Ctrl-C again to quit now)\n');
        void handle.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  }
}

const out = colorsFor(process.stdout);
const err = colorsFor(process.stderr);
const warn = (message: string) => process.stderr.write(`${err.yellow('warning:')} ${message}\n`);

/** Who `--user` signs every request in as: a dev user, `@login`'s identity, or nobody. */
interface Preset {
  user?: string;
  identity?: Identity;
  /** For the banner. */
  name?: string;
}

async function presetOf(
  requested: string | undefined,
  config: OutpostConfig,
  stateDir: string,
): Promise<Preset> {
  if (requested === undefined) return {};
  if (requested !== LOGGED_IN) return { user: requested, name: requested };
  const identity = await loggedInIdentity(config, stateDir);
  return { identity, name: `${identity.preferred_username} (outpost login)` };
}

function proxyOptions(
  config: OutpostConfig,
  stateDir: string,
  version: string,
  tls: TlsMaterial | null,
  preset: Preset,
) {
  return {
    config,
    stateDir,
    version,
    tls,
    ...(preset.user === undefined ? {} : { presetUser: preset.user }),
    ...(preset.identity ? { presetIdentity: preset.identity } : {}),
  };
}

async function warnIfUnreachable(config: OutpostConfig): Promise<void> {
  if (!config.internal_host) return;
  const unreachable = await probeUpstream(new URL(config.internal_host));
  if (unreachable) {
    warn(
      `${config.internal_host} is not reachable (${unreachable}); requests get a 502 page until it is up`,
    );
  }
}

/** `--user @login`: the identity `outpost login` kept for the configured provider. */
const LOGGED_IN = '@login';

async function loggedInIdentity(config: OutpostConfig, stateDir: string): Promise<Identity> {
  if (!config.oidc) {
    throw new OutpostError(
      'USAGE',
      '--user @login needs a real provider, and the config has no oidc section',
      {
        hint: 'add oidc.issuer and oidc.client_id to outpost.yaml, then run `outpost login`',
      },
    );
  }
  const identity = await loadLoggedInIdentity(config.oidc, stateDir);
  if (identity) return identity;
  throw new OutpostError('NOT_LOGGED_IN', `nobody is logged in to ${config.oidc.issuer}`, {
    hint: 'run `outpost login` first, with the same --state-dir',
  });
}
