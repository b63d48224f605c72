import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { isOutpostError, type OutpostError } from '../../src/core/errors.js';
import {
  OidcProtocolError,
  buildEndSessionUrl,
  createIntrospector,
  discoverOidcClient,
  finishSignIn,
  startSignIn,
  isExpiring,
  refreshSignIn,
  revokeTokens,
  signInWithDeviceCode,
} from '../../src/core/oidc/index.js';
import {
  POST_LOGOUT_URI,
  REDIRECT_URI,
  aliceIdentity,
  countingFetch,
  setUp,
  signIn,
  withFetch,
  type Setup,
} from './helpers.js';

describe('refresh with a short-lived access token', () => {
  let setup: Setup;
  before(async () => {
    setup = await setUp({ accessTokenTtl: 2 });
  });
  after(() => setup.op.close());

  test('renews the access token after it expired and keeps the identity', async () => {
    const first = await signIn(setup);
    const introspector = createIntrospector(setup.client, { ttlMs: 0 });
    await waitUntilExpired(first.tokens.expires_at);
    assert.equal(isExpiring(first.tokens, 0), true);
    assert.equal(await introspector.introspect(first.tokens.access_token), null);

    const renewed = await refreshSignIn(setup.client, first.tokens, first.identity);

    assert.notEqual(renewed.tokens.access_token, first.tokens.access_token);
    assert.ok(renewed.tokens.expires_at > first.tokens.expires_at);
    assert.ok(renewed.tokens.refresh_token);
    assert.ok(renewed.tokens.id_token);
    const expected = aliceIdentity(setup.op.subOf('alice'), renewed.tokens.access_token);
    assert.deepEqual(renewed.identity, expected);
    assert.deepEqual(await introspector.introspect(renewed.tokens.access_token), expected);
  });

  test('fails with REFRESH_FAILED once the refresh token is revoked', async () => {
    const { tokens, identity } = await signIn(setup);
    assert.equal(await revokeTokens(setup.client, tokens), 'revoked');

    const error = await rejection(refreshSignIn(setup.client, tokens, identity));

    assert.equal(error.code, 'REFRESH_FAILED');
    assert.ok(error instanceof OidcProtocolError);
    assert.equal(error.error, 'invalid_grant');
  });

  test('without a refresh token says the user must sign in again', async () => {
    const { tokens, identity } = await signIn(setup);
    const { refresh_token: _dropped, ...withoutRefresh } = tokens;

    const error = await rejection(refreshSignIn(setup.client, withoutRefresh, identity));

    assert.equal(error.code, 'NOT_LOGGED_IN');
  });
});

describe('revocation, end session and introspection', () => {
  let setup: Setup;
  let counted: Setup;
  let requests: ReturnType<typeof countingFetch>;
  before(async () => {
    setup = await setUp();
    requests = countingFetch(setup.op.fetch);
    counted = await withFetch(setup, requests.fetch);
  });
  after(() => setup.op.close());

  test('revocation makes the access token inactive at the provider', async () => {
    const { tokens } = await signIn(setup);
    const introspector = createIntrospector(setup.client, { ttlMs: 0 });
    assert.notEqual(await introspector.introspect(tokens.access_token), null);

    assert.equal(await revokeTokens(setup.client, tokens), 'revoked');

    assert.equal(await introspector.introspect(tokens.access_token), null);
  });

  test('a provider without a revocation endpoint is said so, not an error', async () => {
    const { tokens } = await signIn(setup);

    assert.equal(await revokeTokens({ ...setup.client, canRevoke: false }, tokens), 'unsupported');
  });

  test('the end-session URL carries id_token_hint, post_logout_redirect_uri and client_id', async () => {
    const { tokens } = await signIn(setup);

    const url = new URL(
      buildEndSessionUrl(setup.client, {
        id_token_hint: tokens.id_token ?? '',
        post_logout_redirect_uri: POST_LOGOUT_URI,
      }) ?? '',
    );

    assert.equal(url.origin + url.pathname, `${setup.op.issuer}/session/end`);
    assert.equal(url.searchParams.get('id_token_hint'), tokens.id_token);
    assert.equal(url.searchParams.get('post_logout_redirect_uri'), POST_LOGOUT_URI);
    assert.equal(url.searchParams.get('client_id'), setup.op.proxyClient.client_id);
  });

  test('following the end-session URL ends the provider session and comes back', async () => {
    const browser = setup.op.browser();
    const started = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const login = { username: 'alice', password: 'wonderland' };
    const { leftTo } = await setup.op.drive(browser, started.url, login);
    const { tokens } = await finishSignIn(setup.client, leftTo ?? '', started.pending);
    const endSession = buildEndSessionUrl(setup.client, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: POST_LOGOUT_URI,
    });

    const out = await setup.op.drive(browser, endSession ?? '', login);
    assert.equal(out.leftTo, POST_LOGOUT_URI);

    const again = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const page = await browser.get(again.url);
    const loginPage = await browser.get(page.location ?? '');
    assert.match(loginPage.body, /data-page="login"/, 'the provider should ask to log in again');
  });

  test('no end_session_endpoint gives null', () => {
    assert.equal(buildEndSessionUrl({ ...setup.client, canEndSession: false }, {}), null);
  });

  test('introspection gives the identity of a bearer token, and null for garbage', async () => {
    const { tokens } = await signIn(setup);
    const introspector = createIntrospector(setup.client);

    const identity = await introspector.introspect(tokens.access_token);

    assert.deepEqual(identity, aliceIdentity(setup.op.subOf('alice'), tokens.access_token));
    assert.equal(await introspector.introspect('not-a-token'), null);
  });

  test('answers are cached briefly: one request per token until the ttl passes', async () => {
    const { tokens } = await signIn(setup);
    let now = 1_000_000;
    const introspector = createIntrospector(counted.client, { ttlMs: 30_000, now: () => now });
    const before = requests.count('/token/introspection');

    await Promise.all([
      introspector.introspect(tokens.access_token),
      introspector.introspect(tokens.access_token),
    ]);
    await introspector.introspect(tokens.access_token);
    assert.equal(requests.count('/token/introspection') - before, 1);

    await revokeTokens(setup.client, tokens);
    assert.notEqual(await introspector.introspect(tokens.access_token), null, 'still cached');
    now += 30_001;
    assert.equal(await introspector.introspect(tokens.access_token), null);
    assert.equal(requests.count('/token/introspection') - before, 2);
  });

  test('a token issued to another client is refused even though the provider calls it active', async () => {
    const cli = await withCliClient(setup);
    const other = await signInWithDeviceCode(cli.client, {
      onPrompt: async (prompt) => {
        await setup.op.drive(setup.op.browser(), prompt.verification_uri_complete ?? '', {
          username: 'alice',
          password: 'wonderland',
        });
      },
    });
    const raw = await askProviderDirectly(setup, other.tokens.access_token);
    assert.equal(raw.active, true);
    assert.equal(raw.client_id, setup.op.cliClient.client_id);

    const introspector = createIntrospector(setup.client);

    assert.equal(await introspector.introspect(other.tokens.access_token), null);
  });

  test('a provider without introspection is refused when the introspector is made', () => {
    assert.throws(
      () => createIntrospector({ ...setup.client, canIntrospect: false }),
      (error: unknown) => isOutpostError(error) && error.code === 'PROVIDER_ERROR',
    );
  });
});

describe('introspection answers without the user’s claims', () => {
  let setup: Setup;
  before(async () => {
    setup = await setUp({ claimsInIntrospection: false });
  });
  after(() => setup.op.close());

  test('are completed from userinfo with the bearer token', async () => {
    const { tokens } = await signIn(setup);

    const identity = await createIntrospector(setup.client).introspect(tokens.access_token);

    assert.deepEqual(identity, aliceIdentity(setup.op.subOf('alice'), tokens.access_token));
  });
});

async function withCliClient(setup: Setup): Promise<Setup> {
  const client = await discoverOidcClient(
    { issuer: setup.op.issuer, client_id: setup.op.cliClient.client_id },
    { fetch: setup.op.fetch },
  );
  return { op: setup.op, client };
}

/** RFC 7662 by hand, to see what the provider itself says about a token. */
async function askProviderDirectly(setup: Setup, token: string) {
  const { client_id, client_secret } = setup.op.proxyClient;
  const response = await fetch(`${setup.op.issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
  return (await response.json()) as { active: boolean; client_id?: string };
}

async function waitUntilExpired(expiresAt: number): Promise<void> {
  const wait = expiresAt * 1000 - Date.now() + 50;
  if (wait > 0) await sleep(wait);
}

async function rejection(promise: Promise<unknown>): Promise<OutpostError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (failure: unknown) => failure,
  );
  assert.ok(isOutpostError(error), `not an OutpostError: ${String(error)}`);
  return error;
}
