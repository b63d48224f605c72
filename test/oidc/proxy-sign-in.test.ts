import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  startOidcProvider,
  type FixtureBrowser,
  type OidcProviderFixture,
} from '../fixtures/oidc-provider.js';
import { freePort } from '../helpers/free-port.js';
import { request } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import {
  authentikHeaders,
  headerValues,
  startRecordingUpstream,
  type RecordingUpstream,
} from '../helpers/recording-upstream.js';
import { ALICE, BOB } from './helpers.js';

const CALLBACK = '/outpost.goauthentik.io/callback?X-authentik-auth-callback=true';
/** bob's app password, for API clients that send Basic credentials. */
const BOB_APP_PASSWORD = 'bob-app-password-7';

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

interface Stack {
  op: OidcProviderFixture;
  outpost: TestOutpost;
  app: RecordingUpstream;
  /** Where ALICE's backend_override points. */
  aliceApp: RecordingUpstream;
  external: string;
}

async function startStack(accessTokenTtl = 300): Promise<Stack> {
  const [app, aliceApp] = [await startRecordingUpstream(), await startRecordingUpstream()];
  const port = await freePort();
  const external = `http://127.0.0.1:${port}`;
  const alice = { ...ALICE, ak_proxy: { ...ALICE.ak_proxy, backend_override: aliceApp.url } };
  const op = await startOidcProvider({
    users: [alice, { ...BOB, appPassword: BOB_APP_PASSWORD }],
    redirectUris: [`${external}${CALLBACK}`],
    postLogoutRedirectUris: [`${external}/`],
    accessTokenTtl,
  });
  const outpost = await startTestOutpost({ port, yaml: outpostYaml(external, app, op) });
  return { op, outpost, app, aliceApp, external };
}

/** outpost.yaml for the stack's provider, app and external host. */
function outpostYaml(external: string, app: RecordingUpstream, op: OidcProviderFixture): string {
  return [`external_host: ${external}`, `internal_host: ${app.url}`, ...op.oidcYaml(), ''].join(
    '\n',
  );
}

async function stopStack(stack: Stack): Promise<void> {
  await stack.outpost.close();
  await stack.op.close();
  await stack.app.close();
  await stack.aliceApp.close();
}

/** Signs a fresh browser in through the proxy and returns it, landed on `path`. */
async function signIn(
  stack: Stack,
  username: string,
  path = '/dashboard?tab=2',
): Promise<FixtureBrowser> {
  const browser = stack.op.browser();
  const password = username === 'alice' ? 'wonderland' : undefined;
  const { response } = await stack.op.drive(browser, `${stack.external}${path}`, {
    username,
    ...(password ? { password } : {}),
    follow: true,
  });
  assert.equal(response.status, 200, `landed on ${response.url}: ${response.body.slice(0, 300)}`);
  assert.equal(response.url, `${stack.external}${path}`);
  return browser;
}

describe('serve with a real OpenID provider', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stopStack(stack));

  it('signs a browser in and sends the claims as headers, to the backend_override', async () => {
    await signIn(stack, 'alice');
    const got = stack.aliceApp.last();
    assert.equal(got.url, '/dashboard?tab=2');
    const headers = authentikHeaders(got);
    assert.equal(headers['X-Authentik-Username'], 'alice');
    assert.equal(headers['X-Authentik-Name'], 'Alice Łukasz');
    assert.equal(headers['X-Authentik-Email'], 'alice@example.com');
    assert.equal(headers['X-Authentik-Groups'], 'staff|admins');
    assert.equal(headers['X-Authentik-Entitlements'], 'billing');
    assert.equal(headers['X-Authentik-Uid'], stack.op.subOf('alice'));
    assert.ok(headers['X-Authentik-Jwt'] && headers['X-Authentik-Jwt'].length > 20);
    assert.match(
      headers['X-Authentik-Meta-Jwks']!,
      new RegExp(`^${stack.op.issuer.replace(/\/$/, '')}`),
    );
    assert.deepEqual(headerValues(got, 'X-Tenant'), ['acme']);
    assert.deepEqual(headerValues(got, 'host'), ['alice.internal'], "the user's host_header wins");
    assert.equal(stack.app.received.length, 0, 'alice never reaches the default upstream');
  });

  it('sends a user without backend_override to the configured app', async () => {
    await signIn(stack, 'bob', '/bob');
    assert.deepEqual(headerValues(stack.app.last(), 'X-Authentik-Username'), ['bob']);
  });

  it("refuses a callback carrying another browser's state, and a replayed one", async () => {
    const victim = stack.op.browser();
    const { leftTo } = await stack.op.drive(victim, `${stack.external}/x`, {
      username: 'alice',
      password: 'wonderland',
    });
    assert.ok(leftTo?.startsWith(`${stack.external}${CALLBACK}`), leftTo);
    if (!leftTo) return;
    const attacker = stack.op.browser();
    assert.equal((await attacker.get(leftTo)).status, 400);
    assert.equal((await victim.get(leftTo)).status, 302, 'the right browser finishes');
    assert.equal((await victim.get(leftTo)).status, 400, 'the same callback again is refused');
  });

  it('shows what the provider said when the user denies consent, without a loop', async () => {
    const browser = stack.op.browser();
    const { response } = await stack.op.drive(browser, `${stack.external}/y`, {
      username: 'alice',
      password: 'wonderland',
      consent: 'deny',
      follow: true,
    });
    assert.equal(response.status, 400);
    assert.match(response.body, /access_denied/);
  });

  it('accepts a Bearer token after introspection and strips it before the app', async () => {
    await signIn(stack, 'bob', '/for-token');
    const token = headerValues(stack.app.last(), 'X-Authentik-Jwt')[0]!;
    const res = await request(`${stack.external}/api/items`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const got = stack.app.last();
    assert.deepEqual(headerValues(got, 'X-Authentik-Username'), ['bob']);
    assert.deepEqual(headerValues(got, 'authorization'), []);
    const bad = await request(`${stack.external}/api/items`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(bad.status, 401);
  });

  it('exchanges Basic credentials (an app password) for the account, and strips them', async () => {
    const res = await request(`${stack.external}/api/basic`, {
      headers: { authorization: basic('bob', BOB_APP_PASSWORD) },
    });
    assert.equal(res.status, 200);
    const got = stack.app.last();
    assert.equal(got.url, '/api/basic');
    assert.deepEqual(headerValues(got, 'X-Authentik-Username'), ['bob']);
    assert.deepEqual(headerValues(got, 'X-Authentik-Uid'), [stack.op.subOf('bob')]);
    assert.deepEqual(headerValues(got, 'authorization'), []);
    const token = headerValues(got, 'X-Authentik-Jwt')[0];
    assert.ok(token, 'the access token the provider issued for the account');

    // clients that can only send Basic put a token in the password of goauthentik.io/token
    const viaToken = await request(`${stack.external}/api/token`, {
      headers: { authorization: basic('goauthentik.io/token', token) },
    });
    assert.equal(viaToken.status, 200);
    assert.deepEqual(headerValues(stack.app.last(), 'X-Authentik-Username'), ['bob']);

    const before = stack.outpost.warnings.length;
    const wrong = await request(`${stack.external}/api/basic`, {
      headers: { authorization: basic('bob', 'not-the-app-password') },
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(stack.outpost.warnings.slice(before), [
      'Basic credentials of "bob" refused: invalid_grant (invalid username or app password)',
    ]);
    assert.ok(!stack.outpost.warnings.join('\n').includes(BOB_APP_PASSWORD), 'never logged');
  });

  it('signs out every session of the user, revokes, and goes to the end-session endpoint', async () => {
    const first = await signIn(stack, 'bob', '/one');
    const token = headerValues(stack.app.last(), 'X-Authentik-Jwt')[0]!;
    const second = await signIn(stack, 'bob', '/two');
    const out = await first.get(`${stack.external}/outpost.goauthentik.io/sign_out`);
    assert.equal(out.status, 302);
    const end = new URL(out.location!);
    assert.equal(end.origin, new URL(stack.op.issuer).origin);
    assert.ok(end.searchParams.get('id_token_hint'));
    assert.equal(end.searchParams.get('post_logout_redirect_uri'), `${stack.external}/`);
    const again = await second.get(`${stack.external}/two`);
    assert.equal(again.status, 302, 'the other browser of the same user is signed out too');
    const withToken = await request(`${stack.external}/api`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(withToken.status, 401, 'the revoked access token no longer works');
  });
});

describe('serve with a real OpenID provider: token lifetimes', () => {
  it('refreshes an expiring access token, and signs out when the refresh is refused', async () => {
    const stack = await startStack(5);
    try {
      const browser = await signIn(stack, 'bob', '/first');
      const firstToken = headerValues(stack.app.last(), 'X-Authentik-Jwt')[0];
      // the token expires within the refresh margin, so the next request renews it
      const next = await browser.get(`${stack.external}/second`);
      assert.equal(next.status, 200);
      const secondToken = headerValues(stack.app.last(), 'X-Authentik-Jwt')[0];
      assert.notEqual(secondToken, firstToken);

      const cookie = browser
        .cookieHeader(stack.external)
        .match(/authentik_proxy_[0-9a-f]{8}=([^;]+)/)![1];
      const session = stack.outpost.context.sessions.lookup(cookie)!;
      stack.outpost.context.sessions.update({ ...session, refresh_token: 'revoked-or-bogus' });
      const refused = await browser.get(`${stack.external}/third`);
      assert.equal(refused.status, 302, 'a refused refresh means signed out');
      assert.match(refused.location!, /\/outpost\.goauthentik\.io\/start/);
    } finally {
      await stopStack(stack);
    }
  });
});

describe('serve with a real OpenID provider: two workers, one session', () => {
  it('refreshes a session once when both workers find it expiring at the same moment', async () => {
    const stack = await startStack();
    // a second outpost on the same state directory is what a second worker of serve is
    const other = await startTestOutpost({
      yaml: outpostYaml(stack.external, stack.app, stack.op),
      stateDir: stack.outpost.stateDir,
    });
    try {
      const browser = await signIn(stack, 'bob', '/first');
      const firstToken = headerValues(stack.app.last(), 'X-Authentik-Jwt')[0];
      const cookie = browser.cookieHeader(stack.external);
      const value = cookie.match(/authentik_proxy_[0-9a-f]{8}=([^;]+)/)![1];
      const sessions = stack.outpost.context.sessions;
      sessions.update({ ...sessions.lookup(value)!, access_expires_at: Date.now() });

      const answers = await Promise.all(
        [stack.outpost.httpUrl, other.httpUrl].map((origin) =>
          request(`${origin}/both`, { headers: { cookie } }),
        ),
      );
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [200, 200],
      );
      const tokens = stack.app.received
        .slice(-2)
        .map((got) => headerValues(got, 'X-Authentik-Jwt')[0]);
      assert.notEqual(tokens[0], firstToken, 'the token was refreshed');
      assert.equal(tokens[0], tokens[1], 'both workers sent the one refreshed token');
    } finally {
      await other.close();
      await stopStack(stack);
    }
  });
});

describe('serve with an OpenID provider that is down', () => {
  it('starts, warns, and shows a clear error page on sign-in', async () => {
    const deadPort = await freePort();
    const outpost = await startTestOutpost({
      yaml: `oidc:\n  issuer: http://127.0.0.1:${deadPort}/application/o/app/\n  client_id: x\n  client_secret: y\n`,
    });
    try {
      const first = await request(`${outpost.httpUrl}/x`);
      assert.equal(first.status, 302);
      const start = await request(first.headers.location!);
      assert.equal(start.status, 502);
      assert.match(start.body, /not reachable/);
      assert.ok(
        outpost.warnings.some((line) => /sign-in shows an error page/.test(line)),
        outpost.warnings.join('\n'),
      );
    } finally {
      await outpost.close();
    }
  });
});
