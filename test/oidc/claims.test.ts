import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isOutpostError } from '../../src/core/errors.js';
import { completeClaims, lacksIdentityClaims } from '../../src/core/oidc/claims.js';
import { identityFromClaims } from '../../src/core/oidc/index.js';

test('maps authentik’s claims, sid and the nested ak_proxy, to an Identity', () => {
  const identity = identityFromClaims(
    {
      sub: 'u1',
      preferred_username: '李雷',
      name: 'Li Lei',
      email: 'li@example.com',
      groups: ['a', 'b'],
      entitlements: ['e'],
      sid: 'session-1',
      ak_proxy: {
        user_attributes: { additionalHeaders: { 'X-A': '1' } },
        backend_override: 'http://127.0.0.1:5000/ignored-path',
        host_header: 'h.internal',
        is_superuser: true,
      },
    },
    'the-token',
  );

  assert.deepEqual(identity, {
    sub: 'u1',
    preferred_username: '李雷',
    name: 'Li Lei',
    email: 'li@example.com',
    groups: ['a', 'b'],
    entitlements: ['e'],
    user_attributes: { additionalHeaders: { 'X-A': '1' } },
    backend_override: 'http://127.0.0.1:5000/ignored-path',
    host_header: 'h.internal',
    is_superuser: true,
    access_token: 'the-token',
    sid: 'session-1',
    source: 'oidc',
  });
});

test('values of the wrong type are ignored rather than trusted', () => {
  const identity = identityFromClaims(
    {
      sub: 'u1',
      preferred_username: 7,
      groups: ['ok', 3, null, { name: 'x' }],
      entitlements: 'not-a-list',
      ak_proxy: { user_attributes: ['x'], backend_override: 5, is_superuser: 'true' },
    },
    't',
  );

  assert.equal(identity.preferred_username, '');
  assert.deepEqual(identity.groups, ['ok']);
  assert.deepEqual(identity.entitlements, []);
  assert.deepEqual(identity.user_attributes, {});
  assert.equal(identity.backend_override, undefined);
  assert.equal(identity.is_superuser, false);
});

test('no sub is LOGIN_FAILED', () => {
  assert.throws(
    () => identityFromClaims({ preferred_username: 'x' }, 't'),
    (error: unknown) => isOutpostError(error) && error.code === 'LOGIN_FAILED',
  );
});

test('userinfo fills the gaps but never replaces a claim or changes the subject', () => {
  const merged = completeClaims(
    { sub: 'u1', name: 'From ID token' },
    { sub: 'u1', name: 'x', email: 'e' },
  );

  assert.deepEqual(merged, { sub: 'u1', name: 'From ID token', email: 'e' });
  assert.throws(
    () => completeClaims({ sub: 'u1' }, { sub: 'u2', email: 'e' }),
    (error: unknown) => isOutpostError(error) && error.code === 'LOGIN_FAILED',
  );
});

test('lacksIdentityClaims says when userinfo is worth asking', () => {
  const complete = {
    sub: 'u',
    preferred_username: 'u',
    name: '',
    email: '',
    groups: [],
    entitlements: [],
    ak_proxy: {},
  };

  assert.equal(lacksIdentityClaims(complete), false);
  assert.equal(lacksIdentityClaims({ ...complete, ak_proxy: undefined }), true);
});
