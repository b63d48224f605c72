import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';

import { openTokenStore } from '../../src/core/credentials/token-store.js';
import { SessionStore, sessionsDirFor } from '../../src/core/session/session-store.js';
import { startOidcProvider, type OidcProviderFixture } from '../fixtures/oidc-provider.js';
import { ALICE, aliceIdentity } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const LOGIN = { username: 'alice', password: 'wonderland' };

// elsewhere the OS keychain ignores HOME, so a test would write to the developer's own
describe('outpost login and logout, the built CLI', { skip: notLinux() }, () => {
  let op: OidcProviderFixture;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let provider: string[];
  before(async () => {
    op = await startOidcProvider({ users: [ALICE] });
    provider = ['--issuer', op.issuer, '--client-id', op.cliClient.client_id];
  });
  after(() => op.close());
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'outpost-login-'));
    // no D-Bus session: the keychain is unreachable, as on a headless machine
    env = {
      PATH: process.env.PATH,
      HOME: home,
      OUTPOST_STATE_DIR: join(home, 'state'),
      NO_COLOR: '1',
    };
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  test('login --device prints the code, waits, keeps the tokens in the file and says so once', async () => {
    const cli = runOutpost(['login', '--device', '--no-browser', '--json', ...provider], env, home);

    const url = await cli.waitForStderr(/\(or open (\S+)\)/);
    await op.drive(op.browser(), url, LOGIN);
    const { code, stdout, stderr } = await cli.done;

    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(result.method, 'device');
    assert.equal(result.store, 'file');
    assert.equal(result.credentials_file, join(home, 'state', 'credentials.json'));
    assert.equal((result.user as { preferred_username: string }).preferred_username, 'alice');
    assert.match(stderr, /enter the code [A-Z]{4}-[A-Z]{4}/);
    assert.equal(stderr.match(/no keychain is reachable/g)?.length, 1);
    assert.equal(statSync(join(home, 'state', 'credentials.json')).mode & 0o777, 0o600);
    for (const secret of keptSecrets(home)) {
      assert.ok(!stdout.includes(secret) && !stderr.includes(secret), 'a token was printed');
    }
  });

  test('login by browser prints the URL and finishes when the browser comes back', async () => {
    const cli = runOutpost(['login', '--no-browser', ...provider], env, home);

    const url = await cli.waitForStderr(/^\s+(http\S+)$/m);
    await op.drive(op.browser(), url, { ...LOGIN, follow: true });
    const { code, stdout, stderr } = await cli.done;

    assert.equal(code, 0, stderr);
    assert.match(stdout, /^Logged in to http:\/\/127\.0\.0\.1:\d+\/ as alice\.$/m);
  });

  test('a login nobody finishes times out with what to do', async () => {
    const cli = runOutpost(['login', '--no-browser', '--timeout', '1', ...provider], env, home);

    const { code, stderr } = await cli.done;

    assert.equal(code, 1);
    assert.match(stderr, /Error: the browser did not come back within 1 minute/);
    assert.match(stderr, /Hint: .*--device/);
  });

  test('logout revokes at the provider and forgets the tokens', async () => {
    const login = runOutpost(['login', '--device', '--no-browser', ...provider], env, home);
    await op.drive(op.browser(), await login.waitForStderr(/\(or open (\S+)\)/), LOGIN);
    assert.equal((await login.done).code, 0);
    const [accessToken = ''] = keptSecrets(home);
    // a proxy session of the same user, as `serve` keeps it in the same state directory
    const sessions = SessionStore.open({
      dir: sessionsDirFor(join(home, 'state'), op.cliClient.client_id),
      secret: 'test',
    });
    sessions.create({ ...aliceIdentity(op.subOf('alice'), 'x'), source: 'oidc' }, 600);
    sessions.close();

    const { code, stdout } = await runOutpost(['logout', '--json', ...provider], env, home).done;

    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), {
      issuer: `${op.issuer}/`,
      client_id: op.cliClient.client_id,
      was_logged_in: true,
      user: 'alice',
      revocation: 'revoked',
      forgotten: ['file'],
      sessions_ended: 1,
    });
    assert.equal(await isActive(op, accessToken), false);
  });

  test('logout works offline and says the provider could not be told', async () => {
    const issuer = `http://127.0.0.1:${await closedPort()}/`;
    await openTokenStore({ stateDir: join(home, 'state'), keychain: null }).save(
      storedLogin(issuer),
    );

    const { code, stdout, stderr } = await runOutpost(
      ['logout', '--issuer', issuer, '--client-id', 'outpost-cli'],
      env,
      home,
    ).done;

    assert.equal(code, 0, stderr);
    assert.match(stderr, /the provider could not be told \(cannot reach .*ECONNREFUSED\)/);
    assert.match(stdout, /Logged out alice/);
    assert.equal(
      await openTokenStore({ stateDir: join(home, 'state'), keychain: null }).load(
        issuer,
        'outpost-cli',
      ),
      null,
    );
  });

  test('without a provider, login is a usage error (exit 2) with a hint', async () => {
    const { code, stderr } = await runOutpost(['login'], env, home).done;

    assert.equal(code, 2);
    assert.match(stderr, /no OpenID provider is configured/);
    assert.match(stderr, /--issuer and --client-id/);
  });
});

interface Running {
  waitForStderr(pattern: RegExp): Promise<string>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function runOutpost(args: string[], env: NodeJS.ProcessEnv, cwd: string): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    waiters.forEach((wake) => wake());
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  const waitForStderr = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stderr);
        if (match?.[1]) resolve(match[1]);
      };
      waiters.push(check);
      check();
      void done.then(() => reject(new Error(`exited before ${pattern}:\n${stderr}`)));
    });
  return { waitForStderr, done };
}

/** The tokens the CLI kept in the state directory's file. */
function keptSecrets(home: string): string[] {
  const file = JSON.parse(readFileSync(join(home, 'state', 'credentials.json'), 'utf8')) as {
    entries: Record<string, string>;
  };
  return Object.values(file.entries).flatMap((entry) => {
    const { tokens } = JSON.parse(entry) as { tokens: Record<string, string | number> };
    return [tokens.access_token, tokens.refresh_token].filter(
      (t): t is string => typeof t === 'string',
    );
  });
}

async function isActive(op: OidcProviderFixture, token: string): Promise<boolean> {
  const { client_id, client_secret } = op.proxyClient;
  const response = await fetch(`${op.issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
  return ((await response.json()) as { active: boolean }).active;
}

function storedLogin(issuer: string) {
  return {
    issuer,
    client_id: 'outpost-cli',
    tokens: { access_token: 'offline-token', expires_at: 2e9 },
    identity: {
      sub: 'u1',
      preferred_username: 'alice',
      name: '',
      email: '',
      groups: [],
      entitlements: [],
      user_attributes: {},
      is_superuser: false,
      access_token: 'offline-token',
      source: 'oidc' as const,
    },
    saved_at: 1,
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function notLinux(): string | false {
  return process.platform === 'linux' ? false : 'the OS keychain would be the developer’s own';
}
