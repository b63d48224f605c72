import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CookieJar, request } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import {
  authentikHeaders,
  headerValues,
  startRecordingUpstream,
  type RecordingUpstream,
} from '../helpers/recording-upstream.js';
import { signInWithForm } from '../helpers/sign-in.js';

const yaml = (upstream: string) => `
name: my-app
assigned_application_slug: my-app
outpost_name: local
internal_host: ${upstream}
install_id: my-team
skip_path_regex: |
  ^/api/health$
users:
  - username: alice
    name: Łukasz 李雷
    email: alice@example.com
    groups: [staff, admins]
    entitlements: [billing, reports]
    attributes:
      additionalHeaders:
        X-Tenant: acme
        x-authentik-email: overridden@example.com
  - username: bob
    groups: []
groups:
  - name: admins
    parent: staff
    attributes:
      additionalHeaders:
        X-Role: admin
        X-Level: 3
  - name: staff
    attributes:
      additionalHeaders:
        X-Role: staff
        x-lower: yes
`;

describe('serve: identity headers at the app', () => {
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({ yaml: yaml(upstream.url) });
  });
  after(async () => {
    await outpost.close();
    await upstream.close();
  });

  it('sends every header of SPEC 4 in Go casing, with merged attributes and UTF-8 values', async () => {
    const jar = new CookieJar();
    const back = await signInWithForm(
      `${outpost.httpUrl}/outpost.goauthentik.io/start`,
      jar,
      'alice',
    );
    assert.equal(back.status, 302);
    const res = await request(`${outpost.httpUrl}/dashboard?tab=1`, { jar });
    assert.equal(res.status, 200);
    const got = authentikHeaders(upstream.last());
    const jwt = got['X-Authentik-Jwt'];
    delete got['X-Authentik-Jwt'];
    assert.deepEqual(got, {
      'X-Authentik-Username': 'alice',
      'X-Authentik-Groups': 'staff|admins',
      'X-Authentik-Entitlements': 'billing|reports',
      // additionalHeaders are applied last and may override a built-in
      'X-Authentik-Email': 'overridden@example.com',
      'X-Authentik-Name': 'Łukasz 李雷',
      'X-Authentik-Uid': sha256('alice-my-team'),
      'X-Authentik-Meta-Jwks': `${outpost.httpUrl}/application/o/my-app/jwks/`,
      'X-Authentik-Meta-Outpost': 'local',
      'X-Authentik-Meta-Provider': 'my-app',
      'X-Authentik-Meta-App': 'my-app',
      'X-Authentik-Meta-Version': 'goauthentik.io/outpost/0.0.0-test',
    });
    const claims = JSON.parse(Buffer.from(jwt!.split('.')[1]!, 'base64url').toString('utf8'));
    assert.equal(claims.preferred_username, 'alice');
    assert.equal(claims.sub, sha256('alice-my-team'));
    assert.deepEqual(claims.groups, ['staff', 'admins']);
  });

  it('merges group attributes by group name, ancestors included, the user last', () => {
    const request = upstream.last();
    // admins and staff both set X-Role: staff sorts after admins, so staff wins
    assert.deepEqual(headerValues(request, 'X-Role'), ['staff']);
    assert.deepEqual(headerValues(request, 'X-Level'), ['3']);
    assert.deepEqual(headerValues(request, 'X-Tenant'), ['acme']);
    // an additionalHeaders key goes out in Go's canonical form
    assert.deepEqual(
      request.headers.filter(([name]) => name.toLowerCase() === 'x-lower').map(([name]) => name),
      ['X-Lower'],
    );
  });

  it('keeps the Host, sets X-Forwarded-*, keeps method, path, query and body', async () => {
    const jar = new CookieJar();
    await signInWithForm(`${outpost.httpUrl}/outpost.goauthentik.io/start`, jar, 'bob');
    const host = new URL(outpost.httpUrl).host;
    const res = await request(`${outpost.httpUrl}/submit/a%20b?x=1&y=%2F`, {
      jar,
      method: 'PUT',
      body: 'payload ✓',
      headers: { 'content-type': 'text/plain', 'X-Forwarded-Host': 'evil.test' },
    });
    assert.equal(res.status, 200);
    const got = upstream.last();
    assert.equal(got.method, 'PUT');
    assert.equal(got.url, '/submit/a%20b?x=1&y=%2F');
    assert.equal(got.body, 'payload ✓');
    assert.deepEqual(headerValues(got, 'host'), [host]);
    assert.deepEqual(headerValues(got, 'X-Forwarded-Host'), [host]);
    assert.deepEqual(headerValues(got, 'X-Forwarded-Proto'), ['http']);
    assert.deepEqual(headerValues(got, 'X-Forwarded-For'), ['127.0.0.1']);
    // a user with no groups still gets the header, empty
    assert.deepEqual(headerValues(got, 'X-Authentik-Groups'), ['']);
    assert.deepEqual(headerValues(got, 'X-Authentik-Name'), ['bob']);
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
