import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { sessionsDirFor } from '../../src/core/session/session-store.js';
import { CookieJar, request, type Response } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import {
  headerValues,
  startRecordingUpstream,
  type RecordingUpstream,
} from '../helpers/recording-upstream.js';
import { signInWithForm } from '../helpers/sign-in.js';
import { CALLBACK, startOidcStack, type OidcStack } from './oidc-stack.js';

const START = '/outpost.goauthentik.io/start';
const FORM = 'application/x-www-form-urlencoded';

const devYaml = (upstream: string, clientId = 'shared-client') =>
  `internal_host: ${upstream}\nclient_id: ${clientId}\nusers: [{username: alice}, {username: bob}]\n`;

/** The value a Set-Cookie header gives `name`, or undefined. */
function setCookieValue(res: Response, name: string): string | undefined {
  const line = res.headers['set-cookie']?.find((value) => value.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

/** The username the app received on a protected path with this cookie, or null (sign-in). */
async function userWith(outpost: TestOutpost, app: RecordingUpstream, cookie: string) {
  const res = await request(`${outpost.httpUrl}/private`, { headers: { cookie } });
  if (res.status === 302) return null;
  assert.equal(res.status, 200, res.body.slice(0, 200));
  return headerValues(app.last(), 'X-Authentik-Username')[0] ?? '';
}

describe('session attacks on dev sign-in', () => {
  let app: RecordingUpstream;
  let outpost: TestOutpost;
  let name: string;

  before(async () => {
    app = await startRecordingUpstream();
    outpost = await startTestOutpost({ yaml: devYaml(app.url) });
    name = outpost.context.cookieName;
  });
  after(async () => {
    await outpost.close();
    await app.close();
  });

  /** A browser signed in through the form; returns its jar and the session cookie value. */
  async function signedIn(username: string, jar = new CookieJar()) {
    const res = await signInWithForm(`${outpost.httpUrl}${START}`, jar, username);
    assert.equal(res.status, 302);
    return { jar, value: jar.get(name)! };
  }

  it('fixation: a planted session cookie is replaced at sign-in, and never names the victim', async () => {
    const attacker = await signedIn('bob');
    const victim = new CookieJar();
    victim.set('127.0.0.1', name, attacker.value);
    const { value } = await signedIn('alice', victim);
    assert.notEqual(value, attacker.value);
    assert.equal(await userWith(outpost, app, `${name}=${value}`), 'alice');
    assert.notEqual(await userWith(outpost, app, `${name}=${attacker.value}`), 'alice');
  });

  it('fixation: a cookie value the client chose is never adopted', async () => {
    const chosen = `${'A'.repeat(43)}.${'B'.repeat(43)}`;
    const jar = new CookieJar();
    jar.set('127.0.0.1', name, chosen);
    const { value } = await signedIn('alice', jar);
    assert.notEqual(value, chosen);
    const direct = await request(`${outpost.httpUrl}${START}?user=bob`, {
      headers: { cookie: `${name}=${chosen}` },
    });
    assert.notEqual(setCookieValue(direct, name), chosen);
  });

  it('a new session id at every sign-in of the same browser', async () => {
    const { jar, value: first } = await signedIn('alice');
    const { value: second } = await signedIn('alice', jar);
    const { value: third } = await signedIn('bob', jar);
    assert.equal(new Set([first, second, third]).size, 3);
  });

  it('tampered and truncated cookies read as signed out, are cleared, and spare the real one', async () => {
    const { value } = await signedIn('alice');
    const { value: other } = await signedIn('bob');
    const [id, signature] = value.split('.') as [string, string];
    const flip = (text: string, at: number) =>
      `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
    const forged = [
      value.slice(0, -1),
      value.slice(1),
      id,
      `${id}.`,
      `${flip(id, 5)}.${signature}`,
      `${id}.${flip(signature, 20)}`,
      `${id}.${other.split('.')[1]}`,
      `${other.split('.')[0]}.${signature}`,
      `${value}A`,
      `${value}=`,
      value.replace('.', '%2E'),
      value.replace('.', '_'),
      value.toUpperCase(),
      `"${value}"`,
      `${value}.${signature}`,
    ];
    for (const cookie of forged) {
      const before = app.received.length;
      const res = await request(`${outpost.httpUrl}/private`, {
        headers: { cookie: `${name}=${cookie}` },
      });
      assert.equal(res.status, 302, `cookie ${cookie} was accepted`);
      assert.equal(setCookieValue(res, name), '', `cookie ${cookie} is cleared`);
      assert.equal(app.received.length, before);
    }
    assert.equal(await userWith(outpost, app, `${name}=${value}`), 'alice');
  });

  it('a replayed sign-in form is refused and makes no session', async () => {
    const jar = new CookieJar();
    const page = await request(`${outpost.httpUrl}${START}`, { jar });
    const state = /name="state" value="([^"]+)"/.exec(page.body)![1]!;
    const replay = {
      method: 'POST',
      headers: { 'content-type': FORM, cookie: `${name}_signin=${state}` },
      body: `state=${state}&user=alice`,
    };
    const callback = `${outpost.httpUrl}${CALLBACK}`;
    assert.equal((await request(callback, replay)).status, 302);
    const again = await request(callback, replay);
    assert.equal(again.status, 400);
    assert.equal(setCookieValue(again, name), undefined, 'no session cookie');
  });

  describe('CSRF on the dev sign-in form', () => {
    /** A state from a page this test fetched, and the cookie that binds it. */
    async function formState() {
      const page = await request(`${outpost.httpUrl}${START}`);
      const state = /name="state" value="([^"]+)"/.exec(page.body)![1]!;
      return { state, cookie: `${name}_signin=${state}` };
    }
    const callback = () => `${outpost.httpUrl}${CALLBACK}`;

    it('refuses a post without the browser-bound cookie (a cross-site form sends none)', async () => {
      const { state } = await formState();
      const res = await request(callback(), {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: `state=${state}&user=alice`,
      });
      assert.equal(res.status, 400);
      assert.equal(setCookieValue(res, name), undefined);
    });

    it("refuses the attacker's own state posted with the victim's cookie", async () => {
      const attacker = await formState();
      const victim = await formState();
      const res = await request(callback(), {
        method: 'POST',
        headers: { 'content-type': FORM, cookie: victim.cookie },
        body: `state=${attacker.state}&user=bob`,
      });
      assert.equal(res.status, 400);
    });

    it('refuses a GET and a text/plain post, which cross-site pages can send', async () => {
      const { state, cookie } = await formState();
      const get = await request(`${callback()}&state=${state}&user=alice`, { headers: { cookie } });
      assert.equal(get.status, 400);
      const plain = await request(callback(), {
        method: 'POST',
        headers: { 'content-type': 'text/plain', cookie },
        body: `state=${state}&user=alice`,
      });
      assert.equal(plain.status, 400);
    });

    it('marks both cookies HttpOnly and SameSite=Lax', async () => {
      const page = await request(`${outpost.httpUrl}${START}`);
      const signIn = await signInWithForm(`${outpost.httpUrl}${START}`, new CookieJar(), 'alice');
      for (const line of [...page.headers['set-cookie']!, ...signIn.headers['set-cookie']!]) {
        assert.match(line, /; HttpOnly/, line);
        assert.match(line, /; SameSite=Lax/, line);
      }
    });

    it('start?user= from another site shows the page instead of switching the user', async () => {
      const { jar, value } = await signedIn('alice');
      const res = await request(`${outpost.httpUrl}${START}?user=bob`, {
        jar,
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      assert.equal(res.status, 200);
      assert.match(res.body, /<form method="post"/);
      assert.equal(setCookieValue(res, name), undefined);
      assert.equal(await userWith(outpost, app, `${name}=${value}`), 'alice');
      const own = await request(`${outpost.httpUrl}${START}?user=bob`, {
        headers: { 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(own.status, 302, 'a link on the same site still signs in at once');
    });
  });
});

describe("a cookie made with another provider's secret is refused", () => {
  let app: RecordingUpstream;
  let home: TestOutpost;
  let value: string;

  before(async () => {
    app = await startRecordingUpstream();
    home = await startTestOutpost({ yaml: devYaml(app.url) });
    const jar = new CookieJar();
    await signInWithForm(`${home.httpUrl}${START}`, jar, 'alice');
    value = jar.get(home.context.cookieName)!;
  });
  after(async () => {
    await home.close();
    await app.close();
  });

  /** Copies the session files of `home` to where `other` looks, so only the signature differs. */
  function copySessions(to: string): void {
    const from = sessionsDirFor(home.stateDir, 'shared-client');
    mkdirSync(to, { recursive: true });
    for (const file of readdirSync(from)) copyFileSync(join(from, file), join(to, file));
  }

  it('the same client id with another state directory (another key)', async () => {
    const other = await startTestOutpost({ yaml: devYaml(app.url) });
    try {
      copySessions(sessionsDirFor(other.stateDir, 'shared-client'));
      assert.equal(other.context.cookieName, home.context.cookieName);
      assert.equal(await userWith(other, app, `${other.context.cookieName}=${value}`), null);
    } finally {
      await other.close();
    }
    const same = await startTestOutpost({ yaml: devYaml(app.url), stateDir: home.stateDir });
    try {
      assert.equal(await userWith(same, app, `${same.context.cookieName}=${value}`), 'alice');
    } finally {
      await same.close();
    }
  });

  it('another client id in the same state directory, under its cookie name', async () => {
    const other = await startTestOutpost({
      yaml: devYaml(app.url, 'other-client'),
      stateDir: home.stateDir,
    });
    try {
      copySessions(sessionsDirFor(home.stateDir, 'other-client'));
      assert.notEqual(other.context.cookieName, home.context.cookieName);
      for (const cookieName of [other.context.cookieName, home.context.cookieName]) {
        assert.equal(await userWith(other, app, `${cookieName}=${value}`), null, cookieName);
      }
    } finally {
      await other.close();
    }
  });
});

describe('session attacks on sign-in at a real provider', () => {
  let stack: OidcStack;
  let name: string;
  before(async () => {
    stack = await startOidcStack({ users: [{ username: 'alice' }, { username: 'bob' }] });
    name = stack.outpost.context.cookieName;
  });
  after(() => stack.close());

  /** Runs sign-in up to the provider's redirect back, and returns that callback URL. */
  async function callbackFor(username: string) {
    const browser = stack.op.browser();
    const { leftTo } = await stack.op.drive(browser, `${stack.external}/x`, { username });
    assert.ok(leftTo?.startsWith(`${stack.external}${CALLBACK}`), leftTo);
    return { browser, url: leftTo!, cookies: browser.cookieHeader(stack.external) };
  }

  it('fixation: the planted cookie of another user is replaced by a fresh id', async () => {
    const attacker = await stack.signIn('bob');
    const planted = new RegExp(`${name}=([^;]+)`).exec(attacker.cookieHeader(stack.external))![1]!;
    const victim = await callbackFor('alice');
    const res = await request(victim.url, {
      headers: { cookie: `${victim.cookies}; ${name}=${planted}` },
    });
    assert.equal(res.status, 302, res.body.slice(0, 200));
    const fresh = setCookieValue(res, name)!;
    assert.notEqual(fresh, planted);
    const sessions = stack.outpost.context.sessions;
    assert.equal(sessions.lookup(fresh)?.identity.preferred_username, 'alice');
    assert.notEqual(sessions.lookup(planted)?.identity.preferred_username, 'alice');
  });

  it('a replayed state is refused, by the same browser and by one that copied its cookie', async () => {
    const { browser, url, cookies } = await callbackFor('alice');
    assert.equal((await browser.get(url)).status, 302);
    const same = await browser.get(url);
    assert.equal(same.status, 400);
    assert.equal(same.headers.get('set-cookie')?.includes(`${name}=`) ?? false, false);
    const copied = await request(url, { headers: { cookie: cookies } });
    assert.equal(copied.status, 400);
  });

  it('a state without the browser-bound cookie is refused before the code is used', async () => {
    const { url, cookies } = await callbackFor('bob');
    assert.equal((await request(url)).status, 400);
    // the code was not spent by the refused attempt: the right browser still finishes
    assert.equal((await request(url, { headers: { cookie: cookies } })).status, 302);
  });
});
