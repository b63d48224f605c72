import type { ChalkInstance } from 'chalk';

import type { OutpostConfig } from '../core/config/config.js';
import type { OutpostHandle } from '../core/proxy/outpost-server.js';
import type { TlsMaterial } from '../core/tls/certificate.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** What `serve` says once it listens: where, in front of what, who can sign in, and warnings. */
export function printServeBanner(options: {
  handle: Pick<OutpostHandle, 'httpUrl' | 'httpsUrl' | 'upstreamUrl'>;
  config: OutpostConfig;
  tls: TlsMaterial | null;
  presetUser: string | undefined;
  color: ChalkInstance;
  warn: (message: string) => void;
}): void {
  const { handle, config, tls, color } = options;
  const app = config.internal_host ?? `${handle.upstreamUrl} (built-in echo app)`;
  const target =
    config.mode === 'proxy'
      ? `->  ${app}`
      : `forward auth at /outpost.goauthentik.io/auth/{nginx,traefik,caddy,envoy} (see --print-config)`;
  const lines = [
    `${color.bold('outpost')} ${config.mode} mode · ${config.name} · config: ${config.file ? `${config.file} (reloaded on save)` : 'none (defaults)'}${config.workers > 1 ? ` · ${config.workers} workers` : ''}`,
    `  ${color.cyan(friendly(handle.httpUrl))}  ${target}`,
  ];
  if (handle.httpsUrl) {
    const origin = tls?.generated === false && tls.certPath ? tls.certPath : 'self-signed';
    lines.push(
      `  ${color.cyan(friendly(handle.httpsUrl))}  (certificate: ${tls?.certPath ?? origin})`,
    );
  }
  lines.push(
    options.presetUser === undefined
      ? `  sign-in: dev users ${config.users.map((user) => user.username).join(', ')}`
      : `  every request is signed in as ${color.bold(options.presetUser)}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const warning of config.warnings) options.warn(warning);
  if (!LOOPBACK.has(config.host)) {
    options.warn(
      `listening on ${config.host}: other machines can reach this dev proxy and its dev users`,
    );
  }
  if (!config.internal_host_ssl_validation) {
    options.warn("internal_host_ssl_validation is false: the app's certificate is not checked");
  }
}

function friendly(url: string): string {
  return url.replace('://127.0.0.1:', '://localhost:').replace('://[::1]:', '://localhost:');
}
