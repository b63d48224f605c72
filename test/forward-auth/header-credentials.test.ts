import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startOidcProvider, type OidcProviderFixture } from '../fixtures/oidc-provider.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { ask, identityOf } from './auth-client.js';

const APP = 'app.localhost:8080';
const APP_PASSWORD = 'svc-app-password-3';

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** What Traefik sends for a request to `uri` that carried `authorization`. */
function traefik(authorization?: string) {
  return {
    'X-Forwarded-Proto': 'http',
    'X-Forwarded-Host': APP,
    'X-Forwarded-Uri': '/api/items?page=2',
    ...(authorization ? { Authorization: authorization } : {}),
  };
}

describe('forward auth with a real provider: API clients with credentials', () => {
  let op: OidcProviderFixture;
  let outpost: TestOutpost;
  let strict: TestOutpost;
  before(async () => {
    op = await startOidcProvider({
      users: [{ username: 'svc-ci', groups: ['robots'], appPassword: APP_PASSWORD }],
    });
    const yaml = (intercept: boolean) =>
      [
        'mode: forward_single',
        `external_host: http://${APP}`,
        'internal_host: http://127.0.0.1:3000',
        `intercept_header_auth: ${intercept}`,
        ...op.oidcYaml(),
        '',
      ].join('\n');
    outpost = await startTestOutpost({ yaml: yaml(true) });
    strict = await startTestOutpost({ yaml: yaml(false) });
  });
  after(async () => {
    await outpost?.close();
    await strict?.close();
    await op?.close();
  });

  test('Basic credentials of a service account give 200 with its identity headers', async () => {
    const answer = await ask(outpost, '/outpost.goauthentik.io/auth/traefik', {
      headers: traefik(basic('svc-ci', APP_PASSWORD)),
    });
    assert.equal(answer.status, 200, answer.body);
    const identity = identityOf(answer);
    assert.equal(identity['X-Authentik-Username'], 'svc-ci');
    assert.equal(identity['X-Authentik-Groups'], 'robots');
    assert.equal(identity['X-Authentik-Uid'], op.subOf('svc-ci'));
    assert.ok(identity['X-Authentik-Jwt'], 'the access token the provider issued');

    const nginx = await ask(outpost, '/outpost.goauthentik.io/auth/nginx', {
      headers: {
        'X-Original-URL': `http://${APP}/api/items`,
        Authorization: `Bearer ${identity['X-Authentik-Jwt']}`,
      },
    });
    assert.equal(nginx.status, 200, 'the issued token, introspected, is accepted too');
    assert.equal(identityOf(nginx)['X-Authentik-Username'], 'svc-ci');
  });

  test('wrong credentials get the answer of a request without a session', async () => {
    const traefikAnswer = await ask(outpost, '/outpost.goauthentik.io/auth/traefik', {
      headers: traefik(basic('svc-ci', 'wrong')),
    });
    assert.equal(traefikAnswer.status, 302);
    assert.deepEqual(identityOf(traefikAnswer), {});
    const nginx = await ask(outpost, '/outpost.goauthentik.io/auth/nginx', {
      headers: { 'X-Original-URL': `http://${APP}/api`, Authorization: 'Bearer not-a-token' },
    });
    assert.equal(nginx.status, 401);
  });

  test('with intercept_header_auth: false the header is left to the app', async () => {
    const answer = await ask(strict, '/outpost.goauthentik.io/auth/traefik', {
      headers: traefik(basic('svc-ci', APP_PASSWORD)),
    });
    assert.equal(answer.status, 302);
    assert.deepEqual(identityOf(answer), {});
  });
});
