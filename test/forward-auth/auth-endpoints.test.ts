import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { fromWireValue } from '../../src/core/headers/wire.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { ask, identityOf, sessionCookie } from './auth-client.js';

const APP = 'app.localhost:8080';
const USERS = `users:
  - username: alice
    name: Alice Łukasz
    email: alice@example.com
    groups: [staff]
    attributes:
      additionalHeaders:
        X-Tenant: acme
groups:
  - name: staff
`;

const SINGLE = `mode: forward_single
external_host: http://${APP}
internal_host: http://127.0.0.1:3000
skip_path_regex: |
  ^/public/
${USERS}`;

const DOMAIN = `mode: forward_domain
external_host: https://auth.example.test
cookie_domain: example.test
internal_host: http://127.0.0.1:3000
skip_path_regex: |
  ^https://[a-z0-9]+\\.example\\.test/public/
${USERS}`;

/** The headers Traefik v3's forwardAuth sends (GET to the address; see its writeHeader). */
function traefikHeaders(outpost: TestOutpost, uri: string, extra: Record<string, string> = {}) {
  return {
    'User-Agent': 'Mozilla/5.0',
    Accept: 'text/html',
    'X-Forwarded-For': '203.0.113.7',
    'X-Forwarded-Method': 'GET',
    'X-Forwarded-Proto': 'http',
    'X-Forwarded-Host': APP,
    'X-Forwarded-Uri': uri,
    'Accept-Encoding': 'gzip',
    Host: new URL(outpost.httpUrl).host,
    ...extra,
  };
}

/** The check request of Envoy's ext_authz HTTP service: original method, Host and path. */
function envoyRequest(uri: string, extra: Record<string, string> = {}) {
  return {
    path: `/outpost.goauthentik.io/auth/envoy${uri}`,
    method: 'POST',
    headers: {
      host: APP,
      'content-length': '0',
      'x-forwarded-proto': 'http',
      'x-request-id': '0b6a3c2e-6f3b-4d0b-9d43-5b1c1f0d7d2a',
      'x-envoy-expected-rq-timeout-ms': '5000',
      'x-envoy-internal': 'true',
      ...extra,
    },
  };
}

describe('forward auth endpoints, forward_single', () => {
  let outpost: TestOutpost;
  let alice: string;
  before(async () => {
    outpost = await startTestOutpost({ yaml: SINGLE });
    alice = await sessionCookie(outpost, APP, 'alice');
  });
  after(() => outpost?.close());

  test('traefik, signed in: 200 with the identity headers in their casing, UTF-8 bytes', async () => {
    const answer = await ask(outpost, '/outpost.goauthentik.io/auth/traefik', {
      headers: traefikHeaders(outpost, '/reports?year=2024', { Cookie: alice }),
    });
    assert.equal(answer.status, 200);
    const identity = identityOf(answer);
    assert.deepEqual(Object.keys(identity), [
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
    ]);
    assert.equal(identity['X-Authentik-Username'], 'alice');
    assert.equal(identity['X-Authentik-Entitlements'], '');
    assert.equal(identity['X-Authentik-Name'], Buffer.from('Alice Łukasz').toString('latin1'));
    assert.equal(fromWireValue(identity['X-Authentik-Name']!), 'Alice Łukasz');
    assert.equal(identity['X-Authentik-Meta-Jwks'], `http://${APP}/application/o/outpost/jwks/`);
    assert.equal(answer.headers['x-tenant'], 'acme');
    assert.equal(answer.headers['x-forwarded-host'], undefined);
  });

  test('traefik, no session: 302 to sign-in on the app host, rd = the original URL', async () => {
    const answer = await ask(outpost, '/outpost.goauthentik.io/auth/traefik', {
      headers: traefikHeaders(outpost, '/reports?year=2024&q=a%20b'),
    });
    assert.equal(answer.status, 302);
    assert.equal(
      answer.headers.location,
      `http://${APP}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`http://${APP}/reports?year=2024&q=a%20b`)}`,
    );
    assert.deepEqual(identityOf(answer), {});
  });

  test('traefik, public path: 200 with no identity headers', async () => {
    const answer = await ask(outpost, '/outpost.goauthentik.io/auth/traefik', {
      headers: traefikHeaders(outpost, '/public/app.css'),
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(identityOf(answer), {});
  });

  test('a path that only looks public is judged by the path the app will act on', async () => {
    for (const uri of ['/public/../admin', '/public/%2e%2e/admin', '//admin?x=/public/']) {
      const answer = await ask(outpost, '/outpost.goauthentik.io/auth/traefik', {
        headers: traefikHeaders(outpost, uri),
      });
      assert.notEqual(answer.status, 200, uri);
    }
  });

  test('a stale session cookie is cleared along with the redirect', async () => {
    const answer = await ask(outpost, '/outpost.goauthentik.io/auth/caddy', {
      headers: traefikHeaders(outpost, '/x', { Cookie: `${outpost.context.cookieName}=garbled` }),
    });
    assert.equal(answer.status, 302);
    assert.match(
      answer.headers['set-cookie']?.[0] ?? '',
      /^authentik_proxy_[0-9a-f]{8}=; .*Max-Age=0/,
    );
  });

  test('nginx: X-Original-URL; no session is 401 naming the sign-in URL', async () => {
    const original = `http://${APP}/a?b=1&c=2`;
    const anonymous = await ask(outpost, '/outpost.goauthentik.io/auth/nginx', {
      headers: { 'X-Original-URL': original, Host: APP },
    });
    assert.equal(anonymous.status, 401);
    assert.equal(
      anonymous.headers['x-outpost-sign-in'],
      `http://${APP}/outpost.goauthentik.io/start?rd=${encodeURIComponent(original)}`,
    );
    const signedIn = await ask(outpost, '/outpost.goauthentik.io/auth/nginx', {
      headers: { 'X-Original-URL': original, Host: APP, Cookie: alice },
    });
    assert.equal(signedIn.status, 200);
    assert.equal(identityOf(signedIn)['X-Authentik-Username'], 'alice');
  });

  test('nginx: X-Original-URI (a path) with X-Forwarded-Host', async () => {
    const answer = await ask(outpost, '/outpost.goauthentik.io/auth/nginx', {
      headers: { 'X-Original-URI': '/public/x', 'X-Forwarded-Host': APP },
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(identityOf(answer), {});
  });

  test('nginx: a client header the snippet does not overwrite is refused', async () => {
    const answer = await ask(outpost, '/outpost.goauthentik.io/auth/nginx', {
      headers: { 'X-Original-URL': `http://${APP}/x`, Cookie: alice, 'X-Authentik-Admin': '1' },
    });
    assert.equal(answer.status, 403);
    assert.ok(outpost.warnings.some((line) => /x-authentik-admin/i.test(line)));
  });

  test('envoy: the original path after the prefix, its Host, any method', async () => {
    const { path, method, headers } = envoyRequest('/orders/7?expand=items', { cookie: alice });
    const signedIn = await ask(outpost, path, { method, headers });
    assert.equal(signedIn.status, 200);
    assert.equal(identityOf(signedIn)['X-Authentik-Username'], 'alice');

    const anonymous = envoyRequest('/orders/7?expand=items');
    const redirect = await ask(outpost, anonymous.path, anonymous);
    assert.equal(redirect.status, 302);
    assert.equal(
      redirect.headers.location,
      `http://${APP}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`http://${APP}/orders/7?expand=items`)}`,
    );
    const publicPath = envoyRequest('/public/x');
    assert.equal((await ask(outpost, publicPath.path, publicPath)).status, 200);
  });

  test('envoy: forged identity headers are listed for Envoy to remove', async () => {
    const forged = { 'x-authentik-username': 'root', 'x-authentik-impersonate': 'root' };
    const publicPath = envoyRequest('/public/x', forged);
    const open = await ask(outpost, publicPath.path, publicPath);
    assert.equal(open.headers['x-envoy-auth-headers-to-remove'], Object.keys(forged).join(', '));

    const signed = envoyRequest('/private', { ...forged, cookie: alice });
    const allowed = await ask(outpost, signed.path, signed);
    // the username is overwritten by outpost's own value; only the other one must go
    assert.equal(allowed.headers['x-envoy-auth-headers-to-remove'], 'x-authentik-impersonate');
    assert.equal(identityOf(allowed)['X-Authentik-Username'], 'alice');
  });

  test('500 configuration error, with a log line naming the missing header', async () => {
    const cases = [
      ['traefik', { 'X-Forwarded-Proto': 'http', 'X-Forwarded-Host': APP }, /X-Forwarded-Uri/],
      ['caddy', { 'X-Forwarded-Uri': '/x' }, /X-Forwarded-Proto, X-Forwarded-Host/],
      ['nginx', {}, /X-Original-URL/],
    ] as const;
    for (const [kind, headers, named] of cases) {
      const before = outpost.warnings.length;
      const answer = await ask(outpost, `/outpost.goauthentik.io/auth/${kind}`, {
        headers: { ...headers, Cookie: alice },
      });
      assert.equal(answer.status, 500, kind);
      assert.equal(answer.body, 'configuration error\n');
      assert.deepEqual(identityOf(answer), {});
      const logged = outpost.warnings.slice(before).join('\n');
      assert.match(logged, named);
      assert.match(logged, new RegExp(`forward auth \\(${kind}\\)`));
    }
  });

  test('an address outside trusted_proxies is answered as if the URL were missing', async () => {
    for (const kind of ['traefik', 'caddy'] as const) {
      const before = outpost.warnings.length;
      const answer = await ask(outpost, `/outpost.goauthentik.io/auth/${kind}`, {
        headers: traefikHeaders(outpost, '/public/x', { Cookie: alice }),
        localAddress: '127.0.0.2',
      });
      assert.equal(answer.status, 500);
      assert.equal(answer.body, 'configuration error\n');
      assert.match(
        outpost.warnings.slice(before).join('\n'),
        /127\.0\.0\.2 is not in trusted_proxies/,
      );
    }
    const nginx = await ask(outpost, '/outpost.goauthentik.io/auth/nginx', {
      headers: { 'X-Original-URL': `http://${APP}/public/x` },
      localAddress: '127.0.0.2',
    });
    assert.equal(nginx.status, 500);
    const envoy = envoyRequest('/public/x');
    assert.equal(
      (await ask(outpost, envoy.path, { ...envoy, localAddress: '127.0.0.2' })).status,
      500,
    );
  });

  test("every other path is 404; outpost's endpoints still answer", async () => {
    assert.equal((await ask(outpost, '/', { headers: { host: APP } })).status, 404);
    assert.equal((await ask(outpost, '/api/x', { headers: { host: APP } })).status, 404);
    assert.equal((await ask(outpost, '/outpost.goauthentik.io/auth/haproxy')).status, 404);
    assert.equal((await ask(outpost, '/outpost.goauthentik.io/ping')).status, 204);
    const start = await ask(outpost, '/outpost.goauthentik.io/start?rd=%2F', {
      headers: { host: APP },
    });
    assert.equal(start.status, 200);
  });

  test('a WebSocket upgrade is refused in a forward mode', async () => {
    const status = await upgradeStatus(outpost, '/socket');
    assert.equal(status, 'HTTP/1.1 404 Not Found');
  });

  test('forward_single warns once when the app is not at external_host', async () => {
    for (let i = 0; i < 2; i += 1) {
      await ask(outpost, '/outpost.goauthentik.io/auth/traefik', {
        headers: traefikHeaders(outpost, '/x', { 'X-Forwarded-Host': 'other.localhost:8080' }),
      });
    }
    const warned = outpost.warnings.filter((line) => line.includes('other.localhost:8080'));
    assert.equal(warned.length, 1);
    assert.match(warned[0]!, /is not external_host/);
  });
});

describe('forward auth endpoints, forward_domain', () => {
  let outpost: TestOutpost;
  let alice: string;
  before(async () => {
    outpost = await startTestOutpost({ yaml: DOMAIN });
    alice = await sessionCookie(outpost, 'auth.example.test', 'alice');
  });
  after(() => outpost?.close());

  const caddy = (host: string, uri: string, extra: Record<string, string> = {}) => ({
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Host': host,
    'X-Forwarded-Uri': uri,
    'X-Forwarded-Method': 'GET',
    'X-Forwarded-For': '127.0.0.1',
    Host: host,
    ...extra,
  });

  test('the session cookie is set for cookie_domain', async () => {
    const answer = await ask(outpost, '/outpost.goauthentik.io/start?user=alice', {
      headers: { host: 'auth.example.test' },
    });
    assert.match(answer.headers['set-cookie']?.[0] ?? '', /; Domain=example\.test;.*; Secure/);
  });

  test('any app host under the cookie domain gets the identity', async () => {
    for (const host of ['app1.example.test', 'app2.example.test']) {
      const answer = await ask(outpost, '/outpost.goauthentik.io/auth/caddy', {
        headers: caddy(host, '/x', { Cookie: alice }),
      });
      assert.equal(answer.status, 200, host);
      assert.equal(identityOf(answer)['X-Authentik-Username'], 'alice');
      assert.equal(
        identityOf(answer)['X-Authentik-Meta-Jwks'],
        'https://auth.example.test/application/o/outpost/jwks/',
      );
    }
  });

  test('sign-in happens on the external host', async () => {
    const answer = await ask(outpost, '/outpost.goauthentik.io/auth/caddy', {
      headers: caddy('app1.example.test', '/x?y=1'),
    });
    assert.equal(answer.status, 302);
    assert.equal(
      answer.headers.location,
      `https://auth.example.test/outpost.goauthentik.io/start?rd=${encodeURIComponent('https://app1.example.test/x?y=1')}`,
    );
  });

  test('the rules see the full URL, host included', async () => {
    const onApp = await ask(outpost, '/outpost.goauthentik.io/auth/caddy', {
      headers: caddy('app1.example.test', '/public/a'),
    });
    assert.equal(onApp.status, 200);
    const elsewhere = await ask(outpost, '/outpost.goauthentik.io/auth/caddy', {
      headers: caddy('app1.evil.test', '/public/a'),
    });
    assert.equal(elsewhere.status, 302);
  });

  test('rd is kept for hosts under cookie_domain on a dot boundary only', async () => {
    const start = (rd: string) =>
      ask(outpost, `/outpost.goauthentik.io/start?user=alice&rd=${encodeURIComponent(rd)}`, {
        headers: { host: 'auth.example.test' },
      });
    assert.equal(
      (await start('https://app1.example.test/x')).headers.location,
      'https://app1.example.test/x',
    );
    assert.equal(
      (await start('https://evilexample.test/x')).headers.location,
      'https://auth.example.test/',
    );
  });
});

/** The status line outpost answers a WebSocket handshake with. */
function upgradeStatus(outpost: TestOutpost, path: string): Promise<string> {
  const target = new URL(outpost.httpUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${APP}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
    });
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('end', () => resolve(data.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}
