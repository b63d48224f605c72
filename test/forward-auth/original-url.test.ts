import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { originalUrlOf, type AuthRequest } from '../../src/core/forward-auth/original-url.js';

function request(headers: AuthRequest['headers'], rawTarget = '/x'): AuthRequest {
  return { headers, rawTarget, host: 'app.localhost:8080', scheme: 'http' };
}

describe('where each proxy puts the original URL', () => {
  test('traefik and caddy: X-Forwarded-Proto, -Host and -Uri, all three needed', () => {
    const full = {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'a.test',
      'x-forwarded-uri': '/p?q=1',
    };
    assert.deepEqual(originalUrlOf('traefik', request(full)), {
      ok: true,
      url: 'https://a.test/p?q=1',
    });
    assert.deepEqual(originalUrlOf('caddy', request({ 'x-forwarded-uri': 'p' })), {
      ok: false,
      missing: 'X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Uri',
    });
  });

  test('after several hops the nearest proxy, the last entry, is believed', () => {
    const hops = {
      'x-forwarded-proto': 'http, https',
      'x-forwarded-host': 'evil.test, a.test',
      'x-forwarded-uri': '/',
    };
    assert.deepEqual(originalUrlOf('traefik', request(hops)), { ok: true, url: 'https://a.test/' });
  });

  test('nginx: X-Original-URL, else X-Original-URI on the forwarded or own host', () => {
    assert.deepEqual(originalUrlOf('nginx', request({ 'x-original-url': 'http://b.test/z' })), {
      ok: true,
      url: 'http://b.test/z',
    });
    assert.deepEqual(originalUrlOf('nginx', request({ 'x-original-uri': '/z?y' })), {
      ok: true,
      url: 'http://app.localhost:8080/z?y',
    });
    assert.deepEqual(originalUrlOf('nginx', request({ 'x-original-uri': 'z' })), {
      ok: false,
      missing: 'X-Original-URL',
    });
  });

  test('nginx: a path-only X-Original-URI is on the given origin unless forwarded headers say', () => {
    const onExternal = { ...request({ 'x-original-uri': '/z' }), pathOrigin: 'https://e.test' };
    assert.deepEqual(originalUrlOf('nginx', onExternal), { ok: true, url: 'https://e.test/z' });
    const named = {
      ...onExternal,
      headers: { ...onExternal.headers, 'x-forwarded-host': 'f.test' },
    };
    assert.deepEqual(originalUrlOf('nginx', named), { ok: true, url: 'http://f.test/z' });
  });

  test('envoy: what follows the auth/envoy prefix, on the Host it sent', () => {
    const prefix = '/outpost.goauthentik.io/auth/envoy';
    assert.deepEqual(originalUrlOf('envoy', request({}, `${prefix}/a/b?c=d`)), {
      ok: true,
      url: 'http://app.localhost:8080/a/b?c=d',
    });
    assert.deepEqual(
      originalUrlOf('envoy', request({ 'x-forwarded-proto': 'https' }, `${prefix}?c`)),
      {
        ok: true,
        url: 'https://app.localhost:8080/?c',
      },
    );
  });
});
