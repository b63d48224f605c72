import type { Mode, OutpostConfig } from '../../config/config.js';
import { OutpostError } from '../../errors.js';
import { sessionCookieName } from '../../session/cookies.js';
import { copiedHeaderNames } from '../copied-headers.js';

/** Everything a reverse-proxy snippet names, worked out once from the config. */
export interface SnippetPlan {
  mode: Exclude<Mode, 'proxy'>;
  /** Where the reverse proxy reaches outpost, e.g. `http://127.0.0.1:9000`. */
  outpostUrl: string;
  /** `127.0.0.1:9000`. */
  outpostAddress: string;
  /** The app behind the reverse proxy (internal_host), e.g. `http://127.0.0.1:3000`. */
  appUrl: string;
  /** external_host: the URL users type (forward_single: the app's; forward_domain: sign-in's). */
  external: URL;
  /** The port the reverse proxy listens on for every site of the snippet. */
  listenPort: number;
  /** forward_single: the app's host name; forward_domain: cookie_domain without its dot. */
  appDomain: string;
  cookieName: string;
  /** Header names (canonical) the proxy copies from outpost's 200 answer onto the request. */
  headers: string[];
}

/**
 * Checks that the config says enough to write a snippet (a forward mode, external_host,
 * internal_host, and cookie_domain in forward_domain) and works out the names it uses.
 * @throws OutpostError USAGE naming everything that is missing at once.
 */
export function planSnippet(config: OutpostConfig, outpostUrl: string): SnippetPlan {
  const problems = missingSettings(config);
  if (problems.length > 0 || config.mode === 'proxy') {
    throw new OutpostError(
      'USAGE',
      `--print-config cannot write a snippet:\n  ${problems.join('\n  ')}`,
      {
        problems,
        hint: 'e.g. outpost serve --mode forward_single --external-host http://app.localhost:8080 --upstream http://localhost:3000 --print-config nginx',
      },
    );
  }
  const external = new URL(config.external_host!);
  return {
    mode: config.mode,
    outpostUrl,
    outpostAddress: new URL(outpostUrl).host,
    appUrl: new URL(config.internal_host!).origin,
    external,
    listenPort: Number(external.port || (external.protocol === 'https:' ? 443 : 80)),
    appDomain:
      config.mode === 'forward_domain'
        ? config.cookie_domain.replace(/^\./, '')
        : external.hostname,
    cookieName: sessionCookieName(config.client_id),
    headers: copiedHeaderNames(config),
  };
}

function missingSettings(config: OutpostConfig): string[] {
  const problems: string[] = [];
  if (config.mode === 'proxy') {
    problems.push('mode is proxy: forward auth needs mode forward_single or forward_domain');
  }
  if (!config.external_host) {
    problems.push(
      "external_host is not set: the URL users type (forward_single: the app's URL through the reverse proxy)",
    );
  }
  if (!config.internal_host) {
    problems.push('internal_host is not set: the app the reverse proxy sends requests to');
  }
  if (config.mode === 'forward_domain' && !config.cookie_domain) {
    problems.push('cookie_domain is not set: the domain every app host shares the session under');
  }
  return problems;
}

/** The address the reverse proxy uses for outpost: its listen address, wildcards as loopback. */
export function outpostUrlFor(config: OutpostConfig): string {
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return `http://${bracketed}:${config.port}`;
}
