import assert from 'node:assert/strict';

import {
  startOidcProvider,
  type FixtureBrowser,
  type FixtureUser,
  type OidcProviderFixture,
} from '../fixtures/oidc-provider.js';
import { freePort } from '../helpers/free-port.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';

export const CALLBACK = '/outpost.goauthentik.io/callback?X-authentik-auth-callback=true';

/** serve in front of a recording app, signing in at a real OpenID provider. */
export interface OidcStack {
  op: OidcProviderFixture;
  outpost: TestOutpost;
  app: RecordingUpstream;
  /** The external host: serve's own HTTP URL, so that the callback lands there. */
  external: string;
  /** Signs a fresh browser in through the proxy; it lands on `path` (200). */
  signIn(username: string, path?: string): Promise<FixtureBrowser>;
  close(): Promise<void>;
}

export interface OidcStackOptions {
  users: FixtureUser[];
  accessTokenTtl?: number;
  /** Extra config lines (a state_dir is given separately). */
  yaml?: string[];
  stateDir?: string;
}

/** Starts the provider, the app and serve, wired like test/oidc/proxy-sign-in.test.ts. */
export async function startOidcStack(options: OidcStackOptions): Promise<OidcStack> {
  const app = await startRecordingUpstream();
  const port = await freePort();
  const external = `http://127.0.0.1:${port}`;
  const op = await startOidcProvider({
    users: options.users,
    redirectUris: [`${external}${CALLBACK}`],
    postLogoutRedirectUris: [`${external}/`],
    accessTokenTtl: options.accessTokenTtl ?? 300,
  });
  const outpost = await startTestOutpost({
    port,
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    yaml: [
      `external_host: ${external}`,
      `internal_host: ${app.url}`,
      ...(options.yaml ?? []),
      ...op.oidcYaml(),
      '',
    ].join('\n'),
  });
  const signIn = async (username: string, path = '/landing') => {
    const browser = op.browser();
    const { response } = await op.drive(browser, `${external}${path}`, { username, follow: true });
    assert.equal(
      response.status,
      200,
      `landed on ${response.url}: ${response.body.slice(0, 3000)}`,
    );
    return browser;
  };
  let closing: Promise<void> | undefined;
  return {
    op,
    outpost,
    app,
    external,
    signIn,
    close: () =>
      (closing ??= (async () => {
        await outpost.close();
        await op.close();
        await app.close();
      })()),
  };
}
