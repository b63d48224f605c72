import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import type { BrowserContext, Page } from 'playwright-core';

import {
  browserSkipReason,
  launchBrowser,
  resolveOptional,
  saveScreenshot,
  type TestBrowser,
} from '../helpers/browser.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { PANEL_PATH, SHOP_CONFIG } from './fixtures.js';

const skip = browserSkipReason();
const AXE = resolveOptional('axe-core/axe.min.js');
const axeSkip = AXE ? false : 'axe-core is not installed: add the devDependency axe-core@^4.14.1';

/** WCAG 2.2 A and AA, and axe's best practices (landmarks, headings, one h1). */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** What axe-core's run() answers, as far as these tests read it. */
interface AxeResults {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

/** Runs axe-core in the page and returns its violations, each with the elements at fault. */
function checkAccessibility(page: Page): Promise<Violation[]> {
  return page.evaluate(async (tags) => {
    type Axe = { run(context: Document, options: object): Promise<AxeResults> };
    const axe = (window as unknown as { axe: Axe }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  }, AXE_TAGS);
}

describe(
  'browser: every outpost page, light and dark, screenshots and accessibility',
  { skip },
  () => {
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

    /** A context in one colour scheme, with axe-core loaded into every page when installed. */
    async function contextFor(scheme: 'light' | 'dark'): Promise<BrowserContext> {
      const context = await browser.newContext({
        colorScheme: scheme,
        viewport: { width: 1024, height: 768 },
      });
      // an init script is not subject to the page's Content-Security-Policy, so the page keeps its own
      if (AXE) await context.addInitScript({ content: readFileSync(AXE, 'utf8') });
      return context;
    }

    /** Each page a developer meets, reached the way they reach it. */
    const pages: { name: string; open: (page: Page) => Promise<void> }[] = [
      {
        name: 'sign-in',
        open: async (page) => {
          await page.goto(`${base}/orders?status=open`);
          await page.getByRole('heading', { name: 'Sign in to Shop' }).waitFor();
        },
      },
      {
        name: 'sign-in-switch',
        open: async (page) => {
          await page.goto(
            `${base}${PANEL_PATH}start?user=alice&rd=${encodeURIComponent(base + PANEL_PATH)}`,
          );
          await page.getByRole('link', { name: 'Switch user' }).click();
          await page.getByText('You are signed in as alice.').waitFor();
        },
      },
      {
        name: 'panel',
        open: async (page) => {
          await page.goto(
            `${base}${PANEL_PATH}start?user=alice&rd=${encodeURIComponent(base + PANEL_PATH)}`,
          );
          await page.getByLabel('Test a path').fill('/static/../admin');
          await page.locator('#path-result[data-verdict=protected]').waitFor();
        },
      },
      {
        name: 'panel-signed-out',
        open: async (page) => {
          await page.goto(`${base}${PANEL_PATH}?path=/api/health`);
          await page.getByRole('heading', { name: 'Not signed in' }).waitFor();
        },
      },
      {
        name: 'error',
        open: async (page) => {
          await page.goto(`${base}/elsewhere`);
          await page.context().clearCookies();
          await page.getByRole('button', { name: /Bob Builder/ }).click();
          await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
        },
      },
    ];

    for (const scheme of ['light', 'dark'] as const) {
      for (const { name, open } of pages) {
        it(`${name} (${scheme}): screenshot, and no axe-core violation`, async (t) => {
          const context = await contextFor(scheme);
          const page = await context.newPage();
          await open(page);
          await saveScreenshot(page, `${name}-${scheme}`);
          if (axeSkip) {
            t.skip(axeSkip);
          } else {
            const violations = await checkAccessibility(page);
            assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
          }
          await context.close();
        });
      }
    }

    it(
      'axe-core finds a missing label when there is one (the check can fail)',
      { skip: axeSkip },
      async () => {
        const context = await contextFor('light');
        const page = await context.newPage();
        await page.goto(`${base}${PANEL_PATH}`);
        await page.evaluate(() => document.querySelector('label[for=path-input]')?.remove());
        const violations = await checkAccessibility(page);
        assert.ok(
          violations.some((violation) => violation.id.startsWith('label')),
          JSON.stringify(violations),
        );
        await context.close();
      },
    );
  },
);
