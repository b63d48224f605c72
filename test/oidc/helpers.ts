import type { CustomFetch } from 'openid-client';

import type { Identity } from '../../src/core/identity/identity.js';
import {
  discoverOidcClient,
  finishSignIn,
  startSignIn,
  type OidcClient,
  type SignInResult,
} from '../../src/core/oidc/index.js';
import {
  startOidcProvider,
  type FixtureUser,
  type OidcProviderFixture,
  type OidcProviderFixtureOptions,
} from '../fixtures/oidc-provider.js';

/** The proxy's redirect_uri, query included, as authentik's outpost registers it. */
export const REDIRECT_URI =
  'https://app.localhost:9443/outpost.goauthentik.io/callback?X-authentik-auth-callback=true';

export const POST_LOGOUT_URI = 'https://app.localhost:9443/';

/** A user with every claim authentik's proxy provider sends, nested ak_proxy included. */
export const ALICE: FixtureUser = {
  username: 'alice',
  password: 'wonderland',
  name: 'Alice Łukasz',
  email: 'alice@example.com',
  groups: ['staff', 'admins'],
  entitlements: ['billing'],
  ak_proxy: {
    user_attributes: {
      additionalHeaders: { 'X-Tenant': 'acme' },
      basic_user: 'alice',
      nested: { deep: [1, 2] },
    },
    backend_override: 'http://127.0.0.1:4000',
    host_header: 'alice.internal',
    is_superuser: true,
  },
};

export const BOB: FixtureUser = { username: 'bob', groups: [] };

/** The Identity ALICE must map to, for a given access token. */
export function aliceIdentity(sub: string, accessToken: string): Identity {
  return {
    sub,
    preferred_username: 'alice',
    name: 'Alice Łukasz',
    email: 'alice@example.com',
    groups: ['staff', 'admins'],
    entitlements: ['billing'],
    user_attributes: {
      additionalHeaders: { 'X-Tenant': 'acme' },
      basic_user: 'alice',
      nested: { deep: [1, 2] },
    },
    backend_override: 'http://127.0.0.1:4000',
    host_header: 'alice.internal',
    is_superuser: true,
    access_token: accessToken,
    source: 'oidc',
  };
}

export interface Setup {
  op: OidcProviderFixture;
  client: OidcClient;
}

/** A provider with ALICE and BOB and the proxy's client discovered against it. */
export async function setUp(options: Partial<OidcProviderFixtureOptions> = {}): Promise<Setup> {
  const op = await startOidcProvider({
    users: [ALICE, BOB],
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [POST_LOGOUT_URI],
    ...options,
  });
  const client = await discoverOidcClient(
    { issuer: op.issuer, ...op.proxyClient },
    { fetch: op.fetch },
  );
  return { op, client };
}

/** A full browser sign-in of `username` through the proxy's client. */
export async function signIn(
  setup: Setup,
  username = 'alice',
  password = 'wonderland',
): Promise<SignInResult> {
  const { url, pending } = await startSignIn(setup.client, { redirect_uri: REDIRECT_URI });
  const { leftTo } = await setup.op.drive(setup.op.browser(), url, { username, password });
  if (!leftTo) throw new Error('the provider did not send the browser back');
  return finishSignIn(setup.client, leftTo, pending);
}

/** A fetch that counts the requests to each path, in front of `inner`. */
export function countingFetch(inner: CustomFetch): {
  fetch: CustomFetch;
  count(path: string): number;
} {
  const counts = new Map<string, number>();
  const fetch: CustomFetch = (url, options) => {
    const path = new URL(url).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return inner(url, options);
  };
  return { fetch, count: (path) => counts.get(path) ?? 0 };
}

/**
 * A fetch that alters one character of the ID token's signature in token responses: a
 * man in the middle the client must notice.
 */
export function tamperingFetch(inner: CustomFetch): CustomFetch {
  return async (url, options) => {
    const response = await inner(url, options);
    if (new URL(url).pathname !== '/token' || !response.ok) return response;
    const body = (await response.json()) as { id_token?: string };
    if (body.id_token) {
      const last = body.id_token.at(-2) === 'A' ? 'B' : 'A';
      body.id_token = `${body.id_token.slice(0, -2)}${last}${body.id_token.slice(-1)}`;
    }
    return new Response(JSON.stringify(body), {
      status: response.status,
      headers: { 'content-type': 'application/json' },
    });
  };
}

/** The same provider seen through another fetch. */
export async function withFetch(setup: Setup, fetch: CustomFetch): Promise<Setup> {
  const client = await discoverOidcClient(
    { issuer: setup.op.issuer, ...setup.op.proxyClient },
    { fetch },
  );
  return { op: setup.op, client };
}
