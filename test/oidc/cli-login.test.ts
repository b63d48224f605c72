import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { isOutpostError, type OutpostError } from '../../src/core/errors.js';
import {
  OidcProtocolError,
  discoverOidcClient,
  loginWithBrowser,
  type OidcClient,
} from '../../src/core/oidc/index.js';
import {
  startOidcProvider,
  type BrowserResponse,
  type OidcProviderFixture,
} from '../fixtures/oidc-provider.js';
import { until } from '../helpers/until.js';
import { ALICE, aliceIdentity } from './helpers.js';

const LOGIN = { username: 'alice', password: 'wonderland' };

describe('CLI login through the browser, with a loopback redirect', () => {
  let op: OidcProviderFixture;
  let client: OidcClient;
  before(async () => {
    op = await startOidcProvider({ users: [ALICE] });
    client = await discoverOidcClient(
      { issuer: op.issuer, client_id: op.cliClient.client_id },
      { fetch: op.fetch },
    );
  });
  after(() => op.close());

  test('listens on 127.0.0.1, sends PKCE and finishes when the browser comes back', async () => {
    let finalPage: BrowserResponse | undefined;
    let authorizationUrl = '';

    const result = await loginWithBrowser(client, {
      onUrl: (url) => {
        authorizationUrl = url;
        // the browser runs on its own; the login must not wait for it to finish
        void op.drive(op.browser(), url, { ...LOGIN, follow: true }).then((out) => {
          finalPage = out.response;
        });
      },
    });

    const params = new URL(authorizationUrl).searchParams;
    assert.match(params.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.deepEqual(result.identity, aliceIdentity(op.subOf('alice'), result.tokens.access_token));
    await until('the browser to see the final page', () => finalPage);
    assert.equal(finalPage?.status, 200);
    assert.match(finalPage?.body ?? '', /Signed in/);
  });

  test('ignores requests without its state, and still finishes', async () => {
    const strays: number[] = [];

    const result = await loginWithBrowser(client, {
      onUrl: async (url) => {
        const callback = new URL(new URL(url).searchParams.get('redirect_uri') ?? '');
        callback.searchParams.set('state', 'forged');
        callback.searchParams.set('code', 'forged');
        strays.push((await fetch(callback)).status);
        strays.push((await fetch(new URL('/favicon.ico', callback))).status);
        void op.drive(op.browser(), url, { ...LOGIN, follow: true });
      },
    });

    assert.deepEqual(strays, [400, 404]);
    assert.equal(result.identity.preferred_username, 'alice');
  });

  test('a refusal at the provider fails the login and says so in the browser', async () => {
    let finalPage: BrowserResponse | undefined;

    const error = await rejection(
      loginWithBrowser(client, {
        onUrl: (url) => {
          void op
            .drive(op.browser(), url, { ...LOGIN, consent: 'deny', follow: true })
            .then((out) => (finalPage = out.response));
        },
      }),
    );

    assert.equal(error.code, 'PROVIDER_ERROR');
    assert.ok(error instanceof OidcProtocolError);
    assert.equal(error.error, 'access_denied');
    await until('the browser to see the final page', () => finalPage);
    assert.equal(finalPage?.status, 400);
    assert.match(finalPage?.body ?? '', /access_denied/);
  });

  test('a browser that never comes back is LOGIN_TIMEOUT, and the port is closed', async () => {
    let callback = '';

    const error = await rejection(
      loginWithBrowser(client, {
        timeoutMs: 200,
        onUrl: (url) => {
          callback = new URL(url).searchParams.get('redirect_uri') ?? '';
        },
      }),
    );

    assert.equal(error.code, 'LOGIN_TIMEOUT');
    assert.match(error.hint ?? '', /--device/);
    await assert.rejects(fetch(callback), TypeError);
  });

  test('a port in use is LOGIN_FAILED with a hint', async () => {
    const { createServer } = await import('node:net');
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    try {
      const error = await rejection(loginWithBrowser(client, { port, onUrl: () => {} }));

      assert.equal(error.code, 'LOGIN_FAILED');
      assert.match(error.hint ?? '', /in use/);
    } finally {
      busy.close();
    }
  });
});

async function rejection(promise: Promise<unknown>): Promise<OutpostError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (failure: unknown) => failure,
  );
  assert.ok(isOutpostError(error), `not an OutpostError: ${String(error)}`);
  return error;
}
