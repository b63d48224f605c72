import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CookieJar, request } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { signInWithForm } from '../helpers/sign-in.js';

const FORGED = {
  'X-Authentik-Username': 'mallory',
  'x-authentik-groups': 'admins',
  'X-AUTHENTIK-UID': 'forged-uid',
  X_Authentik_Username: 'mallory2',
  'x-authentik-meta-app': 'forged',
  X_Forwarded_Host: 'evil.test',
};

describe('serve: headers forged by the client never reach the app', () => {
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({
      yaml: `internal_host: ${upstream.url}\nskip_path_regex: "^/public/"\nusers:\n  - username: alice\n`,
    });
  });
  after(async () => {
    await outpost.close();
    await upstream.close();
  });

  const forgedSeen = () =>
    upstream
      .last()
      .headers.filter(
        ([name, value]) => /authentik|_/i.test(name) && /mallory|forged|admins|evil/.test(value),
      );

  it('strips them on a public path', async () => {
    const res = await request(`${outpost.httpUrl}/public/page`, { headers: FORGED });
    assert.equal(res.status, 200);
    assert.deepEqual(forgedSeen(), []);
    assert.equal(
      upstream.last().headers.filter(([name]) => /^x-authentik-/i.test(name)).length,
      0,
      'a public request carries no identity headers at all',
    );
  });

  it('strips them on a protected path and sends the real identity instead', async () => {
    const jar = new CookieJar();
    await signInWithForm(`${outpost.httpUrl}/outpost.goauthentik.io/start`, jar, 'alice');
    const res = await request(`${outpost.httpUrl}/private`, { jar, headers: FORGED });
    assert.equal(res.status, 200);
    assert.deepEqual(forgedSeen(), []);
    const usernames = upstream.last().headers.filter(([name]) => /username/i.test(name));
    assert.deepEqual(usernames, [['X-Authentik-Username', 'alice']]);
  });

  it('never forwards a protected request without a session', async () => {
    const before = upstream.received.length;
    const res = await request(`${outpost.httpUrl}/private?x=1`, { headers: FORGED });
    assert.equal(res.status, 302);
    assert.equal(upstream.received.length, before);
  });
});
