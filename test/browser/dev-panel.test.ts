import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { browserSkipReason, launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { CookieJar, request } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { PANEL_PATH, SHOP_CONFIG } from './fixtures.js';

const skip = browserSkipReason();

/** Probes for the path box, each with what a request without a session really gets. */
const PROBES = [
  { input: '/api/health', verdict: 'public', status: 200 },
  { input: '/api/health/deep', verdict: 'protected', status: 302 },
  { input: '/static/app.css', verdict: 'public', status: 200 },
  { input: '/static/../admin', verdict: 'protected', status: 302 },
  { input: '/static/%2e%2e/admin', verdict: 'protected', status: 302 },
  { input: '/static%2f..%2fadmin', verdict: 'refused', status: 400 },
] as const;

/** A Content-Security-Policy header as a map from directive to its sources. */
function directives(policy: string | string[] | undefined): Map<string, string> {
  const entries = String(policy ?? '')
    .split(';')
    .map((part) => part.trim().split(/\s+/));
  return new Map(entries.map(([name = '', ...sources]) => [name, sources.join(' ')]));
}

describe('dev panel over HTTP', () => {
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({ yaml: SHOP_CONFIG(upstream.url) });
  });
  after(async () => {
    await outpost?.close();
    await upstream?.close();
  });

  it('answers the path test as JSON with the same verdict serve gives', async () => {
    for (const probe of PROBES) {
      const url = `${outpost.httpUrl}${PANEL_PATH}dev/test-path?path=${encodeURIComponent(probe.input)}`;
      const answer = await request(url);
      assert.equal(answer.status, 200);
      assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
      const body = JSON.parse(answer.body) as { verdict: string; summary: string; input: string };
      assert.equal(body.verdict, probe.verdict, probe.input);
      assert.equal(body.input, probe.input);

      const real = await request(`${outpost.httpUrl}${probe.input}`);
      assert.equal(real.status, probe.status, `serve on ${probe.input}`);
    }
    const missing = await request(`${outpost.httpUrl}${PANEL_PATH}dev/test-path`);
    assert.equal(missing.status, 400);
    assert.match(JSON.parse(missing.body).error, /\?path=/);
  });

  it('allows only its own script file: no inline script on the panel, none on sign-in', async () => {
    const panel = await request(`${outpost.httpUrl}${PANEL_PATH}`);
    assert.equal(panel.status, 200);
    const policy = directives(panel.headers['content-security-policy']);
    assert.equal(policy.get('default-src'), "'none'");
    assert.equal(policy.get('script-src'), "'self'");
    assert.equal(policy.get('connect-src'), "'self'");
    assert.doesNotMatch(panel.body, /<script>|<script(?![^>]*\ssrc=)/, 'no inline script element');
    const script = panel.body.match(/<script src="([^"]+)"/)?.[1];
    assert.equal(script, `${PANEL_PATH}dev/panel.js`);
    const file = await request(`${outpost.httpUrl}${script}`);
    assert.equal(file.status, 200);
    assert.match(file.headers['content-type'] ?? '', /^text\/javascript/);

    const signIn = await request(`${outpost.httpUrl}${PANEL_PATH}start`);
    const signInPolicy = directives(signIn.headers['content-security-policy']);
    assert.equal(signInPolicy.get('default-src'), "'none'");
    assert.equal(signInPolicy.get('script-src'), undefined, 'no script at all');
    assert.doesNotMatch(signIn.body, /<script/);
  });

  it('refuses methods other than GET', async () => {
    const res = await request(`${outpost.httpUrl}${PANEL_PATH}`, { method: 'POST', body: '' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'GET, HEAD');
  });

  it('never shows a token or password in full', async () => {
    const jar = new CookieJar();
    await request(`${outpost.httpUrl}${PANEL_PATH}start?user=alice`, { jar });
    await request(`${outpost.httpUrl}/probe`, { jar });
    const token = upstream.received
      .findLast((received) => received.url === '/probe')
      ?.headers.find(([name]) => name === 'X-Authentik-Jwt')?.[1];
    assert.ok(token && token.length > 100);
    const panel = await request(`${outpost.httpUrl}${PANEL_PATH}`, { jar });
    assert.match(panel.body, /Signed in as Alice Example/);
    assert.ok(!panel.body.includes(token), 'the JWT is shortened');
    assert.ok(panel.body.includes(token.slice(0, 12)), 'its start is shown to recognise it');
    assert.ok(!panel.body.includes('s3cret-basic-password'));
    assert.ok(!panel.body.includes(Buffer.from('alice:s3cret-basic-password').toString('base64')));
  });
});

describe('dev panel: other setups', () => {
  it('lives on the external host: another origin is sent there', async () => {
    const outpost = await startTestOutpost({ yaml: 'external_host: http://localhost:1\n' });
    try {
      const res = await request(`${outpost.httpUrl}${PANEL_PATH}?path=%2Fx`);
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, `http://localhost:1${PANEL_PATH}?path=%2Fx`);
    } finally {
      await outpost.close();
    }
  });

  it('with serve --user: the preset identity, and neither sign-out nor switch', async () => {
    const outpost = await startTestOutpost({
      yaml: 'users:\n  - username: carol\n    name: Carol Preset\n',
      presetUser: 'carol',
    });
    try {
      const res = await request(`${outpost.httpUrl}${PANEL_PATH}`);
      assert.match(res.body, /Signed in as Carol Preset/);
      assert.match(res.body, /serve --user<\/code> signs every request in/);
      assert.doesNotMatch(res.body, /Sign out|Switch user/);
    } finally {
      await outpost.close();
    }
  });
});

describe('browser: the panel path box answers while typing', { skip }, () => {
  let browser: TestBrowser;
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({ yaml: SHOP_CONFIG(upstream.url) });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await outpost?.close();
    await upstream?.close();
  });

  it('shows the verdict of each probe without leaving the page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    await page.goto(`${outpost.httpUrl}${PANEL_PATH}`);
    const panelUrl = page.url();
    const box = page.getByLabel('Test a path');
    const result = page.locator('#path-result');

    for (const probe of PROBES) {
      // empty the box first, so that an answer is always this probe's and not the one before
      await box.fill('');
      await page.locator('#path-result:empty').waitFor({ state: 'attached' });
      await box.fill(probe.input);
      await page.waitForFunction(
        ([input, verdict]) => {
          const element = document.getElementById('path-result');
          const typed = (document.getElementById('path-input') as HTMLInputElement).value;
          return typed === input && element?.dataset.verdict === verdict;
        },
        [probe.input, probe.verdict],
      );
      assert.match(await result.innerText(), new RegExp(`^${probe.verdict}`));
    }
    assert.equal(page.url(), panelUrl, 'the page never reloaded');
    assert.deepEqual(errors, [], 'no script error and no CSP violation');
    await context.close();
  });
});
