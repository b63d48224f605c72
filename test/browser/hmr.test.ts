import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  browserSkipReason,
  launchBrowser,
  recordConsole,
  saveScreenshot,
  type TestBrowser,
} from '../helpers/browser.js';
import { isolatedEnv, startCli } from '../helpers/cli.js';
import { startViteApp, viteBin, type ViteApp } from './vite-app.js';

const VITE = viteBin();
const BUILT = existsSync(resolve(import.meta.dirname, '../../dist/commands/serve.js'));
const skip =
  browserSkipReason() ||
  (VITE ? false : 'vite is not installed: add the devDependency vite@^7.3.8') ||
  (BUILT ? false : 'the CLI is not built: run npm run build first');

/** The URLs and certificate that `outpost serve` prints when it is ready. */
function parseBanner(output: string): { http: string; https: string; certificate: string } {
  const http = /^\s+(http:\/\/\S+)\s+->/m.exec(output)?.[1];
  const https = /^\s+(https:\/\/\S+)\s+\(certificate: (.+)\)$/m.exec(output);
  assert.ok(http && https?.[1] && https[2], `serve's banner names its URLs:\n${output}`);
  // the banner says localhost; 127.0.0.1 is what serve listens on, and the certificate names it
  const exact = (url: string) => url.replace('://localhost:', '://127.0.0.1:');
  return { http: exact(http), https: exact(https[1]), certificate: https[2] };
}

describe('browser: Vite hot module replacement through outpost serve', { skip }, () => {
  let vite: ViteApp;
  let serve: Awaited<ReturnType<typeof startCli>>;
  let env: ReturnType<typeof isolatedEnv>;
  let urls: ReturnType<typeof parseBanner>;
  let browser: TestBrowser;

  before(async () => {
    vite = await startViteApp(VITE!, 'before');
    env = isolatedEnv();
    writeFileSync(
      join(env.dir, 'outpost.yaml'),
      `internal_host: ${vite.url}\nusers:\n  - username: alice\n    name: Alice Example\n`,
    );
    serve = await startCli(['serve', '--port', '0', '--https-port', '0'], {
      cwd: env.dir,
      env: env.env,
      ready: /sign-in: dev users/,
    });
    urls = parseBanner(serve.output());
    browser = await launchBrowser({ trust: [readFileSync(urls.certificate, 'utf8')] });
  });
  after(async () => {
    await browser?.close();
    serve?.child.kill('SIGTERM');
    await serve?.exited;
    await vite?.close();
    env?.cleanup();
  });

  for (const scheme of ['http', 'https'] as const) {
    it(`delivers an edit to the page over ${scheme === 'http' ? 'ws' : 'wss'}, without a reload`, async (t) => {
      const proxy = urls[scheme];
      vite.setMessage(`before ${scheme}`);
      const context = await browser.newContext();
      const page = await context.newPage();
      const log = recordConsole(page);
      const sockets: string[] = [];
      page.on('websocket', (socket) => sockets.push(socket.url()));
      const connected = page.waitForEvent('console', {
        predicate: (message) => message.text().includes('[vite] connected'),
        timeout: 20_000,
      });

      await page.goto(`${proxy}/?from=${scheme}`);
      await page.getByRole('button', { name: /Alice Example/ }).click();
      await page.waitForURL(`${proxy}/?from=${scheme}`);
      await page.locator('#message', { hasText: `before ${scheme}` }).waitFor();
      await connected;
      const loaded = await page.locator('#loaded').innerText();

      const written = performance.now();
      vite.setMessage(`after ${scheme}`);
      await page
        .locator('#message', { hasText: `after ${scheme}` })
        .waitFor({ timeout: 20_000 })
        .catch(async (error: Error) => {
          const shown = await page.locator('#message').innerText();
          assert.fail(`${error.message}\nthe page shows: ${shown}\nconsole:\n${log.join('\n')}`);
        });
      t.diagnostic(`on the page ${Math.round(performance.now() - written)} ms after the write`);
      assert.equal(await page.locator('#loaded').innerText(), loaded, 'a hot update, not a reload');
      assert.ok(
        log.some((line) => line.includes('[vite] hot updated: /message.js')),
        log.join('\n'),
      );

      const proxyPort = new URL(proxy).port;
      assert.ok(sockets.length > 0, 'the page opened a WebSocket');
      for (const socket of sockets) {
        const url = new URL(socket);
        assert.equal(url.protocol, scheme === 'http' ? 'ws:' : 'wss:', socket);
        assert.equal(url.port, proxyPort, `${socket} goes through outpost, not straight to Vite`);
      }
      await saveScreenshot(page, `vite-hmr-${scheme}`);
      await context.close();
    });
  }
});
