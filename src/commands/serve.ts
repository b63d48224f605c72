import { Flags } from '@oclif/core';

import { OutpostCommand } from '../cli/base-command.js';
import { formatAccessEntry } from '../cli/access-log-format.js';
import { LineBatch } from '../cli/line-batch.js';
import { colorsFor } from '../cli/output.js';
import { printServeBanner } from '../cli/serve-banner.js';
import { MODES, type OutpostConfig } from '../core/config/config.js';
import { OutpostError } from '../core/errors.js';
import { loadLoggedInIdentity } from '../core/headers/logged-in-identity.js';
import type { Identity } from '../core/identity/identity.js';
import { loadConfig } from '../core/config/load-config.js';
import { PROXY_KINDS, type ProxyKind } from '../core/forward-auth/original-url.js';
import { renderProxyConfig } from '../core/forward-auth/snippets/proxy-config.js';
import { startOutpost, type OutpostHandle } from '../core/proxy/outpost-server.js';
import { probeUpstream } from '../core/proxy/upstream-probe.js';
import { loadTlsMaterial } from '../core/tls/certificate.js';

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
    const config = await loadConfig({
      cwd: process.cwd(),
      env: process.env,
      configPath: flags.config,
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
      },
    });
    if (flags['print-config']) {
      process.stdout.write(renderProxyConfig(flags['print-config'] as ProxyKind, config));
      return;
    }
    const requested = flags.user ?? process.env.OUTPOST_USER;
    const presetIdentity =
      requested === LOGGED_IN ? await loggedInIdentity(config, stateDir) : undefined;
    const presetUser = requested === LOGGED_IN ? undefined : requested;
    const tls = await loadTlsMaterial({ stateDir, cert: config.cert, key: config.key });
    const out = colorsFor(process.stdout);
    const err = colorsFor(process.stderr);
    const warn = (message: string) =>
      process.stderr.write(`${err.yellow('warning:')} ${message}\n`);

    const accessLog = new LineBatch(process.stdout);
    const handle = await startOutpost({
      config,
      stateDir,
      version: this.config.version,
      tls,
      ...(presetUser === undefined ? {} : { presetUser }),
      ...(presetIdentity ? { presetIdentity } : {}),
      onWarning: warn,
      onAccess: (entry) => accessLog.write(formatAccessEntry(entry, config.log_format, out)),
    });
    const presetName = presetIdentity
      ? `${presetIdentity.preferred_username} (outpost login)`
      : presetUser;
    printServeBanner({ handle, config, tls, presetUser: presetName, color: out, warn });
    const unreachable = config.internal_host
      ? await probeUpstream(new URL(config.internal_host))
      : null;
    if (unreachable) {
      warn(
        `${config.internal_host} is not reachable (${unreachable}); requests get a 502 page until it is up`,
      );
    }
    await this.waitForSignal(handle);
    accessLog.flush();
  }

  /** SIGINT/SIGTERM: stop accepting, let requests in flight finish, exit 0; twice: exit now. */
  private waitForSignal(handle: OutpostHandle): Promise<void> {
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
