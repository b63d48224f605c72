import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CookieJar, request } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { signInWithForm } from '../helpers/sign-in.js';

const config = (upstream: string) => `
internal_host: ${upstream}
client_id: test-client
users:
  - username: alice
  - username: bob
`;

describe('serve: signing in with dev users', () => {
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;
  let cookieName: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({ yaml: config(upstream.url) });
    cookieName = outpost.context.cookieName;
  });
  after(async () => {
    await outpost.close();
    await upstream.close();
  });

  it('redirects to start with the full original URL, then back to it after sign-in', async () => {
    const jar = new CookieJar();
    const first = await request(`${outpost.httpUrl}/reports/2024?sort=desc&page=2`, { jar });
    assert.equal(first.status, 302);
    const start = new URL(first.headers.location!);
    assert.equal(start.pathname, '/outpost.goauthentik.io/start');
    assert.equal(start.searchParams.get('rd'), `${outpost.httpUrl}/reports/2024?sort=desc&page=2`);

    const back = await signInWithForm(start.href, jar, 'alice');
    assert.equal(back.status, 302);
    assert.equal(back.headers.location, `${outpost.httpUrl}/reports/2024?sort=desc&page=2`);
    const cookie = back.headers['set-cookie']!.find((line) => line.startsWith(`${cookieName}=`))!;
    assert.match(cookie, /; Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/);
    assert.doesNotMatch(cookie, /Secure/, 'an http external host gets no Secure cookie');
    assert.match(cookieName, /^authentik_proxy_[0-9a-f]{8}$/);

    const page = await request(back.headers.location!, { jar });
    assert.equal(page.status, 200);
    assert.equal(upstream.last().url, '/reports/2024?sort=desc&page=2');
  });

  it('names the cookie after SHA-256 of the client id', () => {
    assert.equal(cookieName, `authentik_proxy_${sha8('test-client')}`);
  });

  it('refuses a callback whose state is not bound to this browser', async () => {
    const victim = new CookieJar();
    const page = await request(`${outpost.httpUrl}/outpost.goauthentik.io/start`, { jar: victim });
    const state = /name="state" value="([^"]+)"/.exec(page.body)![1]!;
    const attacker = new CookieJar();
    const res = await request(
      `${outpost.httpUrl}/outpost.goauthentik.io/callback?X-authentik-auth-callback=true`,
      {
        method: 'POST',
        jar: attacker,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `state=${state}&user=alice`,
      },
    );
    assert.equal(res.status, 400);
    assert.equal(attacker.get(cookieName), undefined);
  });

  it('does not accept a used state twice', async () => {
    const jar = new CookieJar();
    const page = await request(`${outpost.httpUrl}/outpost.goauthentik.io/start`, { jar });
    const state = /name="state" value="([^"]+)"/.exec(page.body)![1]!;
    const post = () =>
      request(`${outpost.httpUrl}/outpost.goauthentik.io/callback?X-authentik-auth-callback=true`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: `${cookieName}_signin=${state}`,
        },
        body: `state=${state}&user=alice`,
      });
    assert.equal((await post()).status, 302);
    assert.equal((await post()).status, 400);
  });

  it('treats garbled, forged and unknown cookies as signed out and clears them', async () => {
    for (const value of ['garbage', 'a'.repeat(43) + '.' + 'b'.repeat(43), '%%%;;', '']) {
      const res = await request(`${outpost.httpUrl}/private`, {
        headers: { cookie: `${cookieName}=${value}` },
      });
      assert.equal(res.status, 302, `cookie ${JSON.stringify(value)}`);
      const cleared = res.headers['set-cookie']?.find((line) => line.startsWith(`${cookieName}=;`));
      assert.ok(cleared && /Max-Age=0/.test(cleared), 'the stale cookie is cleared');
    }
  });

  it('keeps only the redirect targets on the external host', async () => {
    for (const rd of [
      'https://evil.test/',
      '//evil.test',
      '/\\evil.test',
      'https:evil.test',
      'javascript:alert(1)',
    ]) {
      const jar = new CookieJar();
      const back = await signInWithForm(
        `${outpost.httpUrl}/outpost.goauthentik.io/start?rd=${encodeURIComponent(rd)}`,
        jar,
        'alice',
      );
      assert.equal(new URL(back.headers.location!).origin, outpost.httpUrl, `rd ${rd}`);
    }
  });

  it('signs out every session of the same user, and only those', async () => {
    const [alice1, alice2, bob] = [new CookieJar(), new CookieJar(), new CookieJar()];
    const start = `${outpost.httpUrl}/outpost.goauthentik.io/start`;
    await signInWithForm(start, alice1, 'alice');
    await signInWithForm(start, alice2, 'alice');
    await signInWithForm(start, bob, 'bob');
    const out = await request(`${outpost.httpUrl}/outpost.goauthentik.io/sign_out`, {
      jar: alice1,
    });
    assert.equal(out.status, 302);
    assert.match(out.headers.location!, /\/outpost\.goauthentik\.io\/start/);
    assert.equal((await request(`${outpost.httpUrl}/x`, { jar: alice2 })).status, 302);
    assert.equal((await request(`${outpost.httpUrl}/x`, { jar: bob })).status, 200);
  });

  it('answers ping with 204 and an empty body', async () => {
    const res = await request(`${outpost.httpUrl}/outpost.goauthentik.io/ping`);
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
  });

  it('answers 401 instead of a redirect to API clients that send Authorization', async () => {
    const res = await request(`${outpost.httpUrl}/api/items`, {
      headers: { authorization: 'Bearer x' },
    });
    assert.equal(res.status, 401);
  });

  it('signs in directly from ?user= for links and tests', async () => {
    const jar = new CookieJar();
    const res = await request(`${outpost.httpUrl}/outpost.goauthentik.io/start?user=bob`, { jar });
    assert.equal(res.status, 302);
    assert.equal((await request(`${outpost.httpUrl}/x`, { jar })).status, 200);
    assert.match(
      upstream.last().headers.find(([name]) => name === 'X-Authentik-Username')![1],
      /^bob$/,
    );
  });
});

describe('serve: sessions on disk', () => {
  it('survive a restart of the proxy', async () => {
    const upstream = await startRecordingUpstream();
    const stateDir = mkdtempSync(join(tmpdir(), 'outpost-state-'));
    const one = await startTestOutpost({ yaml: config(upstream.url), stateDir });
    const jar = new CookieJar();
    await signInWithForm(`${one.httpUrl}/outpost.goauthentik.io/start`, jar, 'alice');
    await one.close();

    const two = await startTestOutpost({ yaml: config(upstream.url), stateDir });
    try {
      // the jar holds a cookie for 127.0.0.1, whatever the port
      const res = await request(`${two.httpUrl}/after-restart`, { jar });
      assert.equal(res.status, 200);
      assert.equal(upstream.last().url, '/after-restart');
    } finally {
      await two.close();
      await upstream.close();
    }
  });

  it('treat a corrupt session file as signed out and keep serving', async () => {
    const upstream = await startRecordingUpstream();
    const stateDir = mkdtempSync(join(tmpdir(), 'outpost-state-'));
    const outpost = await startTestOutpost({ yaml: config(upstream.url), stateDir });
    try {
      const jar = new CookieJar();
      await signInWithForm(`${outpost.httpUrl}/outpost.goauthentik.io/start`, jar, 'alice');
      const dir = join(outpost.stateDir, 'sessions', outpost.context.cookieName.slice(16));
      const [file] = readdirSync(dir);
      writeFileSync(join(dir, file!), '{not json');
      // the cached copy is still good in this process; a restart reads the file again
      await outpost.close();
      const again = await startTestOutpost({ yaml: config(upstream.url), stateDir });
      try {
        assert.equal((await request(`${again.httpUrl}/x`, { jar })).status, 302);
        assert.ok(
          again.warnings.some((line) => /corrupt/.test(line)),
          again.warnings.join('\n'),
        );
      } finally {
        await again.close();
      }
    } finally {
      await upstream.close();
    }
  });
});

function sha8(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}
