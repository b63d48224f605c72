import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Page } from 'playwright-core';

import { shortenSecret } from '../../src/core/proxy/dev-panel.js';
import { browserSkipReason, launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import {
  headerValues,
  startRecordingUpstream,
  type RecordingUpstream,
} from '../helpers/recording-upstream.js';
import { PANEL_PATH, SHOP_CONFIG, lastRequestTo, panelHeaders, sessionCookie } from './fixtures.js';

const skip = browserSkipReason();

describe('browser: dev sign-in, switching users, the panel and sign-out', { skip }, () => {
  let browser: TestBrowser;
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;
  let base: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({ yaml: SHOP_CONFIG(upstream.url) });
    base = outpost.httpUrl;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await outpost?.close();
    await upstream?.close();
  });

  /** A fresh browser context's page, signed in as `username` through `start?user=`. */
  async function signedInPage(username: string): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(
      `${base}${PANEL_PATH}start?user=${username}&rd=${encodeURIComponent(base + PANEL_PATH)}`,
    );
    await page.getByRole('heading', { level: 1 }).waitFor();
    return page;
  }

  it('signs in by clicking a user and lands on the original URL with its query', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const original = `${base}/reports/2024?sort=desc&page=2`;
    await page.goto(original);

    assert.match(page.url(), /\/outpost\.goauthentik\.io\/start\?rd=/);
    await page.getByRole('heading', { name: 'Sign in to Shop' }).waitFor();
    const lead = await page.locator('.lead').innerText();
    assert.ok(lead.includes(`At ${base}.`) && lead.includes(original), lead);

    await page.getByRole('button', { name: /Alice Example/ }).click();
    await page.waitForURL(original);
    const received = lastRequestTo(upstream, '/reports/2024?sort=desc&page=2');
    assert.deepEqual(headerValues(received, 'X-Authentik-Username'), ['alice']);
    assert.match(await page.locator('body').innerText(), /X-Authentik-Username/);
    await context.close();
  });

  it('shows on the panel exactly the headers the app received', async () => {
    const page = await signedInPage('alice');
    await page.goto(`${base}/whoami?x=1`);
    const received = lastRequestTo(upstream, '/whoami?x=1');

    await page.goto(`${base}${PANEL_PATH}`);
    await page.getByRole('heading', { name: 'Signed in as Alice Example' }).waitFor();
    const shown = await panelHeaders(page, 'headers-title');
    const identityNames = shown.map(([name]) => name);
    const sent = received.headers.filter(
      ([name]) => /^x-authentik-/i.test(name) || /^(authorization|x-tenant)$/i.test(name),
    );
    assert.deepEqual(
      identityNames,
      sent.map(([name]) => name),
      'same names, same casing, same order',
    );
    for (const [name, value] of sent) {
      const expected = /^(x-authentik-jwt|authorization)$/i.test(name)
        ? shortenSecret(value)
        : value;
      assert.equal(shown.find(([shownName]) => shownName === name)?.[1], expected, name);
    }
    const body = await page.locator('body').innerText();
    for (const secret of ['s3cret-basic-password', headerValues(received, 'X-Authentik-Jwt')[0]!])
      assert.ok(!body.includes(secret), 'no secret in full on the panel');

    const forwarding = Object.fromEntries(await panelHeaders(page, 'forwarding-title'));
    for (const name of ['Host', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host'])
      assert.deepEqual([forwarding[name]], headerValues(received, name), name);
    await page.context().close();
  });

  it('switches user from the panel, ending the old session', async () => {
    const page = await signedInPage('alice');
    const aliceCookie = await sessionCookie(page.context(), outpost);
    assert.ok(outpost.context.sessions.lookup(aliceCookie), 'alice has a session');

    await page.getByRole('link', { name: 'Switch user' }).click();
    await page.getByText('You are signed in as alice.').waitFor();
    await page.getByRole('button', { name: /Bob Builder/ }).click();
    await page.getByRole('heading', { name: 'Signed in as Bob Builder' }).waitFor();
    assert.equal(new URL(page.url()).pathname, PANEL_PATH);
    assert.equal(outpost.context.sessions.lookup(aliceCookie), null, "alice's session ended");

    const bobCookie = await sessionCookie(page.context(), outpost);
    await page.goto(
      `${base}${PANEL_PATH}start?user=lukasz&rd=${encodeURIComponent(`${base}/after`)}`,
    );
    await page.waitForURL(`${base}/after`);
    assert.equal(outpost.context.sessions.lookup(bobCookie), null, "bob's session ended");
    assert.deepEqual(headerValues(lastRequestTo(upstream, '/after'), 'X-Authentik-Name'), [
      'Łukasz Żółw',
    ]);
    await page.context().close();
  });

  it('signs out from the panel', async () => {
    const page = await signedInPage('bob');
    const cookie = await sessionCookie(page.context(), outpost);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Shop' }).waitFor();
    assert.equal(await sessionCookie(page.context(), outpost), undefined, 'cookie cleared');
    assert.equal(outpost.context.sessions.lookup(cookie), null, 'session ended on the server');

    await page.goto(`${base}/private`);
    assert.match(page.url(), /\/outpost\.goauthentik\.io\/start\?rd=/);
    await page.goto(`${base}${PANEL_PATH}`);
    await page.getByRole('heading', { name: 'Not signed in' }).waitFor();
    await page.context().close();
  });

  it('signs in from the keyboard: Tab reaches the users in order and Enter signs in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/keyboard?via=tab`);
    await page.getByRole('heading', { name: 'Sign in to Shop' }).waitFor();

    const focused: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      focused.push(
        await page.evaluate(() => {
          const element = document.activeElement as HTMLButtonElement | HTMLAnchorElement | null;
          return element?.getAttribute('value') ?? element?.textContent ?? '';
        }),
      );
    }
    assert.deepEqual(focused, ['alice', 'bob', 'lukasz', 'dev panel']);

    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/keyboard?via=tab`);
    assert.deepEqual(
      headerValues(lastRequestTo(upstream, '/keyboard?via=tab'), 'X-Authentik-Username'),
      ['bob'],
    );
    await context.close();
  });

  it('works with JavaScript disabled: sign in, and the path test as a plain form', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${base}/nojs?q=1`);
    await page.getByRole('button', { name: /Alice Example/ }).click();
    await page.waitForURL(`${base}/nojs?q=1`);
    assert.ok(lastRequestTo(upstream, '/nojs?q=1'));

    await page.goto(`${base}${PANEL_PATH}`);
    await page.getByLabel('Test a path').fill('/static/app.css');
    await page.getByLabel('Test a path').press('Enter');
    await page.waitForURL(/\?path=%2Fstatic%2Fapp\.css$/);
    assert.match(await page.locator('#path-result').innerText(), /^public: line 2 \^\/static\//);
    await context.close();
  });

  it('shows a readable error page for a form this browser did not start', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/elsewhere`);
    await context.clearCookies();
    await page.getByRole('button', { name: /Bob Builder/ }).click();
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
    await context.close();
  });
});

describe('browser: dev sign-in over HTTPS, the generated certificate trusted', { skip }, () => {
  it('signs in by clicking and gets a Secure cookie, with no certificate error ignored', async () => {
    const upstream = await startRecordingUpstream();
    const outpost = await startTestOutpost({ yaml: SHOP_CONFIG(upstream.url), https: true });
    const browser = await launchBrowser({ trust: [outpost.ca!] });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const original = `${outpost.httpsUrl}/secure/orders?id=7`;
      await page.goto(original);
      await page.getByRole('button', { name: /Alice Example/ }).click();
      await page.waitForURL(original);
      assert.deepEqual(
        headerValues(lastRequestTo(upstream, '/secure/orders?id=7'), 'X-Forwarded-Proto'),
        ['https'],
      );
      const cookie = (await context.cookies()).find(
        (candidate) => candidate.name === outpost.context.cookieName,
      );
      assert.equal(cookie?.secure, true);
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, 'Lax');
    } finally {
      await browser.close();
      await outpost.close();
      await upstream.close();
    }
  });
});
