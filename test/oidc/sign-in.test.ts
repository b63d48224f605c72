import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { isOutpostError, type OutpostError } from '../../src/core/errors.js';
import {
  OidcProtocolError,
  discoverOidcClient,
  finishSignIn,
  startSignIn,
} from '../../src/core/oidc/index.js';
import { verifySymmetricIdToken } from '../../src/core/oidc/id-token.js';
import {
  ALICE,
  REDIRECT_URI,
  aliceIdentity,
  countingFetch,
  setUp,
  signIn,
  tamperingFetch,
  withFetch,
  type Setup,
} from './helpers.js';

describe('the authorization request', () => {
  let setup: Setup;
  before(async () => {
    setup = await setUp();
  });
  after(() => setup.op.close());

  test('carries PKCE S256, state, nonce and the redirect_uri with its query', async () => {
    const { url, pending } = await startSignIn(setup.client, {
      redirect_uri: REDIRECT_URI,
      rd: 'https://app.localhost:9443/page?x=1',
    });
    const params = new URL(url).searchParams;

    assert.ok(url.startsWith(`${setup.op.issuer}/auth?`));
    assert.equal(params.get('response_type'), 'code');
    assert.equal(params.get('client_id'), setup.op.proxyClient.client_id);
    assert.equal(params.get('redirect_uri'), REDIRECT_URI);
    assert.equal(params.get('scope'), 'openid profile email entitlements ak_proxy offline_access');
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.equal(params.get('code_challenge'), s256(pending.code_verifier));
    assert.equal(params.get('state'), pending.state);
    assert.equal(params.get('nonce'), pending.nonce);
    assert.equal(pending.redirect_uri, REDIRECT_URI);
    assert.equal(pending.rd, 'https://app.localhost:9443/page?x=1');
  });

  test('is fresh every time', async () => {
    const first = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const second = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });

    assert.notEqual(first.pending.state, second.pending.state);
    assert.notEqual(first.pending.nonce, second.pending.nonce);
    assert.notEqual(first.pending.code_verifier, second.pending.code_verifier);
    assert.ok(first.pending.state.length >= 32);
  });
});

describe('the code flow, driven over HTTP', () => {
  let setup: Setup;
  before(async () => {
    setup = await setUp();
  });
  after(() => setup.op.close());

  test('gives the identity of the claims, nested ak_proxy included', async () => {
    const { identity, tokens } = await signIn(setup);

    assert.deepEqual(identity, aliceIdentity(setup.op.subOf('alice'), tokens.access_token));
  });

  test('keeps the tokens, refresh token included, with the access token’s expiry', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { tokens } = await signIn(setup);

    assert.ok(tokens.access_token);
    assert.ok(tokens.refresh_token, 'offline_access should give a refresh token');
    assert.equal(tokens.id_token?.split('.').length, 3);
    assert.ok(Math.abs(tokens.expires_at - (before + 300)) <= 2, `${tokens.expires_at}`);
  });

  test('a user with no optional claims gets empty values, not errors', async () => {
    const { identity } = await signIn(setup, 'bob');

    assert.equal(identity.preferred_username, 'bob');
    assert.deepEqual(identity.groups, []);
    assert.deepEqual(identity.user_attributes, {});
    assert.equal(identity.is_superuser, false);
    assert.equal(identity.backend_override, undefined);
  });

  test('a replayed code is refused by the provider', async () => {
    const { url, pending } = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const { leftTo } = await setup.op.drive(setup.op.browser(), url, ALICE_LOGIN);
    await finishSignIn(setup.client, leftTo ?? '', pending);

    const error = await rejection(finishSignIn(setup.client, leftTo ?? '', pending));

    assert.equal(error.code, 'LOGIN_FAILED');
    assert.ok(error instanceof OidcProtocolError);
    assert.equal(error.error, 'invalid_grant');
  });

  test('a wrong state is STATE_MISMATCH, and the code is not spent', async () => {
    const { url, pending } = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const { leftTo } = await setup.op.drive(setup.op.browser(), url, ALICE_LOGIN);

    const error = await rejection(
      finishSignIn(setup.client, leftTo ?? '', { ...pending, state: 'another-browser' }),
    );
    assert.equal(error.code, 'STATE_MISMATCH');

    const { identity } = await finishSignIn(setup.client, leftTo ?? '', pending);
    assert.equal(identity.preferred_username, 'alice');
  });

  test('the callback of another sign-in is STATE_MISMATCH', async () => {
    const mine = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const theirs = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const { leftTo } = await setup.op.drive(setup.op.browser(), theirs.url, ALICE_LOGIN);

    const error = await rejection(finishSignIn(setup.client, leftTo ?? '', mine.pending));

    assert.equal(error.code, 'STATE_MISMATCH');
  });

  test('a nonce that does not match is refused', async () => {
    const { url, pending } = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const { leftTo } = await setup.op.drive(setup.op.browser(), url, ALICE_LOGIN);

    const error = await rejection(
      finishSignIn(setup.client, leftTo ?? '', { ...pending, nonce: 'replayed' }),
    );

    assert.equal(error.code, 'LOGIN_FAILED');
    assert.match(error.message, /nonce/);
  });

  test('a response naming another issuer is refused (RFC 9207)', async () => {
    const { url, pending } = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const { leftTo } = await setup.op.drive(setup.op.browser(), url, ALICE_LOGIN);
    const forged = new URL(leftTo ?? '');
    forged.searchParams.set('iss', 'https://evil.example/');

    const error = await rejection(finishSignIn(setup.client, forged, pending));

    assert.equal(error.code, 'LOGIN_FAILED');
    assert.match(error.message, /another issuer/);
  });

  test('a PKCE verifier that does not match is refused by the provider', async () => {
    const { url, pending } = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const { leftTo } = await setup.op.drive(setup.op.browser(), url, ALICE_LOGIN);

    const error = await rejection(
      finishSignIn(setup.client, leftTo ?? '', { ...pending, code_verifier: 'x'.repeat(43) }),
    );

    assert.ok(error instanceof OidcProtocolError);
    assert.equal(error.error, 'invalid_grant');
  });

  test('an ID token altered on the way is refused (RS256, checked against the JWKS)', async () => {
    const tampered = await withFetch(setup, tamperingFetch(setup.op.fetch));

    const error = await rejection(signIn(tampered));

    assert.equal(error.code, 'LOGIN_FAILED');
    assert.match(error.message, /signature/);
  });

  test('access_denied at the provider is PROVIDER_ERROR with the provider’s words', async () => {
    const { url, pending } = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
    const { leftTo } = await setup.op.drive(setup.op.browser(), url, {
      ...ALICE_LOGIN,
      consent: 'deny',
    });

    const error = await rejection(finishSignIn(setup.client, leftTo ?? '', pending));

    assert.equal(error.code, 'PROVIDER_ERROR');
    assert.ok(error instanceof OidcProtocolError);
    assert.equal(error.error, 'access_denied');
    assert.equal(error.error_description, 'End-User aborted interaction');
    assert.match(error.message, /access_denied: End-User aborted interaction/);
  });
});

describe('providers that keep claims out of the ID token', () => {
  let setup: Setup;
  let userinfo: ReturnType<typeof countingFetch>;
  before(async () => {
    setup = await setUp({ claimsInIdToken: false });
    userinfo = countingFetch(setup.op.fetch);
    const { op } = setup;
    const client = await discoverOidcClient(
      { issuer: op.issuer, ...op.proxyClient },
      { fetch: userinfo.fetch },
    );
    setup = { op, client };
  });
  after(() => setup.op.close());

  test('have the claims completed from userinfo', async () => {
    const { identity, tokens } = await signIn(setup);

    assert.deepEqual(identity, aliceIdentity(setup.op.subOf('alice'), tokens.access_token));
    assert.equal(userinfo.count('/me'), 1);
  });
});

describe('HS256 ID tokens (authentik without a signing key)', () => {
  let setup: Setup;
  before(async () => {
    setup = await setUp({ idTokenAlg: 'HS256' });
  });
  after(() => setup.op.close());

  test('are checked with the client secret', async () => {
    const { identity, tokens } = await signIn(setup);

    assert.equal(identity.preferred_username, ALICE.username);
    assert.equal(
      JSON.parse(Buffer.from(tokens.id_token?.split('.')[0] ?? '', 'base64url').toString()).alg,
      'HS256',
    );
    assert.doesNotThrow(() =>
      verifySymmetricIdToken(tokens.id_token ?? '', setup.op.proxyClient.client_secret),
    );
  });

  test('an ID token altered on the way is refused', async () => {
    const tampered = await withFetch(setup, tamperingFetch(setup.op.fetch));

    const error = await rejection(signIn(tampered));

    assert.equal(error.code, 'LOGIN_FAILED');
    assert.match(error.message, /HS256 signature is wrong/);
  });

  test('a MAC made with another secret is refused', async () => {
    const { tokens } = await signIn(setup);

    const error = catching(() => verifySymmetricIdToken(tokens.id_token ?? '', 'not-the-secret'));

    assert.equal(error.code, 'LOGIN_FAILED');
    assert.match(error.message, /signature is wrong/);
  });

  test('without a client secret there is nothing to check with, so it is refused', async () => {
    const { tokens } = await signIn(setup);

    const error = catching(() => verifySymmetricIdToken(tokens.id_token ?? '', undefined));

    assert.match(error.hint ?? '', /client_secret/);
  });
});

const ALICE_LOGIN = { username: 'alice', password: 'wonderland' };

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

async function rejection(promise: Promise<unknown>): Promise<OutpostError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (failure: unknown) => failure,
  );
  assert.ok(isOutpostError(error), `not an OutpostError: ${String(error)}`);
  return error;
}

function catching(work: () => void): OutpostError {
  try {
    work();
  } catch (error) {
    assert.ok(isOutpostError(error));
    return error;
  }
  return assert.fail('expected an error');
}
