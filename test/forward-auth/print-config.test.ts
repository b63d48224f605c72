import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { parse } from 'yaml';

import { loadConfig } from '../../src/core/config/load-config.js';
import { renderProxyConfig } from '../../src/core/forward-auth/snippets/proxy-config.js';
import { isOutpostError } from '../../src/core/errors.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';

const SINGLE = `mode: forward_single
external_host: http://app.localhost:8080
internal_host: http://localhost:3000
port: 9100
basic_auth_enabled: true
basic_auth_password_attribute: app_password
client_id: my-client
users:
  - username: alice
    attributes:
      additionalHeaders:
        X-Tenant: acme
`;

const DOMAIN = `mode: forward_domain
external_host: https://auth.example.test
cookie_domain: .example.test
internal_host: http://127.0.0.1:3000
`;

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function configOf(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-print-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'outpost.yaml'), yaml);
  return loadConfig({ cwd: dir, env: {} });
}

const IDENTITY = [
  'X-Authentik-Username',
  'X-Authentik-Groups',
  'X-Authentik-Entitlements',
  'X-Authentik-Email',
  'X-Authentik-Name',
  'X-Authentik-Uid',
  'X-Authentik-Jwt',
  'X-Authentik-Meta-Jwks',
  'X-Authentik-Meta-Outpost',
  'X-Authentik-Meta-Provider',
  'X-Authentik-Meta-App',
  'X-Authentik-Meta-Version',
  'Authorization',
  'X-Tenant',
];

function lines(text: string): string[] {
  return text.split('\n').map((line) => line.trim());
}

describe('--print-config, forward_single', () => {
  test('nginx: auth_request, the sign-in redirect, every header set from the answer', async () => {
    const text = renderProxyConfig('nginx', await configOf(SINGLE));
    const all = lines(text);
    for (const line of [
      'listen 8080;',
      'server_name app.localhost;',
      'location /outpost.goauthentik.io/ {',
      'location = /outpost.goauthentik.io/auth/nginx {',
      'proxy_pass http://127.0.0.1:9100;',
      'proxy_set_header X-Original-URL $scheme://$http_host$request_uri;',
      'auth_request /outpost.goauthentik.io/auth/nginx;',
      'error_page 401 = @outpost_sign_in;',
      'auth_request_set $outpost_sign_in $upstream_http_x_outpost_sign_in;',
      'return 302 $outpost_sign_in;',
      'auth_request_set $outpost_set_cookie $upstream_http_set_cookie;',
      'add_header Set-Cookie $outpost_set_cookie;',
      'proxy_pass http://localhost:3000;',
    ]) {
      assert.ok(all.includes(line), `missing: ${line}\n${text}`);
    }
    for (const name of IDENTITY) {
      const variable = `$outpost_header_${name.toLowerCase().replaceAll('-', '_')}`;
      assert.ok(all.includes(`proxy_set_header ${name} ${variable};`), name);
      assert.ok(
        all.includes(
          `auth_request_set ${variable} $upstream_http_${name.toLowerCase().replaceAll('-', '_')};`,
        ),
        name,
      );
    }
  });

  test('caddy: forward_auth, the forged headers dropped first, the copy list', async () => {
    const text = renderProxyConfig('caddy', await configOf(SINGLE));
    const all = lines(text);
    assert.ok(all.includes('http://app.localhost:8080 {'));
    const order = [
      'request_header -X-Authentik-*',
      'request_header -*_*',
      'reverse_proxy /outpost.goauthentik.io/* 127.0.0.1:9100',
      'forward_auth 127.0.0.1:9100 {',
      'uri /outpost.goauthentik.io/auth/caddy',
      'copy_headers {',
      ...IDENTITY,
      'request_header @outpost_unset_0 -X-Authentik-Username',
      'reverse_proxy http://localhost:3000',
    ].map((line) => all.indexOf(line));
    assert.ok(!order.includes(-1), text);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'in this order',
    );
  });

  test('traefik: the forwardAuth middleware and the endpoint router, as YAML', async () => {
    const config = parse(renderProxyConfig('traefik', await configOf(SINGLE)));
    const auth = config.http.middlewares.outpost.forwardAuth;
    assert.equal(auth.address, 'http://127.0.0.1:9100/outpost.goauthentik.io/auth/traefik');
    assert.deepEqual(auth.authResponseHeaders, IDENTITY);
    assert.equal(auth.authResponseHeadersRegex, '(?i)^x-authentik-|_');
    assert.deepEqual(auth.addAuthCookiesToResponse, ['authentik_proxy_ea045181']);
    assert.equal(auth.trustForwardHeader, false);
    assert.equal(config.http.routers['outpost-app'].rule, 'Host(`app.localhost`)');
    assert.deepEqual(config.http.routers['outpost-app'].middlewares, ['outpost']);
    assert.equal(
      config.http.routers['outpost-endpoints'].rule,
      'Host(`app.localhost`) && PathPrefix(`/outpost.goauthentik.io/`)',
    );
    assert.equal(
      config.http.services['outpost-app'].loadBalancer.servers[0].url,
      'http://localhost:3000',
    );
  });

  test('envoy: ext_authz with the auth/envoy prefix, as YAML', async () => {
    const config = parse(renderProxyConfig('envoy', await configOf(SINGLE)));
    const listener = config.static_resources.listeners[0];
    assert.equal(listener.address.socket_address.port_value, 8080);
    const manager = listener.filter_chains[0].filters[0].typed_config;
    const authz = manager.http_filters[0].typed_config.http_service;
    assert.equal(authz.path_prefix, '/outpost.goauthentik.io/auth/envoy');
    assert.equal(authz.server_uri.uri, 'http://127.0.0.1:9100');
    assert.deepEqual(
      authz.authorization_response.allowed_upstream_headers.patterns.map(
        (pattern: { exact: string }) => pattern.exact,
      ),
      IDENTITY.map((name) => name.toLowerCase()),
    );
    assert.deepEqual(
      authz.authorization_request.allowed_headers.patterns.map((p: object) => Object.values(p)[0]),
      ['cookie', 'x-forwarded-proto', 'x-authentik-'],
    );
    assert.deepEqual(manager.route_config.virtual_hosts[0].domains, [
      'app.localhost',
      'app.localhost:8080',
    ]);
    const endpoints = manager.route_config.virtual_hosts[0].routes[0];
    assert.equal(endpoints.match.prefix, '/outpost.goauthentik.io/');
    assert.equal(endpoints.typed_per_filter_config['envoy.filters.http.ext_authz'].disabled, true);
    assert.equal(
      manager.common_http_protocol_options.headers_with_underscores_action,
      'DROP_HEADER',
    );
  });
});

describe('--print-config, forward_domain', () => {
  test('every proxy serves the external host as outpost and the app hosts under the domain', async () => {
    const config = await configOf(DOMAIN);
    const nginx = lines(renderProxyConfig('nginx', config));
    assert.ok(nginx.includes('server_name auth.example.test;'));
    assert.ok(nginx.includes('server_name .example.test;'));
    assert.ok(nginx.includes('listen 443 ssl;'));

    const caddy = lines(renderProxyConfig('caddy', config));
    assert.ok(caddy.includes('https://auth.example.test:443 {'));
    assert.ok(caddy.includes('https://*.example.test:443 {'));

    const traefik = parse(renderProxyConfig('traefik', config));
    assert.equal(traefik.http.routers['outpost-app'].rule, 'HostRegexp(`^.+\\.example\\.test$`)');
    assert.match(
      traefik.http.routers['outpost-endpoints'].rule,
      /^Host\(`auth\.example\.test`\) \|\|/,
    );

    const envoy = parse(renderProxyConfig('envoy', config));
    const hosts =
      envoy.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config
        .virtual_hosts;
    assert.deepEqual(hosts[0].domains, ['auth.example.test', 'auth.example.test:443']);
    assert.deepEqual(hosts[1].domains, ['*.example.test', '*.example.test:443']);
  });

  test('a config that cannot make a snippet says everything it lacks', async () => {
    const config = await configOf('mode: forward_domain\n');
    assert.throws(
      () => renderProxyConfig('nginx', config),
      (error: unknown) =>
        isOutpostError(error) &&
        error.code === 'USAGE' &&
        /external_host/.test(error.message) &&
        /internal_host/.test(error.message) &&
        /cookie_domain/.test(error.message),
    );
    const proxy = await configOf('external_host: http://a.localhost\ninternal_host: http://b:1\n');
    assert.throws(() => renderProxyConfig('caddy', proxy), /mode is proxy/);
  });
});

describe('outpost serve --print-config, the built CLI', () => {
  const sandbox = isolatedEnv();
  after(() => sandbox.cleanup());

  test('prints the snippet and exits without listening', async () => {
    // hold the port serve would listen on: it must not even try
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const result = await runCli(
        [
          'serve',
          '--mode',
          'forward_single',
          '--external-host',
          'http://app.localhost:8080',
          '--upstream',
          'http://localhost:3000',
          '--port',
          String(port),
          '--print-config',
          'nginx',
        ],
        { cwd: sandbox.dir, env: sandbox.env },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^# outpost forward auth for nginx \(forward_single\)/);
      assert.ok(result.stdout.includes(`proxy_pass http://127.0.0.1:${port};`));
      assert.equal(result.stderr, '');
    } finally {
      holder.close();
    }
  });

  test('a bad proxy name or a config it cannot use exits 2', async () => {
    const unknown = await runCli(['serve', '--print-config', 'haproxy'], {
      cwd: sandbox.dir,
      env: sandbox.env,
    });
    assert.equal(unknown.code, 2);
    const lacking = await runCli(['serve', '--mode', 'forward_single', '--print-config', 'caddy'], {
      cwd: sandbox.dir,
      env: sandbox.env,
    });
    assert.equal(lacking.code, 2);
    assert.match(lacking.stderr, /external_host is not set/);
    assert.match(lacking.stderr, /internal_host is not set/);
    assert.equal(lacking.stdout, '');
  });
});
