import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { rmSync } from 'node:fs';

import type { Keychain } from '../../src/core/credentials/keychain.js';
import { openTokenStore, type StoredLogin } from '../../src/core/credentials/token-store.js';
import { isOutpostError } from '../../src/core/errors.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./token-store-child.ts', import.meta.url));
const ISSUER = 'https://auth.example.com/application/o/app/';

describe('the file fallback', () => {
  let home: string;
  let stateDir: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'outpost-home-'));
    stateDir = join(home, '.local', 'state', 'outpost');
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  test('keeps the login in credentials.json, mode 0600 in a 0700 directory', async () => {
    const store = openTokenStore({ stateDir, keychain: null });

    const outcome = await store.save(login('secret-access-1'));

    assert.equal(outcome.store, 'file');
    assert.equal(outcome.path, join(stateDir, 'credentials.json'));
    assert.equal(statSync(outcome.path).mode & 0o777, 0o600);
    assert.equal(statSync(stateDir).mode & 0o777, 0o700);
    assert.deepEqual(await store.load(ISSUER, 'outpost'), {
      login: login('secret-access-1'),
      store: 'file',
    });
  });

  test('the token is in credentials.json and nowhere else under HOME', async () => {
    writeFileSync(join(home, 'outpost.yaml'), 'name: app\n');
    await openTokenStore({ stateDir, keychain: null }).save(login('secret-access-2'));

    assert.deepEqual(filesContaining(home, 'secret-access-2'), [
      join(stateDir, 'credentials.json'),
    ]);
  });

  test('keeps one entry per issuer and client, and removes the file with the last', async () => {
    const store = openTokenStore({ stateDir, keychain: null });
    await store.save(login('a'));
    await store.save({ ...login('b'), client_id: 'other' });

    assert.deepEqual(await store.delete(ISSUER, 'outpost'), ['file']);
    assert.equal((await store.load(ISSUER, 'other'))?.login.tokens.access_token, 'b');
    assert.equal(await store.load(ISSUER, 'outpost'), null);

    await store.delete(ISSUER, 'other');
    assert.equal(existsSync(join(stateDir, 'credentials.json')), false);
    assert.deepEqual(await store.delete(ISSUER, 'other'), []);
  });

  test('a garbled file is KEYCHAIN_FAILED with what to do', async () => {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'credentials.json'), '{not json');

    const error = await openTokenStore({ stateDir, keychain: null })
      .load(ISSUER, 'outpost')
      .then(
        () => assert.fail('expected a rejection'),
        (failure: unknown) => failure,
      );

    assert.ok(isOutpostError(error));
    assert.equal(error.code, 'KEYCHAIN_FAILED');
    assert.match(error.hint ?? '', /delete .*credentials\.json/);
  });

  test('a keychain that fails is reported and the file used instead', async () => {
    const store = openTokenStore({ stateDir, keychain: brokenKeychain() });

    const outcome = await store.save(login('c'));

    assert.equal(outcome.store, 'file');
    assert.equal(outcome.keychainError, 'Couldn’t access platform storage: no Secret Service');
    assert.equal((await store.load(ISSUER, 'outpost'))?.store, 'file');
  });

  test('a keychain that works wins, and an older copy in the file is removed', async () => {
    await openTokenStore({ stateDir, keychain: null }).save(login('old'));
    const keychain = memoryKeychain();
    const store = openTokenStore({ stateDir, keychain });

    const outcome = await store.save(login('new'));

    assert.deepEqual(outcome, { store: 'keychain' });
    assert.equal(existsSync(join(stateDir, 'credentials.json')), false);
    assert.deepEqual(await store.load(ISSUER, 'outpost'), {
      login: login('new'),
      store: 'keychain',
    });
    assert.deepEqual([...keychain.entries.keys()], [`outpost\n${ISSUER}|outpost`]);
  });
});

describe('the OS keychain, in a child process with its own HOME', { skip: skipReason() }, () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'outpost-keychain-'));
    mkdirSync(join(home, 'run'), { mode: 0o700 });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  test('with no Secret Service reachable, the file is used and the reason given', async () => {
    const stateDir = join(home, 'state');
    const env = {
      ...childEnv(home),
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(home, 'no-bus')}`,
    };

    const result = await runChild(
      [process.execPath, '--import', 'tsx', CHILD, stateDir, 'tok-1'],
      env,
    );

    assert.equal(result.saved, 'file');
    assert.notEqual(result.keychainError, null);
    assert.deepEqual(result.filesAfterSave, ['credentials.json']);
    assert.equal(result.loadedFrom, 'file');
    assert.equal(result.loadedTokenMatches, true);
    assert.deepEqual(result.deleted, ['file']);
    assert.equal(result.afterDelete, null);
  });

  test(
    'with a Secret Service (gnome-keyring), the keychain is used and no file written',
    { skip: secretServiceMissing() },
    async () => {
      const stateDir = join(home, 'state');
      const unlockThenRun =
        'printf "\\n" | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@"';
      const command = ['dbus-run-session', '--', 'sh', '-c', unlockThenRun, 'sh'];

      const result = await runChild(
        [...command, process.execPath, '--import', 'tsx', CHILD, stateDir, 'tok-2'],
        childEnv(home),
      );

      assert.equal(result.saved, 'keychain', `keychain error: ${String(result.keychainError)}`);
      assert.equal(result.inKeychain, true);
      assert.deepEqual(result.filesAfterSave, []);
      assert.equal(result.loadedFrom, 'keychain');
      assert.equal(result.loadedTokenMatches, true);
      assert.deepEqual(result.deleted, ['keychain']);
      assert.equal(result.afterDelete, null);
    },
  );
});

function login(accessToken: string): StoredLogin {
  return {
    issuer: ISSUER,
    client_id: 'outpost',
    tokens: { access_token: accessToken, refresh_token: `${accessToken}-refresh`, expires_at: 2e9 },
    identity: {
      sub: 'u1',
      preferred_username: 'alice',
      name: 'Alice',
      email: 'alice@example.com',
      groups: ['staff'],
      entitlements: [],
      user_attributes: {},
      is_superuser: false,
      access_token: accessToken,
      source: 'oidc',
    },
    saved_at: 1_700_000_000,
  };
}

/** The OS keychain's failure on a headless machine, as @napi-rs/keyring reports it. */
function brokenKeychain(): Keychain {
  const fail = async (): Promise<never> => {
    throw new Error('Couldn’t access platform storage: no Secret Service\n\nStack backtrace: …');
  };
  return { getPassword: fail, setPassword: fail, deletePassword: fail };
}

function memoryKeychain(): Keychain & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    getPassword: async (service, account) => entries.get(`${service}\n${account}`) ?? null,
    setPassword: async (service, account, password) => {
      entries.set(`${service}\n${account}`, password);
    },
    deletePassword: async (service, account) => entries.delete(`${service}\n${account}`),
  };
}

function filesContaining(dir: string, needle: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => readFileSync(path, 'utf8').includes(needle));
}

function childEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: home, XDG_RUNTIME_DIR: join(home, 'run') };
}

async function runChild(command: string[], env: Record<string, string>) {
  const [file = '', ...args] = command;
  const { stdout } = await run(file, args, { cwd: ROOT, env, timeout: 60_000 });
  return JSON.parse(stdout) as {
    saved: string;
    keychainError: string | null;
    filesAfterSave: string[];
    inKeychain: boolean;
    loadedFrom: string | null;
    loadedTokenMatches: boolean;
    deleted: string[];
    afterDelete: unknown;
  };
}

function skipReason(): string | false {
  return process.platform === 'linux'
    ? false
    : 'the throwaway keychain needs Linux; elsewhere the real login keychain would be touched';
}

function secretServiceMissing(): string | false {
  const missing = ['dbus-run-session', 'gnome-keyring-daemon'].filter((name) => !onPath(name));
  return missing.length === 0 ? false : `not installed: ${missing.join(', ')} (see .ci/run)`;
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => existsSync(join(dir, name)));
}
