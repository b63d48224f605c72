import assert from 'node:assert/strict';

import { request, type CookieJar, type Response } from './http-client.js';

/**
 * Signs a cookie jar in as a dev user the way a browser does: follows the redirect to `start`,
 * reads the form's state, posts the chosen user to the callback. Returns the callback's answer.
 */
export async function signInWithForm(
  startUrl: string,
  jar: CookieJar,
  username: string,
  options: { ca?: string } = {},
): Promise<Response> {
  const page = await request(startUrl, { jar, ...options });
  assert.equal(page.status, 200, `sign-in page: ${page.body.slice(0, 200)}`);
  const state = /name="state" value="([^"]+)"/.exec(page.body)?.[1];
  const action = /<form method="post" action="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(state && action, 'the sign-in page has a form with a state');
  return request(action.replaceAll('&amp;', '&'), {
    method: 'POST',
    jar,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ state, user: username }).toString(),
    ...options,
  });
}
