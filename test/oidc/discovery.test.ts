import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { isOutpostError } from '../../src/core/errors.js';
import { chooseScopes, discoverOidcClient, isLoopbackHost } from '../../src/core/oidc/index.js';
import { startOidcProvider, type OidcProviderFixture } from '../fixtures/oidc-provider.js';
import { ALICE } from './helpers.js';

describe('discovery against a plain-HTTP provider on loopback', () => {
  let op: OidcProviderFixture;
  before(async () => {
    op = await startOidcProvider({ users: [ALICE] });
  });
  after(() => op.close());

  test('reads the metadata and says what the provider can do', async () => {
    const client = await discoverOidcClient({ issuer: op.issuer, ...op.proxyClient });

    assert.equal(client.issuer, op.issuer);
    assert.equal(client.jwksUri, `${op.issuer}/jwks`);
    assert.equal(client.canRevoke, true);
    assert.equal(client.canIntrospect, true);
    assert.equal(client.canEndSession, true);
    assert.equal(client.canUseDeviceFlow, true);
    assert.deepEqual(client.scopes, [
      'openid',
      'profile',
      'email',
      'entitlements',
      'ak_proxy',
      'offline_access',
    ]);
  });

  test('warns once that the issuer is plain HTTP', async () => {
    const client = await discoverOidcClient({ issuer: op.issuer, ...op.proxyClient });

    assert.equal(client.warnings.length, 1);
    assert.match(client.warnings[0] ?? '', /plain HTTP/);
  });

  test('configured scopes win, with openid made sure of', async () => {
    const client = await discoverOidcClient({
      issuer: op.issuer,
      ...op.proxyClient,
      scopes: ['profile', 'groups'],
    });

    assert.deepEqual(client.scopes, ['openid', 'profile', 'groups']);
  });

  test('an issuer that differs from the provider’s own name is refused with a hint', async () => {
    const sameServerOtherName = op.issuer.replace('127.0.0.1', 'localhost');

    const error = await rejection(
      discoverOidcClient({ issuer: sameServerOtherName, ...op.proxyClient }),
    );

    assert.equal(error.code, 'PROVIDER_UNREACHABLE');
    assert.match(error.message, /discovery/);
    assert.match(error.hint ?? '', /exactly as the provider names itself/);
  });
});

test('offline_access is not asked for when the provider does not offer it', async () => {
  const op = await startOidcProvider({ users: [ALICE], offlineAccess: false });
  try {
    const client = await discoverOidcClient({ issuer: op.issuer, ...op.proxyClient });

    assert.deepEqual(client.scopes, ['openid', 'profile', 'email', 'entitlements', 'ak_proxy']);
  } finally {
    await op.close();
  }
});

test('a provider that does not answer is PROVIDER_UNREACHABLE, naming the reason', async () => {
  const port = await closedPort();

  const error = await rejection(
    discoverOidcClient({ issuer: `http://127.0.0.1:${port}`, client_id: 'x' }),
  );

  assert.equal(error.code, 'PROVIDER_UNREACHABLE');
  assert.match(error.message, /ECONNREFUSED/);
  assert.match(error.hint ?? '', /provider is running/);
});

test('plain HTTP is refused for an issuer that is not on loopback, before any request', async () => {
  const error = await rejection(
    discoverOidcClient({ issuer: 'http://auth.example.com/application/o/app/', client_id: 'x' }),
  );

  assert.equal(error.code, 'CONFIG_INVALID');
  assert.match(error.hint ?? '', /https/);
});

describe('discovery over HTTPS with a private CA', () => {
  let op: OidcProviderFixture;
  before(async () => {
    op = await startOidcProvider({ users: [ALICE], tls: true });
  });
  after(() => op.close());

  test('works with a fetch that trusts the CA, without any warning', async () => {
    const client = await discoverOidcClient(
      { issuer: op.issuer, ...op.proxyClient },
      { fetch: op.fetch },
    );

    assert.equal(client.issuer, op.issuer);
    assert.deepEqual(client.warnings, []);
  });

  test('fails on the untrusted certificate otherwise, with a hint about the CA', async () => {
    const error = await rejection(discoverOidcClient({ issuer: op.issuer, ...op.proxyClient }));

    assert.equal(error.code, 'PROVIDER_UNREACHABLE');
    assert.match(error.hint ?? '', /NODE_EXTRA_CA_CERTS/);
  });
});

test('chooseScopes adds offline_access only when supported', () => {
  assert.deepEqual(chooseScopes(undefined, ['openid']), [
    'openid',
    'profile',
    'email',
    'entitlements',
    'ak_proxy',
  ]);
  assert.equal(chooseScopes([], ['offline_access']).at(-1), 'offline_access');
  assert.deepEqual(chooseScopes(['openid', 'email'], ['offline_access']), ['openid', 'email']);
});

test('isLoopbackHost knows loopback names and addresses only', () => {
  for (const host of ['localhost', 'app.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of ['example.com', 'localhost.example.com', '10.0.0.1', '128.0.0.1', '::2']) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

async function rejection(promise: Promise<unknown>) {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (failure: unknown) => failure,
  );
  assert.ok(isOutpostError(error), `not an OutpostError: ${String(error)}`);
  return error;
}

/** A port that was free a moment ago, so that nothing answers on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
