import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CookieJar, request, type Response } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { signInWithForm } from '../helpers/sign-in.js';
import { startOidcStack, type OidcStack } from './oidc-stack.js';

/** `rd` values that try to leave the external host; `{ext}` is its host:port. */
const HOSTILE_RD = [
  'https://evil.test/',
  '//evil.test',
  '///evil.test',
  '/\\evil.test',
  '\\\\evil.test',
  '\\/evil.test',
  'https:evil.test',
  'https:/evil.test',
  'HTTPS://EVIL.TEST/',
  '\t//evil.test',
  '%09//evil.test',
  ' //evil.test',
  '/%0a/evil.test',
  'https://{ext}@evil.test/',
  'http://{ext}@evil.test/',
  'https://evil.test\\@{ext}/',
  'http://evil.test#@{ext}/',
  'http://evil.test?@{ext}/',
  'http://{ext}.evil.test/',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'https://evil。test/',
];

/** Every value, raw and as a browser would percent-encode it once more. */
function variants(ext: string): string[] {
  const raw = HOSTILE_RD.map((rd) => rd.replaceAll('{ext}', ext));
  return [...raw, ...raw.map((rd) => encodeURIComponent(rd))];
}

function landsOn(res: Response, origin: string, what: string): void {
  assert.equal(res.status, 302, `${what}: ${res.body.slice(0, 200)}`);
  const location = new URL(res.headers.location!, origin);
  assert.equal(location.origin, origin, `${what} sent the browser to ${res.headers.location}`);
}

describe('open redirects in proxy mode: every rd lands on the external host', () => {
  let preset: TestOutpost;
  let dev: TestOutpost;

  before(async () => {
    preset = await startTestOutpost({ yaml: 'users: [{username: alice}]\n', presetUser: 'alice' });
    dev = await startTestOutpost({ yaml: 'users: [{username: alice}]\n' });
  });
  after(async () => {
    await preset.close();
    await dev.close();
  });

  it('start, which redirects at once for a preset user', async () => {
    const ext = new URL(preset.httpUrl).host;
    for (const rd of variants(ext)) {
      const res = await request(
        `${preset.httpUrl}/outpost.goauthentik.io/start?rd=${encodeURIComponent(rd)}`,
      );
      landsOn(res, preset.httpUrl, `rd ${JSON.stringify(rd)}`);
    }
  });

  it('the dev sign-in form, after choosing a user', async () => {
    const ext = new URL(dev.httpUrl).host;
    for (const rd of variants(ext).filter((_, index) => index % 2 === 0)) {
      const jar = new CookieJar();
      const start = `${dev.httpUrl}/outpost.goauthentik.io/start?rd=${encodeURIComponent(rd)}`;
      landsOn(await signInWithForm(start, jar, 'alice'), dev.httpUrl, `rd ${JSON.stringify(rd)}`);
    }
  });

  it('keeps an rd on the external host, query and all', async () => {
    const rd = `${preset.httpUrl}/reports?a=1&b=%2F`;
    const res = await request(
      `${preset.httpUrl}/outpost.goauthentik.io/start?rd=${encodeURIComponent(rd)}`,
    );
    assert.equal(res.headers.location, rd);
  });

  it('sign-out, by endpoint and by query marker, ignores rd', async () => {
    const ext = new URL(dev.httpUrl).host;
    for (const rd of variants(ext).slice(0, 12)) {
      const jar = new CookieJar();
      await signInWithForm(`${dev.httpUrl}/outpost.goauthentik.io/start`, jar, 'alice');
      const query = `rd=${encodeURIComponent(rd)}`;
      const out = await request(`${dev.httpUrl}/outpost.goauthentik.io/sign_out?${query}`, { jar });
      landsOn(out, dev.httpUrl, `sign_out with ${JSON.stringify(rd)}`);
      const marker = await request(`${dev.httpUrl}/any?X-authentik-logout=true&${query}`);
      landsOn(marker, dev.httpUrl, `logout marker with ${JSON.stringify(rd)}`);
    }
  });
});

describe('open redirects in forward_domain mode: only hosts under cookie_domain', () => {
  let outpost: TestOutpost;
  const external = 'http://auth.example.test';

  before(async () => {
    outpost = await startTestOutpost({
      yaml: [
        'mode: forward_domain',
        `external_host: ${external}`,
        'cookie_domain: example.test',
        'users: [{username: alice}]',
        '',
      ].join('\n'),
    });
  });
  after(() => outpost.close());

  /** The dev sign-in on the external host, reached through the Host header. */
  async function signInFor(rd: string): Promise<Response> {
    const host = { host: 'auth.example.test' };
    const jar = new CookieJar();
    const page = await request(
      `${outpost.httpUrl}/outpost.goauthentik.io/start?rd=${encodeURIComponent(rd)}`,
      { headers: host },
    );
    assert.equal(page.status, 200, page.body.slice(0, 300));
    const attempt = /(authentik_proxy_[0-9a-f]{8}_signin=[^;]+)/.exec(
      page.headers['set-cookie']!.join('\n'),
    )![1]!;
    const state = /name="state" value="([^"]+)"/.exec(page.body)![1]!;
    return request(
      `${outpost.httpUrl}/outpost.goauthentik.io/callback?X-authentik-auth-callback=true`,
      {
        method: 'POST',
        jar,
        headers: { ...host, cookie: attempt, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ state, user: 'alice' }).toString(),
      },
    );
  }

  it('lands every hostile rd, and every look-alike of the domain, on the external host', async () => {
    const lookalikes = [
      'http://evilexample.test/',
      'http://example.test.evil.test/',
      'http://app.example.test@evil.test/',
      'http://evil.test\\.example.test/',
      'http://evil.test#.example.test',
      'http://app.example.testevil/',
      'http://xn--example-.test/',
    ];
    for (const rd of [...variants('auth.example.test').slice(0, 22), ...lookalikes]) {
      landsOn(await signInFor(rd), external, `rd ${JSON.stringify(rd)}`);
    }
  });

  it('keeps an rd on a host under the cookie domain', async () => {
    const rd = 'http://app.example.test/dashboard?x=1';
    const res = await signInFor(rd);
    assert.equal(res.headers.location, rd);
  });
});

describe('open redirects with a real provider: sign-out goes to the provider, then home', () => {
  let stack: OidcStack;
  before(async () => {
    stack = await startOidcStack({ users: [{ username: 'bob' }] });
  });
  after(() => stack.close());

  it('sign_out?rd=//evil.test names only the external host as post-logout target', async () => {
    const browser = await stack.signIn('bob');
    const out = await browser.get(
      `${stack.external}/outpost.goauthentik.io/sign_out?rd=${encodeURIComponent('//evil.test')}`,
    );
    assert.equal(out.status, 302);
    const end = new URL(out.location!);
    assert.equal(end.origin, new URL(stack.op.issuer).origin);
    assert.equal(end.searchParams.get('post_logout_redirect_uri'), `${stack.external}/`);
    assert.doesNotMatch(out.location!, /evil/);
  });

  it('start?rd=//evil.test returns to the external host after the provider', async () => {
    const browser = stack.op.browser();
    const start = `${stack.external}/outpost.goauthentik.io/start?rd=${encodeURIComponent('https://evil.test/')}`;
    const { response } = await stack.op.drive(browser, start, { username: 'bob', follow: true });
    assert.equal(new URL(response.url).origin, stack.external, response.url);
  });
});
