// The scenarios of authentik's own Go tests of its proxy outpost
// (internal/outpost/proxyv2/application/*_test.go), replayed as black-box checks against a real
// outpost: same inputs, same observable answer. authentik's tests call internal functions; here
// each input arrives over HTTP and each answer is read where a browser or the app would see it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { startOidcStack, type OidcStack } from '../hardening/oidc-stack.js';
import { headersJson } from '../headers/support.js';
import { freePort } from '../helpers/free-port.js';
import { CookieJar, request, type Response } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost, type TestOutpostOptions } from '../helpers/outpost.js';
import {
  authentikHeaders,
  headerValues,
  startRecordingUpstream,
  type RecordingUpstream,
} from '../helpers/recording-upstream.js';

const START = '/outpost.goauthentik.io/start';
const CALLBACK = '/outpost.goauthentik.io/callback?X-authentik-auth-callback=true';
const VERSION = 'goauthentik.io/outpost/0.0.0-test';

/** authentik's test provider (test.go): a name, basic auth on, no slug, no outpost name. */
const provider = (upstream: string, extra: string[] = []) =>
  [
    'name: test-provider',
    "assigned_application_slug: ''",
    "outpost_name: ''",
    `internal_host: ${upstream}`,
    'basic_auth_enabled: true',
    'basic_auth_user_attribute: user',
    'basic_auth_password_attribute: pass',
    ...extra,
  ].join('\n');

/** The user every header case of mode_common_test.go builds its claims for. */
const userFoo = (attributes: string[] = []) => [
  'users:',
  '  - username: foo',
  '    name: foo',
  '    email: bar@authentik.company',
  '    uid: bar',
  '    groups: [foo, bar]',
  '    entitlements: [bar, quox]',
  ...(attributes.length > 0
    ? ['    attributes:', ...attributes.map((line) => `      ${line}`)]
    : []),
];

/** Runs `use` against a fresh outpost and always closes it. */
async function withOutpost(
  options: TestOutpostOptions,
  use: (outpost: TestOutpost) => Promise<void>,
): Promise<void> {
  const outpost = await startTestOutpost(options);
  try {
    await use(outpost);
  } finally {
    await outpost.close();
  }
}

/** Signs `jar` in as a dev user through `start?user=`, landing on `rd`; returns start's answer. */
function signInAs(outpost: TestOutpost, jar: CookieJar, user: string, rd: string) {
  const query = new URLSearchParams({ user, rd });
  return request(`${outpost.httpUrl}${START}?${query}`, { jar });
}

/** The Set-Cookie line for a cookie name, or undefined. */
function setCookie(res: Response, name: string): string | undefined {
  return res.headers['set-cookie']?.find((line) => line.startsWith(`${name}=`));
}

/** The claims of a JWT, unverified (the signature is checked in test/headers). */
function claimsOf(token: string | undefined): Record<string, unknown> {
  assert.ok(token, 'a token arrived');
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

describe('authentik mode_common_test.go: identity headers at the app', () => {
  let app: RecordingUpstream;
  before(async () => {
    app = await startRecordingUpstream();
  });
  after(() => app.close());

  /** The twelve headers of TestAdHeaders_Standard, as outpost sends them for user foo. */
  const standardHeaders = (origin: string) => ({
    'X-Authentik-Username': 'foo',
    'X-Authentik-Groups': 'foo|bar',
    'X-Authentik-Entitlements': 'bar|quox',
    'X-Authentik-Email': 'bar@authentik.company',
    'X-Authentik-Name': 'foo',
    'X-Authentik-Uid': 'bar',
    // authentik's test app has no OIDC endpoints, so its JWKS value is empty; a dev user's token
    // names outpost's issuer, built from the (here empty) application slug
    'X-Authentik-Meta-Jwks': `${origin}/application/o//jwks/`,
    'X-Authentik-Meta-Outpost': '',
    'X-Authentik-Meta-Provider': 'test-provider',
    'X-Authentik-Meta-App': '',
    'X-Authentik-Meta-Version': VERSION,
  });

  /** What the app got for GET /, without the JWT (checked by its claims instead). */
  async function arrivedFor(outpost: TestOutpost, headers: Record<string, string> = {}) {
    const res = await request(`${outpost.httpUrl}/`, { headers });
    assert.equal(res.status, 200);
    const got = authentikHeaders(app.last());
    const jwt = got['X-Authentik-Jwt'];
    delete got['X-Authentik-Jwt'];
    return { got, jwt, received: app.last() };
  }

  it('TestAdHeaders_Standard: exactly the twelve headers, empty ones included, no Basic auth (Meta-Version names outpost: README Limits)', async () => {
    await withOutpost(
      { yaml: provider(app.url, userFoo()), presetUser: 'foo' },
      async (outpost) => {
        const { got, jwt, received } = await arrivedFor(outpost);
        assert.deepEqual(got, standardHeaders(outpost.httpUrl));
        // authentik's claims carry the raw token "baz"; a dev user's token is a signed JWT
        assert.equal(claimsOf(jwt).sub, 'bar');
        assert.equal(claimsOf(jwt).preferred_username, 'foo');
        // basic auth is on, but the user has no password attribute: no Authorization
        assert.deepEqual(headerValues(received, 'authorization'), []);
      },
    );
  });

  it('TestClaimsWithEmptyArrays: no groups and no entitlements still send both headers, empty', async () => {
    const yaml = provider(app.url, [
      'users:',
      '  - username: user-id-123',
      '    groups: []',
      '    entitlements: []',
    ]);
    await withOutpost({ yaml, presetUser: 'user-id-123' }, async (outpost) => {
      const { got } = await arrivedFor(outpost);
      assert.equal(got['X-Authentik-Groups'], '');
      assert.equal(got['X-Authentik-Entitlements'], '');
      assert.equal(got['X-Authentik-Email'], '');
    });
  });

  it('TestAdHeaders_BasicAuth: Authorization is Basic of the user and pass attributes', async () => {
    const yaml = provider(app.url, userFoo(['user: foo', 'pass: baz']));
    await withOutpost({ yaml, presetUser: 'foo' }, async (outpost) => {
      const { got, received } = await arrivedFor(outpost);
      assert.deepEqual(got, standardHeaders(outpost.httpUrl));
      assert.deepEqual(headerValues(received, 'authorization'), ['Basic Zm9vOmJheg==']);

      // `outpost headers --json` promises the same answer without any traffic
      const cli = await runHeadersJson(outpost, 'foo');
      assert.equal(cli.Authorization, 'Basic Zm9vOmJheg==');
      assert.equal(cli['X-Authentik-Uid'], 'bar');
      assert.equal(cli['X-Authentik-Groups'], 'foo|bar');
    });
  });

  it('TestAdHeaders_Extra: an additionalHeaders key foo arrives as Foo: bar, after the twelve', async () => {
    const yaml = provider(app.url, userFoo(['additionalHeaders:', '  foo: bar']));
    await withOutpost({ yaml, presetUser: 'foo' }, async (outpost) => {
      const { got, received } = await arrivedFor(outpost);
      assert.deepEqual(got, standardHeaders(outpost.httpUrl));
      assert.deepEqual(
        received.headers.filter(([name]) => name.toLowerCase() === 'foo'),
        [['Foo', 'bar']],
      );
      assert.deepEqual(headerValues(received, 'authorization'), []);
    });
  });

  it('TestAdHeaders_UnderscoreInitial: X_AUTHENTIK_USERNAME and X-Authentik_username never arrive', async () => {
    await withOutpost(
      { yaml: provider(app.url, userFoo()), presetUser: 'foo' },
      async (outpost) => {
        const { got, received } = await arrivedFor(outpost, {
          X_AUTHENTIK_USERNAME: 'another user',
          'X-Authentik_username': 'another user',
        });
        assert.deepEqual(got, standardHeaders(outpost.httpUrl));
        assert.deepEqual(
          received.headers.filter(([name]) => name.includes('_')),
          [],
        );
      },
    );
  });

  it('TestIsAllowlisted_Proxy_Single: no rule protects every path; ^/foo makes http://some-host/foo public', async () => {
    await withOutpost({ yaml: provider(app.url, userFoo()) }, async (outpost) => {
      const res = await request(`${outpost.httpUrl}/`);
      assert.equal(res.status, 302);
    });
    const yaml = provider(app.url, ["skip_path_regex: '^/foo'", ...userFoo()]);
    await withOutpost({ yaml }, async (outpost) => {
      const res = await request(`${outpost.httpUrl}/foo`, { headers: { host: 'some-host' } });
      assert.equal(res.status, 200);
      assert.equal(app.last().url, '/foo');
      assert.deepEqual(authentikHeaders(app.last()), {}, 'a public request carries no identity');
    });
  });

  it('TestIsAllowlisted_Proxy_Domain: forward_domain rules see the full URL', async () => {
    const ask = (outpost: TestOutpost, url: string) => {
      const target = new URL(url);
      return request(`${outpost.httpUrl}/outpost.goauthentik.io/auth/traefik`, {
        headers: {
          'X-Forwarded-Proto': target.protocol.slice(0, -1),
          'X-Forwarded-Host': target.host,
          'X-Forwarded-Uri': `${target.pathname}${target.search}`,
        },
      });
    };
    const domain = (rule: string) =>
      provider(app.url, [
        'mode: forward_domain',
        'external_host: https://auth.domain.tld',
        'cookie_domain: domain.tld',
        `skip_path_regex: '${rule}'`,
        ...userFoo(),
      ]);
    const verdicts = async (rule: string, urls: string[]) => {
      const statuses: number[] = [];
      await withOutpost({ yaml: domain(rule) }, async (outpost) => {
        for (const url of urls) statuses.push((await ask(outpost, url)).status);
      });
      return statuses;
    };
    // 200: let through without a session; 302: sent to sign in
    assert.deepEqual(await verdicts('^/foo', ['http://some-host/foo']), [302]);
    assert.deepEqual(await verdicts('^http://some-host/foo', ['http://some-host/foo']), [200]);
    assert.deepEqual(
      await verdicts('https://health.domain.tld/ping/*', [
        'http://some-host/foo',
        'https://health.domain.tld/',
        'https://health.domain.tld/ping/qq',
      ]),
      [302, 302, 200],
    );
  });
});

describe('authentik mode_proxy_test.go: the request the app receives', () => {
  let app: RecordingUpstream;
  let other: RecordingUpstream;
  before(async () => {
    app = await startRecordingUpstream();
    other = await startRecordingUpstream();
  });
  after(async () => {
    await app.close();
    await other.close();
  });

  it('TestProxy_ModifyRequest: /foo reaches the backend with Host and X-Forwarded-Host frontend', async () => {
    await withOutpost(
      { yaml: provider(app.url, userFoo()), presetUser: 'foo' },
      async (outpost) => {
        const res = await request(`${outpost.httpUrl}/foo`, { headers: { host: 'frontend' } });
        assert.equal(res.status, 200);
        const got = app.last();
        assert.equal(got.url, '/foo');
        assert.deepEqual(headerValues(got, 'host'), ['frontend']);
        assert.deepEqual(headerValues(got, 'X-Forwarded-Host'), ['frontend']);
      },
    );
  });

  it("TestProxy_ModifyRequest_Claims: a backend_override replaces the backend's host, Host stays", async () => {
    const yaml = provider(app.url, [...userFoo(), `    backend_override: ${other.url}`]);
    await withOutpost({ yaml, presetUser: 'foo' }, async (outpost) => {
      const asked = app.received.length;
      const res = await request(`${outpost.httpUrl}/foo`, { headers: { host: 'frontend' } });
      assert.equal(res.status, 200);
      assert.equal(other.last().url, '/foo');
      assert.deepEqual(headerValues(other.last(), 'host'), ['frontend']);
      assert.equal(app.received.length, asked, 'the configured backend is not asked');
    });
  });
});

describe('authentik utils_test.go and oauth_test.go: where sign-in starts and lands', () => {
  let app: RecordingUpstream;
  before(async () => {
    app = await startRecordingUpstream();
  });
  after(() => app.close());

  const external = (host: string, extra: string[] = []) =>
    provider(app.url, [`external_host: ${host}`, ...extra, ...userFoo()]);

  /** Signs in at outpost's `start` with the query of `startUrl`, as the browser would. */
  async function land(outpost: TestOutpost, query: Record<string, string>) {
    const res = await request(
      `${outpost.httpUrl}${START}?${new URLSearchParams({ user: 'foo', ...query })}`,
    );
    assert.equal(res.status, 302);
    return res;
  }

  it('TestRedirectToStart_Proxy: rd is the path on the external host, and sign-in lands there', async () => {
    await withOutpost({ yaml: external('https://test.goauthentik.io') }, async (outpost) => {
      // the request reaches outpost on 127.0.0.1 over plain http; rd still names the external host
      const res = await request(`${outpost.httpUrl}/foo/bar/baz`);
      assert.equal(res.status, 302);
      assert.equal(
        res.headers.location,
        'https://test.goauthentik.io/outpost.goauthentik.io/start?rd=https%3A%2F%2Ftest.goauthentik.io%2Ffoo%2Fbar%2Fbaz',
      );
      const start = new URL(res.headers.location!);
      const back = await land(outpost, { rd: start.searchParams.get('rd')! });
      assert.equal(back.headers.location, 'https://test.goauthentik.io/foo/bar/baz');
      // session.go: HttpOnly, SameSite=Lax, Path=/, Secure because the external host is https
      const cookie = setCookie(back, outpost.context.cookieName);
      assert.match(cookie!, /; Path=\/; Max-Age=86400; HttpOnly; Secure; SameSite=Lax$/);
    });
  });

  it('TestRedirectToStart_Proxy with a query: rd keeps it (SPEC 6; authentik drops the query)', async () => {
    await withOutpost({ yaml: external('https://test.goauthentik.io') }, async (outpost) => {
      const res = await request(`${outpost.httpUrl}/foo/bar/baz?tab=2&q=a%20b`);
      const rd = new URL(res.headers.location!).searchParams.get('rd');
      assert.equal(rd, 'https://test.goauthentik.io/foo/bar/baz?tab=2&q=a%20b');
    });
  });

  it('TestRedirectToStart_Forward: forward_single sends the same start URL for the forwarded request', async () => {
    const yaml = external('https://test.goauthentik.io', ['mode: forward_single']);
    await withOutpost({ yaml }, async (outpost) => {
      const res = await request(`${outpost.httpUrl}/outpost.goauthentik.io/auth/traefik`, {
        headers: {
          'X-Forwarded-Proto': 'https',
          'X-Forwarded-Host': 'test.goauthentik.io',
          'X-Forwarded-Uri': '/foo/bar/baz',
        },
      });
      assert.equal(res.status, 302);
      assert.equal(
        res.headers.location,
        'https://test.goauthentik.io/outpost.goauthentik.io/start?rd=https%3A%2F%2Ftest.goauthentik.io%2Ffoo%2Fbar%2Fbaz',
      );
    });
  });

  it('TestCheckRedirectParam: no rd or a foreign rd lands on the external host; its own URL is kept', async () => {
    const yaml = external('https://ext.t.goauthentik.io', ['mode: forward_single']);
    await withOutpost({ yaml }, async (outpost) => {
      // authentik falls back to "https://ext.t.goauthentik.io", the same URL as outpost's with "/"
      const home = new URL('https://ext.t.goauthentik.io').href;
      assert.equal(new URL((await land(outpost, {})).headers.location!).href, home);
      const foreign = await land(outpost, { rd: 'https://google.com' });
      assert.equal(new URL(foreign.headers.location!).href, home);
      const own = await land(outpost, { rd: 'https://ext.t.goauthentik.io/test?foo' });
      assert.equal(own.headers.location, 'https://ext.t.goauthentik.io/test?foo');
    });
  });

  it('TestCheckRedirectParam_Domain: forward_domain keeps an rd under cookie_domain', async () => {
    const yaml = external('https://ext.t.goauthentik.io', [
      'mode: forward_domain',
      'cookie_domain: t.goauthentik.io',
    ]);
    await withOutpost({ yaml }, async (outpost) => {
      const home = new URL('https://ext.t.goauthentik.io').href;
      assert.equal(new URL((await land(outpost, {})).headers.location!).href, home);
      const own = await land(outpost, { rd: 'https://ext.t.goauthentik.io/test' });
      assert.equal(own.headers.location, 'https://ext.t.goauthentik.io/test');
      const sibling = await land(outpost, { rd: 'https://a.t.goauthentik.io/x' });
      assert.equal(sibling.headers.location, 'https://a.t.goauthentik.io/x');
    });
  });

  it('TestCheckRedirectParam_Domain: a host merely ending in cookie_domain is refused (SPEC 6 dot boundary; authentik accepts it)', async () => {
    const yaml = external('https://ext.t.goauthentik.io', [
      'mode: forward_domain',
      'cookie_domain: t.goauthentik.io',
    ]);
    await withOutpost({ yaml }, async (outpost) => {
      const res = await land(outpost, { rd: 'https://evilt.goauthentik.io/steal' });
      assert.equal(res.headers.location, 'https://ext.t.goauthentik.io/');
    });
  });
});

describe('authentik session_test.go: sign-out and stale cookies', () => {
  let outpost: TestOutpost;
  let name: string;
  before(async () => {
    // as in TestLogout, the backend does not answer, so signed-in requests end in 502
    const backend = `http://127.0.0.1:${await freePort()}`;
    outpost = await startTestOutpost({ yaml: provider(backend, userFoo()) });
    name = outpost.context.cookieName;
  });
  after(() => outpost.close());

  const stale = () => `${name}=encoded_session_data_${randomUUID()}`;

  it('TestLogout: sign_out ends every session of the user (same uid), then 302', async () => {
    const first = new CookieJar();
    const second = new CookieJar();
    const third = new CookieJar();
    for (const jar of [first, second, third]) {
      assert.equal((await signInAs(outpost, jar, 'foo', `${outpost.httpUrl}/foo`)).status, 302);
    }
    assert.equal((await request(`${outpost.httpUrl}/foo`, { jar: first })).status, 502);
    assert.equal((await request(`${outpost.httpUrl}/foo`, { jar: second })).status, 502);

    const out = await request(`${outpost.httpUrl}/outpost.goauthentik.io/sign_out`, {
      jar: third,
    });
    assert.equal(out.status, 302);
    for (const jar of [first, second]) {
      const res = await request(`${outpost.httpUrl}/foo`, { jar });
      assert.equal(res.status, 302, 'the other sessions of foo are gone');
      assert.equal(new URL(res.headers.location!).pathname, START);
    }
  });

  it('TestStaleCookieDeletion: a cookie naming no session is not signed in and is deleted', async () => {
    for (const cookie of [stale(), `${name}=%%garbled%%`]) {
      const res = await request(`${outpost.httpUrl}/foo`, { headers: { cookie } });
      assert.equal(res.status, 302);
      assert.match(setCookie(res, name)!, /^[^=]+=; Path=\/; Max-Age=0;/);
    }
  });

  it('TestStateFromRequestDeletesStaleCookie: a refused callback deletes a stale session cookie', async () => {
    const res = await request(`${outpost.httpUrl}${CALLBACK}`, {
      method: 'POST',
      headers: { cookie: stale(), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'state=not-this-browsers&user=foo',
    });
    assert.equal(res.status, 400);
    assert.match(setCookie(res, name)!, /^[^=]+=; Path=\/; Max-Age=0;/);
  });

  it('TestCreateStateWithStaleCookie: start still begins a sign-in and deletes the stale cookie', async () => {
    const res = await request(`${outpost.httpUrl}${START}`, { headers: { cookie: stale() } });
    assert.equal(res.status, 200);
    assert.match(res.body, /name="state" value="[^"]+"/);
    assert.match(setCookie(res, name)!, /^[^=]+=; Path=\/; Max-Age=0;/);
  });
});

describe('authentik endpoint_test.go, auth_bearer.go and mode_proxy_test.go with a real OpenID provider', () => {
  let stack: OidcStack;
  let discovery: Record<string, string>;
  before(async () => {
    stack = await startOidcStack({
      users: [
        { username: 'dave' },
        // TestProxy_ModifyRequest_Claims_Invalid: a backend_override that is not a URL
        { username: 'carol', ak_proxy: { backend_override: ':qewr' } },
      ],
    });
    const issuer = stack.op.issuer.replace(/\/$/, '');
    discovery = (await (
      await fetch(`${issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
  });
  after(() => stack.close());

  it('TestProxy_ModifyRequest_Claims_Invalid: a backend_override that is no URL falls back to the backend', async () => {
    await stack.signIn('carol', '/foo');
    const got = stack.app.last();
    assert.equal(got.url, '/foo');
    assert.deepEqual(headerValues(got, 'X-Authentik-Username'), ['carol']);
    assert.deepEqual(headerValues(got, 'host'), [new URL(stack.external).host]);
  });

  it("TestEndpointDefault: sign-in, JWKS and sign-out use the provider's own endpoints (embedded and AUTHENTIK_HOST_BROWSER have no outpost equivalent)", async () => {
    const start = await request(`${stack.external}${START}`);
    assert.equal(start.status, 302);
    const authorize = new URL(start.headers.location!);
    assert.equal(`${authorize.origin}${authorize.pathname}`, discovery.authorization_endpoint);

    const browser = await stack.signIn('dave', '/jwks');
    const jwks = headerValues(stack.app.last(), 'X-Authentik-Meta-Jwks');
    assert.deepEqual(jwks, [discovery.jwks_uri]);

    const out = await browser.get(`${stack.external}/outpost.goauthentik.io/sign_out`);
    assert.equal(out.status, 302);
    const end = new URL(out.location!);
    assert.equal(`${end.origin}${end.pathname}`, discovery.end_session_endpoint);
  });

  it('checkAuth with a Bearer token: introspected, any casing of Bearer, removed before the app; a bad one is 401', async () => {
    await stack.signIn('dave', '/for-token');
    const token = headerValues(stack.app.last(), 'X-Authentik-Jwt')[0]!;
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await request(`${stack.external}/api/items`, {
        headers: { authorization: `${scheme} ${token}` },
      });
      assert.equal(res.status, 200);
      const got = stack.app.last();
      assert.deepEqual(headerValues(got, 'X-Authentik-Username'), ['dave']);
      assert.deepEqual(headerValues(got, 'X-Authentik-Jwt'), [token]);
      assert.deepEqual(headerValues(got, 'authorization'), []);
    }
    const bad = await request(`${stack.external}/api/items`, {
      headers: { authorization: 'Bearer not-a-token' },
    });
    assert.equal(bad.status, 401, 'intercept_header_auth: no redirect for API clients');
  });
});

/** `outpost headers --user NAME --json` run by the built CLI against this outpost's files. */
async function runHeadersJson(outpost: TestOutpost, user: string) {
  const answer = await headersJson(['--user', user], {
    cwd: outpost.dir,
    stateDir: outpost.stateDir,
  });
  return answer.headers;
}
