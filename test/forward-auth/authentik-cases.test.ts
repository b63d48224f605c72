// The scenarios of authentik's own Go tests of its proxy outpost's forward-auth handlers
// (internal/outpost/proxyv2/application/mode_forward_*_test.go), replayed over HTTP against a real
// outpost. Their tests call the handlers directly and read the session store; here each answer is
// judged only by what a reverse proxy or browser can see: status, Location, headers, cookies.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { ask, identityOf, sessionCookie, type AuthAnswer } from './auth-client.js';

const EXTERNAL = 'https://ext.t.goauthentik.io';
const APP_HOST = 'test.goauthentik.io';
const DOMAIN_EXTERNAL = 'http://auth.test.goauthentik.io';
const CLIENT_ID = 'authentik-cases';
const START = '/outpost.goauthentik.io/start';
const CALLBACK = '/outpost.goauthentik.io/callback?X-authentik-auth-callback=true';

// authentik's test application: forward_single on ext.t.goauthentik.io, one rule `/skip.*`, no
// cookie domain, Basic auth from the `username` and `password` attributes. Its signed-in session
// holds claims with only `sub: foo` and those attributes; the nearest outpost has is a dev user
// with that uid, no name, email or groups. Slug and outpost name are blank, as in that test.
const PROVIDER = `client_id: ${CLIENT_ID}
internal_host: http://backend
skip_path_regex: /skip.*
basic_auth_enabled: true
basic_auth_user_attribute: username
basic_auth_password_attribute: password
assigned_application_slug: ''
outpost_name: ''
users:
  - username: foo
    uid: foo
    name: ''
    email: ''
    attributes:
      username: foo
      password: bar
      additionalHeaders:
        foo: bar
`;

const SINGLE = `mode: forward_single
external_host: ${EXTERNAL}
cookie_domain: ''
${PROVIDER}`;

// their domain-mode variant: sign-in on auth.test.goauthentik.io, cookie domain `foo`
const DOMAIN = `mode: forward_domain
external_host: ${DOMAIN_EXTERNAL}
cookie_domain: foo
${PROVIDER}`;

type Kind = 'nginx' | 'traefik' | 'caddy';

/** Traefik and Caddy name the original URL in three headers. */
function forwarded(uri: string): OutgoingHttpHeaders {
  return { 'X-Forwarded-Proto': 'http', 'X-Forwarded-Host': APP_HOST, 'X-Forwarded-Uri': uri };
}

function askKind(outpost: TestOutpost, kind: Kind, headers: OutgoingHttpHeaders = {}) {
  return ask(outpost, `/outpost.goauthentik.io/auth/${kind}`, { headers });
}

/** Envoy's check: the original path after the prefix, the original Host, nothing else. */
function askEnvoy(outpost: TestOutpost, path: string, host: string, cookie?: string) {
  const headers: OutgoingHttpHeaders = { host, ...(cookie ? { cookie } : {}) };
  return ask(outpost, `/outpost.goauthentik.io/auth/envoy${path}`, { headers });
}

function signInUrl(external: string, original: string): string {
  return `${external}${START}?rd=${encodeURIComponent(original)}`;
}

/** The values of one header under exactly this name, as they came on the wire. */
function valuesOf(answer: AuthAnswer, name: string): string[] {
  return answer.rawHeaders.filter(([wire]) => wire === name).map(([, value]) => value);
}

/**
 * What authentik's `*_Single_Claims` tests assert of a signed-in answer, header by header, with
 * outpost's value where the two cannot agree.
 */
function assertClaimsAnswer(answer: AuthAnswer): void {
  assert.equal(answer.status, 200);
  const exactly = (name: string, value: string) =>
    assert.deepEqual(valuesOf(answer, name), [value]);
  exactly('Authorization', 'Basic Zm9vOmJhcg==');
  exactly('Foo', 'bar');
  exactly('User-Agent', '');
  exactly('X-Authentik-Email', '');
  exactly('X-Authentik-Groups', '');
  exactly('X-Authentik-Meta-App', '');
  exactly('X-Authentik-Meta-Outpost', '');
  exactly('X-Authentik-Name', '');
  exactly('X-Authentik-Uid', 'foo');
  // their session holds bare claims; an outpost session always belongs to a named dev user
  exactly('X-Authentik-Username', 'foo');
  // their test application has no provider behind it, so both are blank there; outpost's dev
  // users carry the token and JWKS URL of the provider it imitates (SPEC section 4)
  const [jwt] = valuesOf(answer, 'X-Authentik-Jwt');
  const claims = JSON.parse(Buffer.from(jwt?.split('.')[1] ?? '', 'base64url').toString('utf8'));
  assert.equal(claims.sub, 'foo');
  // the blank slug of their test application leaves an empty segment in outpost's issuer path
  exactly('X-Authentik-Meta-Jwks', `${EXTERNAL}/application/o//jwks/`);
}

function assertNoIdentity(answer: AuthAnswer): void {
  assert.deepEqual(identityOf(answer), {});
  assert.equal(answer.headers.authorization, undefined);
  assert.equal(answer.headers.foo, undefined);
}

describe("authentik's forward_single cases", () => {
  let outpost: TestOutpost;
  let foo: string;
  before(async () => {
    outpost = await startTestOutpost({ yaml: SINGLE });
    foo = await sessionCookie(outpost, new URL(EXTERNAL).host, 'foo');
  });
  after(() => outpost?.close());

  test('blank: no forwarded URL is 500 configuration error, for every proxy', async () => {
    for (const kind of ['nginx', 'traefik', 'caddy'] as const) {
      const answer = await askKind(outpost, kind);
      assert.equal(answer.status, 500, kind);
      assert.equal(answer.body, 'configuration error\n', kind);
    }
  });

  test('skip: a URL the rule matches is 200 without identity', async () => {
    const answers = [
      await askKind(outpost, 'nginx', { 'X-Original-URL': `http://${APP_HOST}/skip` }),
      await askKind(outpost, 'traefik', forwarded('/skip')),
      await askKind(outpost, 'caddy', forwarded('/skip')),
      await askEnvoy(outpost, '/skip', APP_HOST),
    ];
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assertNoIdentity(answer);
    }
  });

  test('nginx headers: no session is 401, the original URL kept for after sign-in', async () => {
    const original = `http://${APP_HOST}/app`;
    const answer = await askKind(outpost, 'nginx', { 'X-Original-URL': original });
    assert.equal(answer.status, 401);
    assertNoIdentity(answer);
    // authentik keeps the URL in its session; outpost names it in the sign-in URL it hands nginx
    assert.equal(answer.headers['x-outpost-sign-in'], signInUrl(EXTERNAL, original));
  });

  test('nginx URI: a path-only X-Original-URI is 401 and returns to that path on the external host', async () => {
    const answer = await askKind(outpost, 'nginx', { Host: 'foo.bar', 'X-Original-URI': '/app' });
    assert.equal(answer.status, 401);
    // authentik remembers the bare `/app`, which its callback on the external host resolves
    const signIn = answer.headers['x-outpost-sign-in'];
    assert.equal(signIn, signInUrl(EXTERNAL, `${EXTERNAL}/app`));

    const landed = await ask(outpost, `${START}${new URL(signIn ?? '').search}&user=foo`, {
      headers: { host: new URL(EXTERNAL).host },
    });
    assert.equal(landed.status, 302);
    assert.equal(landed.headers.location, `${EXTERNAL}/app`);
  });

  for (const kind of ['traefik', 'caddy'] as const) {
    test(`${kind} headers: no session is 302 to sign-in on the external host, rd = the original URL`, async () => {
      const answer = await askKind(outpost, kind, forwarded('/app'));
      assert.equal(answer.status, 302);
      assertNoIdentity(answer);
      assert.equal(answer.headers.location, signInUrl(EXTERNAL, `http://${APP_HOST}/app`));
      await assertSignInLeadsToCallback(outpost, answer);
    });
  }

  test('envoy headers: the path after the prefix, on the Host envoy sent', async () => {
    const answer = await askEnvoy(outpost, '/app', new URL(EXTERNAL).host);
    assert.equal(answer.status, 302);
    assertNoIdentity(answer);
    assert.equal(answer.headers.location, signInUrl(EXTERNAL, 'http://ext.t.goauthentik.io/app'));
    await assertSignInLeadsToCallback(outpost, answer);
  });

  test('no session: the 302 itself sets a cookie (SPEC section 7, as authentik does)', async () => {
    for (const answer of [
      await askKind(outpost, 'traefik', forwarded('/app')),
      await askKind(outpost, 'caddy', forwarded('/app')),
      await askEnvoy(outpost, '/app', APP_HOST),
    ]) {
      assert.equal(answer.status, 302);
      const begun = attemptCookieOf(answer);
      assert.ok(begun, `a sign-in cookie on the 302: ${answer.headers['set-cookie']?.join(' | ')}`);
      // the sign-in page carries on with the attempt the 302 began, for that browser
      const start = new URL(answer.headers.location ?? '');
      const page = await ask(outpost, `${start.pathname}${start.search}`, {
        headers: { host: start.host, cookie: begun },
      });
      assert.equal(page.status, 200);
      const state = /name="state" value="([^"]+)"/.exec(page.body)?.[1];
      assert.equal(`${ATTEMPT_COOKIE}=${state}`, begun);
      const back = await ask(outpost, CALLBACK, {
        method: 'POST',
        headers: {
          host: start.host,
          cookie: begun,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ state: state ?? '', user: 'foo' }).toString(),
      });
      assert.equal(back.status, 302);
      // the app host is not the external host in forward_single, so sign-in lands there
      assert.equal(back.headers.location, `${EXTERNAL}/`);
    }
  });

  test('no session: nginx passes no cookie on with its 401, so it gets none', async () => {
    const answer = await askKind(outpost, 'nginx', { 'X-Original-URL': `http://${APP_HOST}/app` });
    assert.equal(answer.status, 401);
    assert.equal(attemptCookieOf(answer), undefined);
  });

  test('claims: signed in, nginx answers 200 with the headers authentik sends', async () => {
    assertClaimsAnswer(await askKind(outpost, 'nginx', { 'X-Original-URI': '/', Cookie: foo }));
  });

  for (const kind of ['traefik', 'caddy'] as const) {
    test(`claims: signed in, ${kind} answers 200 with the headers authentik sends`, async () => {
      assertClaimsAnswer(await askKind(outpost, kind, { ...forwarded('/app'), Cookie: foo }));
    });
  }

  test('claims: signed in, envoy answers 200 with the headers authentik sends', async () => {
    const answer = await askEnvoy(outpost, '/app', APP_HOST, foo);
    assertClaimsAnswer(answer);
    assert.equal(answer.headers['x-envoy-auth-headers-to-remove'], undefined);
  });

  test('claims: the User-Agent echoed is the one the request carried', async () => {
    const answer = await askKind(outpost, 'traefik', {
      ...forwarded('/app'),
      Cookie: foo,
      'User-Agent': 'Mozilla/5.0 (X11)',
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(valuesOf(answer, 'User-Agent'), ['Mozilla/5.0 (X11)']);
    const open = await askKind(outpost, 'traefik', {
      ...forwarded('/skip'),
      'User-Agent': 'Mozilla/5.0 (X11)',
    });
    // authentik echoes it only with the identity; a public answer carries nothing
    assert.deepEqual(valuesOf(open, 'User-Agent'), []);
  });
});

describe("authentik's forward_domain cases (cookie domain foo)", () => {
  let outpost: TestOutpost;
  before(async () => {
    outpost = await startTestOutpost({ yaml: DOMAIN });
  });
  after(() => outpost?.close());

  test('blank: no forwarded URL is 500 configuration error', async () => {
    for (const kind of ['nginx', 'traefik', 'caddy'] as const) {
      const answer = await askKind(outpost, kind);
      assert.equal(answer.status, 500, kind);
      assert.equal(answer.body, 'configuration error\n', kind);
    }
  });

  test('nginx header: 401, with sign-in on the external host', async () => {
    const original = `http://${APP_HOST}/app`;
    const answer = await askKind(outpost, 'nginx', { 'X-Original-URL': original });
    assert.equal(answer.status, 401);
    assertNoIdentity(answer);
    assert.equal(answer.headers['x-outpost-sign-in'], signInUrl(DOMAIN_EXTERNAL, original));
  });

  for (const kind of ['traefik', 'caddy'] as const) {
    test(`${kind} header: 302 to sign-in on the external host, rd = the app's URL`, async () => {
      const answer = await askKind(outpost, kind, forwarded('/app'));
      assert.equal(answer.status, 302);
      assertNoIdentity(answer);
      assert.equal(answer.headers.location, signInUrl(DOMAIN_EXTERNAL, `http://${APP_HOST}/app`));
    });
  }

  test('envoy header: 302 to sign-in on the external host, rd on the Host envoy sent', async () => {
    const answer = await askEnvoy(outpost, '/app', APP_HOST);
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.location, signInUrl(DOMAIN_EXTERNAL, `http://${APP_HOST}/app`));
  });

  test('deliberately stricter: after sign-in, an rd outside cookie_domain lands on the external host (SPEC section 6)', async () => {
    const answer = await askKind(outpost, 'traefik', forwarded('/app'));
    const start = new URL(answer.headers.location ?? '');
    const landed = await ask(outpost, `${start.pathname}${start.search}&user=foo`, {
      headers: { host: start.host },
    });
    assert.equal(landed.status, 302);
    assert.equal(landed.headers.location, `${DOMAIN_EXTERNAL}/`);
  });
});

describe("authentik's earlier forward-auth cases (mode_forward_test.go, since replaced)", () => {
  let outpost: TestOutpost;
  before(async () => {
    outpost = await startTestOutpost({ yaml: SINGLE });
  });
  after(() => outpost?.close());

  test('traefik at the root: 302 to sign-in, rd = the root URL', async () => {
    const answer = await askKind(outpost, 'traefik', forwarded('/'));
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.location, signInUrl(EXTERNAL, `http://${APP_HOST}/`));
  });

  test('deliberately different: a full URL in X-Original-URI is 500, as it must be a path (SPEC section 7)', async () => {
    for (const value of [`http://${APP_HOST}/skip`, `http://${APP_HOST}`]) {
      const answer = await askKind(outpost, 'nginx', { 'X-Original-URI': value });
      assert.equal(answer.status, 500, value);
      assert.equal(answer.body, 'configuration error\n');
    }
  });
});

/**
 * authentik's 302 goes straight to the provider with `redirect_uri` = the external host's
 * callback; outpost's goes to its own sign-in page first, whose form posts to that same callback
 * and which sets the cookie binding the sign-in to this browser.
 */
const ATTEMPT_COOKIE = `authentik_proxy_${createHash('sha256').update(CLIENT_ID).digest('hex').slice(0, 8)}_signin`;

/** `name=value` of the sign-in cookie an answer sets, if it sets one with a value. */
function attemptCookieOf(answer: AuthAnswer): string | undefined {
  const line = answer.headers['set-cookie']?.find((one) => one.startsWith(`${ATTEMPT_COOKIE}=`));
  const pair = line?.split(';')[0];
  return pair && pair !== `${ATTEMPT_COOKIE}=` ? pair : undefined;
}

async function assertSignInLeadsToCallback(outpost: TestOutpost, answer: AuthAnswer) {
  const start = new URL(answer.headers.location ?? '');
  const page = await ask(outpost, `${start.pathname}${start.search}`, {
    headers: { host: start.host },
  });
  assert.equal(page.status, 200);
  assert.ok(page.body.includes(`action="${EXTERNAL}${CALLBACK}"`), 'the form posts to callback');
  const cookieName = `authentik_proxy_${createHash('sha256').update(CLIENT_ID).digest('hex').slice(0, 8)}`;
  const cookies = page.headers['set-cookie'] ?? [];
  assert.ok(
    cookies.some((line) => line.startsWith(`${cookieName}_signin=`) && /; Secure/.test(line)),
    `the sign-in cookie is set: ${cookies.join(' | ')}`,
  );
}
