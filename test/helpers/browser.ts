import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';

/** Debian's Chromium, which `.ci/run` installs; Playwright's own browser download is not used. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Root on a sandboxed machine needs --no-sandbox; the rest keeps Chromium from calling home,
 * which this machine's closed network answers with refused connections.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshots go: gitignored, kept by CI as artifacts. */
export const RESULTS_DIR = resolve(import.meta.dirname, '../../test-results/browser');

/**
 * Why the browser tests cannot run, or false when they can. Without Chromium they skip on a
 * developer's machine with the reason; in CI a missing Chromium is a failure, not a skip.
 */
export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is missing: apt-get install chromium`;
  if (process.env.CI) throw new Error(reason);
  return reason;
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (cookies, storage) for one test. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium. `trust` lists PEM certificates the browser should trust as a
 * server's own: they go into a private NSS database under a temporary HOME, which is where
 * Chromium on Linux reads locally trusted certificates. No certificate error is ever ignored.
 */
export async function launchBrowser(
  options: { trust?: readonly string[] } = {},
): Promise<TestBrowser> {
  const home = mkdtempSync(join(tmpdir(), 'outpost-browser-'));
  trustCertificates(home, options.trust ?? []);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    env: { ...process.env, HOME: home },
  });
  return {
    browser,
    newContext: (contextOptions) => browser.newContext(contextOptions),
    close: async () => {
      await browser.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** `P,,`: a trusted peer, the NSS trust that lets a self-signed leaf certificate stand alone. */
function trustCertificates(home: string, certificates: readonly string[]): void {
  if (certificates.length === 0) return;
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  execFileSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
  certificates.forEach((pem, index) => {
    const file = join(home, `trusted-${index}.pem`);
    writeFileSync(file, pem);
    execFileSync('certutil', [
      '-A',
      '-d',
      `sql:${db}`,
      '-n',
      `outpost-${index}`,
      '-t',
      'P,,',
      '-i',
      file,
    ]);
  });
}

/** Saves a full-page screenshot as `test-results/browser/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * The file a package's specifier resolves to from the tests, or null when the package is not
 * installed (a devDependency the lead still has to add). NODE_PATH is honoured, so a package
 * installed elsewhere can be tried without touching node_modules.
 */
export function resolveOptional(specifier: string): string | null {
  try {
    return createRequire(import.meta.url).resolve(specifier);
  } catch {
    return null;
  }
}

/** Collects the page's console and error output, to show when a browser test fails. */
export function recordConsole(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (message) => lines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => lines.push(`pageerror: ${error.message}`));
  return lines;
}
