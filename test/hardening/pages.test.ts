import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { freePort } from '../helpers/free-port.js';
import { CookieJar, request, type Response } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import {
  headerValues,
  startRecordingUpstream,
  type RecordingUpstream,
} from '../helpers/recording-upstream.js';
import { signInWithForm } from '../helpers/sign-in.js';
import { exchangeRaw } from './raw-http.js';
import { startOidcStack, type OidcStack } from './oidc-stack.js';

const SCRIPT = '<script>alert(1)</script>';
const PANEL = '/outpost.goauthentik.io/';

/** A dev directory where every shown value is markup. */
const HOSTILE_YAML = (upstream: string) => `internal_host: ${upstream}
upstream_timeout: 300
assigned_application_name: "${SCRIPT}"
skip_path_regex: "^/public/${SCRIPT}"
users:
  - username: "${SCRIPT}"
    name: "\\"><img src=x onerror=alert(2)>"
    email: "a'onmouseover='alert(3)@example.com"
    groups: ["<b>staff</b>"]
  - username: bob
`;

/** Every page of outpost's own is HTML that no other site may frame, and carries no markup. */
function assertSafePage(res: Response, what: string): void {
  assert.match(String(res.headers['content-type']), /^text\/html/, what);
  const policy = String(res.headers['content-security-policy']);
  assert.match(policy, /frame-ancestors 'none'/, `${what}: ${policy}`);
  assert.match(policy, /default-src 'none'/, what);
  assert.doesNotMatch(policy, /script-src[^;]*'unsafe-inline'/, what);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
  assert.doesNotMatch(res.body, /<script>alert|<img src=x|<b>staff|onmouseover='/, what);
}

describe("outpost's pages: framing refused, every value escaped", () => {
  let app: RecordingUpstream;
  let outpost: TestOutpost;
  let jar: CookieJar;

  before(async () => {
    app = await startRecordingUpstream();
    outpost = await startTestOutpost({ yaml: HOSTILE_YAML(app.url) });
    jar = new CookieJar();
    await signInWithForm(`${outpost.httpUrl}${PANEL}start`, jar, SCRIPT);
  });
  after(async () => {
    await outpost.close();
    await app.close();
  });

  it('the sign-in page, with a hostile rd and hostile users', async () => {
    // what is left of an rd's quotes and markup once it is a URL on the external host
    const rd = `${outpost.httpUrl}/it's"<svg>?q='"><svg/onload=alert(4)>`;
    const res = await request(`${outpost.httpUrl}${PANEL}start?rd=${encodeURIComponent(rd)}`, {
      jar,
    });
    assert.equal(res.status, 200);
    assertSafePage(res, 'sign-in page');
    assert.doesNotMatch(res.body, /<svg/);
    assert.match(res.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'the username, escaped');
    assert.match(res.body, /<code>http:\/\/[^<]*\/it&#39;s%22%3Csvg%3E\?q=%27/, 'the rd, escaped');
  });

  it('the dev panel, signed in as the hostile user, with a hostile path test', async () => {
    const res = await request(`${outpost.httpUrl}${PANEL}?path=${encodeURIComponent(SCRIPT)}`, {
      jar,
    });
    assert.equal(res.status, 200);
    assertSafePage(res, 'dev panel');
  });

  it('error pages: an unknown endpoint, a refused path, a failed sign-in, the app too slow or down', async () => {
    const cookie = jar.headerFor(new URL(outpost.httpUrl))!;
    const pages: [string, Promise<Response>][] = [
      ['404', request(`${outpost.httpUrl}${PANEL}${encodeURIComponent(SCRIPT)}`)],
      ['400 path', request(`${outpost.httpUrl}/a%2f${encodeURIComponent(SCRIPT)}`)],
      ['400 sign-in', request(`${outpost.httpUrl}${PANEL}callback?state=${SCRIPT}`)],
      ['504', request(`${outpost.httpUrl}/slow?ms=2000`, { headers: { cookie } })],
    ];
    for (const [what, answer] of pages) {
      const res = await answer;
      assert.equal(res.status, Number(what.slice(0, 3)), `${what}: ${res.body.slice(0, 200)}`);
      assertSafePage(res, what);
    }
    const down = await startTestOutpost({
      yaml: `internal_host: http://127.0.0.1:${await freePort()}\nusers: [{username: a}]\n`,
      presetUser: 'a',
    });
    try {
      const res = await request(`${down.httpUrl}/x`);
      assert.equal(res.status, 502);
      assertSafePage(res, '502');
    } finally {
      await down.close();
    }
  });

  it('a raw path with markup is refused or escaped, never reflected', async () => {
    const answer = await exchangeRaw(
      outpost.httpUrl,
      `GET ${PANEL}"><script>alert(1)</script> HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    );
    assert.ok(answer.statuses[0] === 400 || answer.statuses[0] === 404, answer.text);
    assert.doesNotMatch(answer.text, /<script>alert/);
  });

  it('never shows the session cookie or the token in any page', async () => {
    const cookie = jar.get(outpost.context.cookieName)!;
    await request(`${outpost.httpUrl}/whoami`, { jar });
    const token = headerValues(app.last(), 'X-Authentik-Jwt')[0]!;
    assert.ok(token.length > 100);
    for (const path of [`${PANEL}start`, PANEL, `${PANEL}nope`, '/a%2fb']) {
      const res = await request(`${outpost.httpUrl}${path}`, { jar });
      assert.ok(!res.body.includes(cookie), `${path} shows the session cookie`);
      assert.ok(!res.body.includes(token), `${path} shows the token`);
      assert.ok(!res.body.includes(token.split('.')[2]!), `${path} shows the token's signature`);
    }
  });
});

describe('pages with a real provider never echo a token and escape what the provider says', () => {
  let stack: OidcStack;
  before(async () => {
    stack = await startOidcStack({ users: [{ username: 'bob' }] });
  });
  after(() => stack.close());

  it('a callback carrying an error from the provider shows it escaped', async () => {
    const browser = stack.op.browser();
    const { leftTo } = await stack.op.drive(browser, `${stack.external}/x`, { username: 'bob' });
    const callback = new URL(leftTo!);
    const code = callback.searchParams.get('code')!;
    callback.searchParams.delete('code');
    callback.searchParams.set('error', 'access_denied');
    callback.searchParams.set('error_description', `${SCRIPT} code=${code}`);
    const res = await browser.get(callback.href);
    assert.equal(res.status, 400);
    const page: Response = {
      status: res.status,
      headers: headerRecord(res.headers),
      body: res.body,
    };
    assertSafePage(page, 'sign-in failure');
    assert.match(res.body, /access_denied/);
  });

  it('a refused callback does not echo the code or the state', async () => {
    const browser = stack.op.browser();
    const { leftTo } = await stack.op.drive(browser, `${stack.external}/y`, { username: 'bob' });
    const callback = new URL(leftTo!);
    const res = await request(callback.href);
    assert.equal(res.status, 400);
    assertSafePage(res, 'refused callback');
    for (const name of ['code', 'state']) {
      const value = callback.searchParams.get(name)!;
      assert.ok(!res.body.includes(value), `the page shows the ${name}`);
    }
  });
});

function headerRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => (record[name] = value));
  return record;
}
