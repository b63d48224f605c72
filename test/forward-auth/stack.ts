import { renderProxyConfig } from '../../src/core/forward-auth/snippets/proxy-config.js';
import { freePort } from '../helpers/free-port.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startCaddy } from '../helpers/caddy.js';
import { startNginx } from '../helpers/nginx.js';
import { PortTakenError, type ProxyProcess } from '../helpers/proxy-process.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';

export type RealProxy = 'nginx' | 'caddy';
export type ForwardMode = 'forward_single' | 'forward_domain';

/** A real reverse proxy, configured by outpost's printed snippet, in front of a recording app. */
export interface Stack {
  proxy: ProxyProcess;
  outpost: TestOutpost;
  upstream: RecordingUpstream;
  /** `http://<host>:<proxy port>`: an origin users type, e.g. `origin('app1')`. */
  origin(label: string): string;
  /** The snippet the proxy runs with (port filled in). */
  snippet: string;
  close(): Promise<void>;
}

export const COOKIE_DOMAIN = 'outpost.localhost';

const USERS = `users:
  - username: alice
    name: Alice Łukasz
    email: alice@example.com
    groups: [staff]
    attributes:
      additionalHeaders:
        X-Tenant: acme
  - username: bob
    email: bob@example.com
groups:
  - name: staff
`;

/** The outpost.yaml for one mode; `app.outpost.localhost` is forward_single's app host. */
export function yamlFor(mode: ForwardMode, port: number, upstreamUrl: string): string {
  const common = `mode: ${mode}\ninternal_host: ${upstreamUrl}\n${USERS}`;
  if (mode === 'forward_single') {
    return `external_host: http://app.${COOKIE_DOMAIN}:${port}
skip_path_regex: |
  ^/public/
${common}`;
  }
  return `external_host: http://auth.${COOKIE_DOMAIN}:${port}
cookie_domain: ${COOKIE_DOMAIN}
skip_path_regex: |
  ^http://[a-z0-9]+\\.outpost\\.localhost(:[0-9]+)?/public/
${common}`;
}

/**
 * Starts the recording app, outpost (in process, ports 0, config read by loadConfig from a YAML
 * file) and the real nginx or Caddy from the snippet outpost prints. The proxy's port goes into
 * external_host first, so a port taken in the meantime restarts the whole stack on another one.
 */
export async function startStack(kind: RealProxy, mode: ForwardMode): Promise<Stack> {
  const upstream = await startRecordingUpstream();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const outpost = await startTestOutpost({ yaml: yamlFor(mode, port, upstream.url) });
    const snippet = renderProxyConfig(kind, outpost.context.config, outpost.httpUrl);
    try {
      const start = kind === 'nginx' ? startNginx : startCaddy;
      const proxy = await start(() => snippet, port);
      return stackOf(proxy, outpost, upstream, snippet);
    } catch (error) {
      await outpost.close();
      if (!(error instanceof PortTakenError)) {
        await upstream.close();
        throw error;
      }
    }
  }
  await upstream.close();
  throw new Error(`${kind}: no free port after 5 attempts`);
}

function stackOf(
  proxy: ProxyProcess,
  outpost: TestOutpost,
  upstream: RecordingUpstream,
  snippet: string,
): Stack {
  return {
    proxy,
    outpost,
    upstream,
    snippet,
    origin: (label) => `http://${label}.${COOKIE_DOMAIN}:${proxy.port}`,
    close: async () => {
      await proxy.stop();
      await outpost.close();
      await upstream.close();
    },
  };
}
