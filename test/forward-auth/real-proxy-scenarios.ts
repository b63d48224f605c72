import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  authentikHeaders,
  headerValues,
  type ReceivedRequest,
} from '../helpers/recording-upstream.js';
import { Browser, type Visit } from './browser.js';
import {
  COOKIE_DOMAIN,
  startStack,
  type ForwardMode,
  type RealProxy,
  type Stack,
} from './stack.js';

// every way a client could spell an identity header (each key is its own header line), and the
// `_` alias that some apps fold into the same variable
const FORGED = {
  'X-Authentik-Username': 'forged-1',
  'x-authentik-username': 'forged-2',
  'X-AUTHENTIK-USERNAME': 'forged-3',
  'x-AuThEnTiK-uSeRnAmE': 'forged-4',
  X_Authentik_Username: 'forged-5',
  'X-Authentik-Groups': 'forged-admins',
};

const IDENTITY_HEADERS = [
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
];

/** The app's record of the request a visit ended with. */
function appRecord(visit: Visit): ReceivedRequest {
  assert.equal(visit.response.status, 200, `${visit.url}: ${visit.response.body.slice(0, 300)}`);
  return JSON.parse(visit.response.body) as ReceivedRequest;
}

function assertNoForgedValue(record: ReceivedRequest): void {
  for (const [name, value] of record.headers) {
    assert.ok(!value.startsWith('forged-'), `forged ${name}: ${value} reached the app`);
    assert.ok(!name.includes('_'), `${name} (with "_") reached the app`);
  }
}

/**
 * The browser journeys of issue 6 through a real reverse proxy configured by outpost's printed
 * snippet, in both forward modes: sign-in and back, identity headers, public paths, forged
 * headers, and (forward_domain) one sign-in shared by two app hosts.
 */
export function describeRealProxy(kind: RealProxy): void {
  for (const mode of ['forward_single', 'forward_domain'] as const) {
    describe(`${kind} in ${mode}`, () => {
      let stack: Stack;
      before(async () => {
        stack = await startStack(kind, mode);
      });
      after(() => stack?.close());

      defineJourneys(() => stack, kind, mode);
    });
  }
}

function appOrigin(stack: Stack, mode: ForwardMode, label = 'app1'): string {
  return stack.origin(mode === 'forward_single' ? 'app' : label);
}

function defineJourneys(current: () => Stack, kind: RealProxy, mode: ForwardMode): void {
  test('an unauthenticated browser signs in and comes back to the URL it asked for', async () => {
    const stack = current();
    const browser = new Browser();
    const wanted = `${appOrigin(stack, mode)}/reports/q3?year=2024&sort=desc`;
    const page = await browser.visit(wanted);
    const signInOrigin = mode === 'forward_single' ? appOrigin(stack, mode) : stack.origin('auth');
    assert.equal(page.chain[0]?.status, 302);
    assert.equal(
      page.url,
      `${signInOrigin}/outpost.goauthentik.io/start?rd=${encodeURIComponent(wanted)}`,
    );
    assert.equal(stack.upstream.received.length, 0, 'nothing reached the app before sign-in');

    const back = await browser.signIn(page, 'alice');
    assert.equal(back.url, wanted);
    const record = appRecord(back);
    assert.equal(record.url, '/reports/q3?year=2024&sort=desc');
    // nginx never sends a header whose value is empty (alice has no entitlements)
    const expected = IDENTITY_HEADERS.filter(
      (name) => kind !== 'nginx' || name !== 'X-Authentik-Entitlements',
    );
    assert.deepEqual(Object.keys(authentikHeaders(record)).sort(), expected.sort());
    const headers = authentikHeaders(record);
    assert.equal(headers['X-Authentik-Username'], 'alice');
    assert.equal(headers['X-Authentik-Groups'], 'staff');
    assert.equal(headers['X-Authentik-Name'], 'Alice Łukasz');
    assert.equal(headers['X-Authentik-Meta-Jwks'], `${signInOrigin}/application/o/outpost/jwks/`);
    assert.deepEqual(headerValues(record, 'X-Tenant'), ['acme']);
  });

  test('a signed-in browser reaches the app with its identity, forged headers replaced', async () => {
    const stack = current();
    const browser = await signedIn(stack, mode, 'bob');
    const visit = await browser.visit(`${appOrigin(stack, mode)}/private`, {
      headers: FORGED,
    });
    const record = appRecord(visit);
    assert.deepEqual(headerValues(record, 'X-Authentik-Username'), ['bob']);
    // bob is in no group: an empty value, which nginx leaves out
    assert.deepEqual(headerValues(record, 'X-Authentik-Groups'), kind === 'nginx' ? [] : ['']);
    assert.deepEqual(headerValues(record, 'X-Tenant'), [], 'bob has no X-Tenant');
    assertNoForgedValue(record);
  });

  test('a public path passes without identity headers, forged ones dropped', async () => {
    const stack = current();
    const visit = await new Browser().visit(`${appOrigin(stack, mode)}/public/logo.svg?v=2`, {
      headers: FORGED,
    });
    const record = appRecord(visit);
    assert.equal(record.url, '/public/logo.svg?v=2');
    assert.deepEqual(authentikHeaders(record), {});
    assert.deepEqual(headerValues(record, 'X-Tenant'), []);
    assertNoForgedValue(record);
  });

  test('a forged header on a protected path never reaches the app before sign-in', async () => {
    const stack = current();
    const before = stack.upstream.received.length;
    const visit = await new Browser().visit(`${appOrigin(stack, mode)}/admin`, {
      headers: FORGED,
    });
    assert.match(visit.response.body, /name="state"/, 'the browser is on the sign-in page');
    assert.equal(stack.upstream.received.length, before);
  });

  test('a signed-in user on a public path gets their identity, not the forged one', async () => {
    const stack = current();
    const browser = await signedIn(stack, mode, 'alice');
    const visit = await browser.visit(`${appOrigin(stack, mode)}/public/x`, {
      headers: FORGED,
    });
    const record = appRecord(visit);
    assert.deepEqual(headerValues(record, 'X-Authentik-Username'), ['alice']);
    assertNoForgedValue(record);
  });

  test('an X-Authentik-* header outpost never sends does not reach the app either', async () => {
    const stack = current();
    const before = stack.upstream.received.length;
    const browser = await signedIn(stack, mode, 'alice');
    const visit = await browser.visit(`${appOrigin(stack, mode)}/public/x`, {
      headers: { 'X-Authentik-Impersonate': 'forged-root', 'x-authentik-tenant': 'forged-t' },
    });
    if (kind === 'nginx') {
      // nginx cannot delete a header it does not name, so outpost refuses the request
      assert.equal(visit.response.status, 403);
      assert.equal(
        stack.upstream.received.length,
        before + 1,
        'only the sign-in return got through',
      );
    } else {
      assertNoForgedValue(appRecord(visit));
    }
  });

  test("a browser asking outpost's auth endpoint itself never reaches the app", async () => {
    const stack = current();
    const before = stack.upstream.received.length;
    const response = await new Browser().send(
      `${appOrigin(stack, mode)}/outpost.goauthentik.io/auth/${kind}`,
      { headers: { 'X-Forwarded-Uri': '/public/x', 'X-Original-URL': 'http://x/public/x' } },
    );
    // nginx keeps the location internal; Caddy hands it to outpost, whose answer has no app in it
    if (kind === 'nginx') assert.equal(response.status, 404);
    assert.equal(response.body.includes('"headers"'), false);
    assert.equal(stack.upstream.received.length, before);
  });

  if (mode === 'forward_domain') defineSharedSignIn(current);
}

function defineSharedSignIn(current: () => Stack): void {
  test('two app hosts under one cookie domain share one sign-in', async () => {
    const stack = current();
    const browser = new Browser();
    const first = await browser.signIn(await browser.visit(`${stack.origin('app1')}/one`), 'alice');
    assert.equal(first.url, `${stack.origin('app1')}/one`);
    const callback = first.chain[0];
    assert.ok(callback?.url.startsWith(stack.origin('auth')), 'signed in on the external host');

    const second = await browser.visit(`${stack.origin('app2')}/two?x=1`);
    assert.deepEqual(second.chain, [{ url: `${stack.origin('app2')}/two?x=1`, status: 200 }]);
    assert.deepEqual(headerValues(appRecord(second), 'X-Authentik-Username'), ['alice']);
    assert.equal(browser.jar.headerFor(new URL(`http://elsewhere.example:1/`)), undefined);
    assert.ok(browser.jar.headerFor(new URL(`http://app9.${COOKIE_DOMAIN}/`)));
  });

  test('a host outside the cookie domain is not a place to return to', async () => {
    const stack = current();
    const browser = new Browser();
    const evil = `http://evil${COOKIE_DOMAIN}:${stack.proxy.port}/steal`;
    const start = `${stack.origin('auth')}/outpost.goauthentik.io/start?rd=${encodeURIComponent(evil)}`;
    const back = await browser.signIn(await browser.visit(start), 'alice');
    assert.ok(!back.chain.some((step) => step.url.startsWith(`http://evil`)));
  });
}

async function signedIn(stack: Stack, mode: ForwardMode, username: string): Promise<Browser> {
  const browser = new Browser();
  const page = await browser.visit(`${appOrigin(stack, mode)}/sign-me-in`);
  const back = await browser.signIn(page, username);
  assert.equal(back.response.status, 200);
  return browser;
}
