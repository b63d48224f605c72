import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { isOutpostError, type OutpostError } from '../../src/core/errors.js';
import {
  OidcProtocolError,
  discoverOidcClient,
  signInWithDeviceCode,
  type DeviceCodePrompt,
  type OidcClient,
} from '../../src/core/oidc/index.js';
import { startOidcProvider, type OidcProviderFixture } from '../fixtures/oidc-provider.js';
import { ALICE, BOB, aliceIdentity } from './helpers.js';

const LOGIN = { username: 'alice', password: 'wonderland' };

describe('the device authorization grant, confirmed over HTTP', () => {
  let op: OidcProviderFixture;
  let client: OidcClient;
  before(async () => {
    ({ op, client } = await deviceSetUp({}));
  });
  after(() => op.close());

  test('hands out the code, waits for the confirmation and gives the identity', async () => {
    const prompts: DeviceCodePrompt[] = [];

    const result = await signInWithDeviceCode(client, {
      onPrompt: async (prompt) => {
        prompts.push(prompt);
        await op.drive(op.browser(), prompt.verification_uri_complete ?? '', LOGIN);
      },
    });

    assert.equal(prompts.length, 1);
    assert.equal(prompts[0]?.verification_uri, `${op.issuer}/device`);
    assert.match(prompts[0]?.user_code ?? '', /^[A-Z]{4}-[A-Z]{4}$/);
    assert.ok((prompts[0]?.expires_in ?? 0) > 0);
    assert.deepEqual(result.identity, aliceIdentity(op.subOf('alice'), result.tokens.access_token));
    assert.ok(result.tokens.refresh_token);
  });

  test('works when the user types the code on the verification page', async () => {
    const result = await signInWithDeviceCode(client, {
      onPrompt: async (prompt) => {
        await op.drive(op.browser(), prompt.verification_uri, {
          username: 'bob',
          fields: { user_code: prompt.user_code },
        });
      },
    });

    assert.equal(result.identity.preferred_username, 'bob');
  });

  test('a declined confirmation is LOGIN_FAILED with access_denied', async () => {
    const error = await rejection(
      signInWithDeviceCode(client, {
        onPrompt: async (prompt) => {
          await op.drive(op.browser(), prompt.verification_uri_complete ?? '', {
            ...LOGIN,
            consent: 'deny',
          });
        },
      }),
    );

    assert.equal(error.code, 'LOGIN_FAILED');
    assert.ok(error instanceof OidcProtocolError);
    assert.equal(error.error, 'access_denied');
  });

  test('giving up through the signal is LOGIN_TIMEOUT', async () => {
    const error = await rejection(
      signInWithDeviceCode(client, { onPrompt: () => {}, signal: AbortSignal.timeout(300) }),
    );

    assert.equal(error.code, 'LOGIN_TIMEOUT');
    assert.match(error.hint ?? '', /again/);
  });
});

test('a code that expires before it is confirmed is LOGIN_TIMEOUT', async () => {
  const { op, client } = await deviceSetUp({ deviceCodeTtl: 2 });
  try {
    const error = await rejection(signInWithDeviceCode(client, { onPrompt: () => {} }));

    assert.equal(error.code, 'LOGIN_TIMEOUT');
    assert.match(error.message, /expired/);
  } finally {
    await op.close();
  }
});

test('slow_down makes the client wait five seconds longer (RFC 8628 §3.5)', async () => {
  const { op, client } = await deviceSetUp({ slowDownPolls: 1 });
  try {
    let confirmedAt = 0;
    const result = await signInWithDeviceCode(client, {
      onPrompt: async (prompt) => {
        await op.drive(op.browser(), prompt.verification_uri_complete ?? '', LOGIN);
        confirmedAt = Date.now();
      },
    });

    // poll 1 after the 1 s interval is told to slow down; poll 2 comes 1 + 5 s after it
    const waited = Date.now() - confirmedAt;
    assert.ok(waited >= 5500, `polled again after ${waited} ms`);
    assert.equal(result.identity.preferred_username, 'alice');
  } finally {
    await op.close();
  }
});

async function deviceSetUp(options: { deviceCodeTtl?: number; slowDownPolls?: number }) {
  const op = await startOidcProvider({ users: [ALICE, BOB], ...options });
  const client = await discoverOidcClient(
    { issuer: op.issuer, client_id: op.cliClient.client_id },
    { fetch: op.fetch },
  );
  return { op, client };
}

async function rejection(promise: Promise<unknown>): Promise<OutpostError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (failure: unknown) => failure,
  );
  assert.ok(isOutpostError(error), `not an OutpostError: ${String(error)}`);
  return error;
}
