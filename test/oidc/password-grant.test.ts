import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { isOutpostError } from '../../src/core/errors.js';
import {
  createIntrospector,
  createPasswordExchange,
  discoverOidcClient,
  type OidcClient,
} from '../../src/core/oidc/index.js';
import { parseAuthorization } from '../../src/core/proxy/header-credentials.js';
import { ALICE, BOB, aliceIdentity, countingFetch, setUp, type Setup } from './helpers.js';

const APP_PASSWORD = 'alice-app-password-1';

describe("Basic credentials exchanged at the provider (authentik's app passwords)", () => {
  let setup: Setup;
  let counted: { client: OidcClient; count(path: string): number };
  before(async () => {
    setup = await setUp({ users: [{ ...ALICE, appPassword: APP_PASSWORD }, BOB] });
    const requests = countingFetch(setup.op.fetch);
    const client = await discoverOidcClient(
      { issuer: setup.op.issuer, ...setup.op.proxyClient },
      { fetch: requests.fetch },
    );
    counted = { client, count: requests.count };
  });
  after(() => setup.op.close());

  test("gives the account's identity, the same as its browser sign-in would", async () => {
    const exchange = createPasswordExchange(setup.client, () => assert.fail('not refused'));

    const identity = await exchange.exchange('alice', APP_PASSWORD);

    assert.ok(identity?.access_token, 'an access token for X-Authentik-Jwt');
    assert.deepEqual(identity, aliceIdentity(setup.op.subOf('alice'), identity.access_token));
    const introspected = await createIntrospector(setup.client).introspect(identity.access_token);
    assert.equal(introspected?.preferred_username, 'alice', 'the provider issued a real token');
  });

  test('a wrong password, an unknown user or a login password is refused, saying why', async () => {
    const refusals: string[] = [];
    const exchange = createPasswordExchange(setup.client, (user, why) =>
      refusals.push(`${user}: ${why}`),
    );

    assert.equal(await exchange.exchange('alice', 'wrong'), null);
    assert.equal(await exchange.exchange('mallory', APP_PASSWORD), null);
    assert.equal(await exchange.exchange('alice', 'wonderland'), null);

    assert.equal(refusals.length, 3);
    for (const line of refusals) assert.match(line, /invalid_grant \(invalid username or app/);
  });

  test('an accepted password is kept for the ttl; a refusal is never kept', async () => {
    let now = 5_000_000;
    const exchange = createPasswordExchange(counted.client, () => undefined, {
      ttlMs: 60_000,
      now: () => now,
    });
    const start = counted.count('/token');

    const [first, second] = await Promise.all([
      exchange.exchange('alice', APP_PASSWORD),
      exchange.exchange('alice', APP_PASSWORD),
    ]);
    assert.deepEqual(first, second);
    await exchange.exchange('alice', APP_PASSWORD);
    assert.equal(counted.count('/token') - start, 1, 'one request while the answer is fresh');

    await exchange.exchange('alice', 'wrong');
    await exchange.exchange('alice', 'wrong');
    assert.equal(counted.count('/token') - start, 3, 'each refused attempt asks again');

    now += 60_001;
    await exchange.exchange('alice', APP_PASSWORD);
    assert.equal(counted.count('/token') - start, 4, 'asked again once the ttl passed');
  });

  test('a provider that cannot be reached is an error, not a refusal', async () => {
    const down = await setUp({ users: [{ ...ALICE, appPassword: APP_PASSWORD }] });
    const exchange = createPasswordExchange(down.client, () => assert.fail('not a refusal'));
    await down.op.stop();
    try {
      await assert.rejects(
        exchange.exchange('alice', APP_PASSWORD),
        (error: unknown) => isOutpostError(error) && error.code === 'PROVIDER_UNREACHABLE',
      );
    } finally {
      await down.op.close();
    }
  });
});

describe('parseAuthorization', () => {
  const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

  test('reads Bearer and Basic, the username ending at the first colon', () => {
    assert.deepEqual(parseAuthorization('Bearer abc.def'), { kind: 'bearer', token: 'abc.def' });
    assert.deepEqual(parseAuthorization('bearer  xyz '), { kind: 'bearer', token: 'xyz' });
    assert.deepEqual(parseAuthorization(basic('svc:pa:ss')), {
      kind: 'basic',
      username: 'svc',
      password: 'pa:ss',
    });
    assert.deepEqual(parseAuthorization(basic('goauthentik.io/token:tok')), {
      kind: 'basic',
      username: 'goauthentik.io/token',
      password: 'tok',
    });
    assert.deepEqual(parseAuthorization(basic('李雷:密码')), {
      kind: 'basic',
      username: '李雷',
      password: '密码',
    });
  });

  test('gives null for other schemes and values that do not decode', () => {
    for (const header of [
      'Digest username="x"',
      'Bearer',
      'Bearer a b',
      'Basic',
      'Basic !!!!',
      'Basic YWJj', // "abc": no colon
      'Basic YWJjOmQ', // not a multiple of four characters
      'Negotiate abc',
    ]) {
      assert.equal(parseAuthorization(header), null, header);
    }
  });
});
