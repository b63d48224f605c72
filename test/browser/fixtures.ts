import type { BrowserContext, Page } from 'playwright-core';

import type { TestOutpost } from '../helpers/outpost.js';
import type { ReceivedRequest, RecordingUpstream } from '../helpers/recording-upstream.js';

/** A provider with basic auth, extra headers and a user whose name is not ASCII. */
export const SHOP_CONFIG = (upstream: string) => `
name: shop
assigned_application_slug: shop
assigned_application_name: Shop
internal_host: ${upstream}
skip_path_regex: |
  ^/api/health$
  ^/static/
basic_auth_enabled: true
basic_auth_user_attribute: basic_user
basic_auth_password_attribute: basic_password
users:
  - username: alice
    name: Alice Example
    email: alice@example.com
    groups: [staff, admins]
    entitlements: [billing]
    attributes:
      basic_user: alice
      basic_password: s3cret-basic-password
      additionalHeaders:
        X-Tenant: acme
  - username: bob
    name: Bob Builder
    email: bob@example.com
    groups: [staff]
  - username: lukasz
    name: Łukasz Żółw
    email: lukasz@example.com
groups:
  - name: staff
  - name: admins
    parent: staff
`;

export const PANEL_PATH = '/outpost.goauthentik.io/';

/** The session cookie's value in a browser context, or undefined. */
export async function sessionCookie(
  context: BrowserContext,
  outpost: TestOutpost,
): Promise<string | undefined> {
  const cookies = await context.cookies();
  return cookies.find((cookie) => cookie.name === outpost.context.cookieName)?.value;
}

/** The rows of one of the panel's header tables: [name, value] as shown. */
export function panelHeaders(page: Page, table: 'headers-title' | 'forwarding-title') {
  return page
    .locator(`table[data-headers="${table}"] tbody tr`)
    .evaluateAll((rows) =>
      rows.map((row) => [
        row.querySelector('th')?.textContent ?? '',
        row.querySelector('td')?.textContent ?? '',
      ]),
    );
}

/** The last request the app received for `url` (browsers also ask for /favicon.ico on their own). */
export function lastRequestTo(upstream: RecordingUpstream, url: string): ReceivedRequest {
  const found = upstream.received.findLast((request) => request.url === url);
  if (!found) throw new Error(`the app received no request for ${url}`);
  return found;
}
