// Run by token-store.test.ts in a child process with its own HOME and D-Bus session, so that
// the OS keychain it reaches is a throwaway one. Prints what happened as JSON, never a token.
import { existsSync, readdirSync } from 'node:fs';

import { getPassword } from '@napi-rs/keyring/keytar.js';

import {
  KEYCHAIN_SERVICE,
  accountFor,
  openTokenStore,
} from '../../src/core/credentials/token-store.js';

const [stateDir = '', accessToken = ''] = process.argv.slice(2);
const issuer = 'https://auth.example.com/application/o/app/';
const store = openTokenStore({ stateDir });

const saved = await store.save({
  issuer,
  client_id: 'outpost',
  tokens: { access_token: accessToken, expires_at: 2_000_000_000 },
  identity: {
    sub: 'u1',
    preferred_username: 'alice',
    name: '',
    email: '',
    groups: [],
    entitlements: [],
    user_attributes: {},
    is_superuser: false,
    access_token: accessToken,
    source: 'oidc',
  },
  saved_at: 1,
});
const filesAfterSave = existsSync(stateDir) ? readdirSync(stateDir) : [];
const inKeychain =
  (await getPassword(KEYCHAIN_SERVICE, accountFor(issuer, 'outpost')).catch(() => null)) !== null;
const loaded = await store.load(issuer, 'outpost');
const deleted = await store.delete(issuer, 'outpost');
const afterDelete = await store.load(issuer, 'outpost');

process.stdout.write(
  JSON.stringify({
    saved: saved.store,
    keychainError: saved.keychainError ?? null,
    filesAfterSave,
    inKeychain,
    loadedFrom: loaded?.store ?? null,
    loadedTokenMatches: loaded?.login.tokens.access_token === accessToken,
    deleted,
    afterDelete,
  }),
);
