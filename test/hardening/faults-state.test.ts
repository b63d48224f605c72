import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CookieJar, request } from '../helpers/http-client.js';
import {
  headerValues,
  startRecordingUpstream,
  type ReceivedRequest,
  type RecordingUpstream,
} from '../helpers/recording-upstream.js';
import { signInWithForm } from '../helpers/sign-in.js';
import { until } from '../helpers/until.js';
import { startOidcStack, type OidcStack } from './oidc-stack.js';
import { childrenOf, socketsTo, startServeProcess, type ServeProcess } from './serve-process.js';

/** A stack trace's frame lines, which no page and no log line may show. */
const STACK_FRAME = /\n\s+at \S/;

const CONFIG = (upstream: string) => `internal_host: ${upstream}
users: [{username: alice}, {username: bob}, {username: carol}]
`;

/** A fresh browser signed in as a dev user through serve's sign-in page. */
async function signedIn(serve: ServeProcess, username: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const first = await request(`${serve.url}/landing`, { jar });
  const back = await signInWithForm(first.headers.location!, jar, username);
  assert.equal(back.status, 302, `sign-in as ${username}: ${back.body.slice(0, 300)}`);
  return jar;
}

/** The username the app received for this browser's request, or its status when not let in. */
async function whoIs(serve: ServeProcess, jar: CookieJar): Promise<string | number> {
  const answer = await request(`${serve.url}/who`, { jar });
  if (answer.status !== 200) return answer.status;
  return headerValues(JSON.parse(answer.body) as ReceivedRequest, 'X-Authentik-Username')[0]!;
}

/** A new sign-in is refused with a clear page, and serve's output says why (`code`). */
async function assertSignInRefused(serve: ServeProcess, code: RegExp): Promise<void> {
  const jar = new CookieJar();
  const first = await request(`${serve.url}/landing`, { jar });
  const refused = await signInWithForm(first.headers.location!, jar, 'carol');
  assert.equal(refused.status, 500);
  assert.match(refused.body, /cannot save the session/);
  assert.doesNotMatch(refused.body, STACK_FRAME);
  await untilOutput(serve, new RegExp(`cannot save a session in .*(${code.source})`));
}

async function untilOutput(serve: ServeProcess, line: RegExp): Promise<void> {
  await until(`serve to print ${line}`, () => (line.test(serve.output()) ? true : undefined));
}

/** The one provider's sessions directory under a state directory. */
function sessionsDir(stateDir: string): string {
  const [provider] = readdirSync(join(stateDir, 'sessions'));
  return join(stateDir, 'sessions', provider!);
}

/** The file that holds the session a browser's cookie names (SHA-256 of the id). */
function sessionFileOf(stateDir: string, jar: CookieJar): string {
  const cookie = jar.headerFor(new URL('http://127.0.0.1/'))!;
  const id = /authentik_proxy_[0-9a-f]{8}=([^.;]+)\./.exec(cookie)![1]!;
  const key = createHash('sha256').update(id).digest('hex');
  return join(sessionsDir(stateDir), `${key}.json`);
}

describe('faults: the OpenID provider goes down during sign-in and refresh', () => {
  let stack: OidcStack;

  before(async () => {
    // a 5 s access token is always within the refresh margin: every request refreshes it
    stack = await startOidcStack({
      users: [{ username: 'carol' }, { username: 'dave' }],
      accessTokenTtl: 5,
      yaml: ['skip_path_regex: ^/public/'],
    });
  });
  after(() => stack?.close());

  /** Runs `during` while the provider is stopped; public paths keep working meanwhile. */
  async function withProviderDown(during: () => Promise<void>): Promise<void> {
    await stack.op.stop();
    try {
      await during();
      assert.equal((await request(`${stack.external}/public/during`)).status, 200);
    } finally {
      await stack.op.restart();
    }
  }

  it('a callback while it is down gets a clear error page; sign-in works once it is back', async () => {
    const browser = stack.op.browser();
    const { leftTo } = await stack.op.drive(browser, `${stack.external}/wanted`, {
      username: 'carol',
    });
    const callbackUrl = leftTo ?? '';
    assert.ok(callbackUrl.startsWith(`${stack.external}/outpost.goauthentik.io/callback`), leftTo);
    await withProviderDown(async () => {
      const callback = await browser.get(callbackUrl);
      assert.equal(callback.status, 502);
      assert.match(callback.body, /The sign-in provider is not reachable/);
      assert.match(callback.body, /Try again/);
      assert.doesNotMatch(callback.body, STACK_FRAME);
    });
    const again = await stack.op.drive(browser, `${stack.external}/wanted`, {
      username: 'carol',
      follow: true,
    });
    assert.equal(again.response.status, 200, again.response.body.slice(0, 300));
    assert.equal(headerValues(stack.app.last(), 'X-Authentik-Username')[0], 'carol');
  });

  it('a refresh while it is down gets a clear error page; the session works once it is back', async () => {
    const browser = await stack.signIn('dave', '/first');
    await withProviderDown(async () => {
      const down = await browser.get(`${stack.external}/second`);
      assert.equal(down.status, 502);
      assert.match(down.body, /cannot be reached/);
      assert.doesNotMatch(down.body, STACK_FRAME);
    });
    const back = await browser.get(`${stack.external}/third`);
    assert.equal(back.status, 200, back.body.slice(0, 300));
    assert.equal(headerValues(stack.app.last(), 'X-Authentik-Username')[0], 'dave');
    for (const warning of stack.outpost.warnings) assert.doesNotMatch(warning, STACK_FRAME);
  });

  it('a refreshed session that cannot be saved is signed out, and the log says so', async (t) => {
    const browser = await stack.signIn('carol', '/first');
    const dir = sessionsDir(stack.outpost.stateDir);
    if (spawnSync('chattr', ['+i', dir]).status !== 0) {
      return t.skip('chattr +i is not permitted here (no CAP_LINUX_IMMUTABLE or no ext4)');
    }
    try {
      const refused = await browser.get(`${stack.external}/second`);
      assert.equal(refused.status, 302, 'signed out, off to sign in again');
    } finally {
      spawnSync('chattr', ['-i', dir]);
    }
    const said = stack.outpost.warnings.find((line) => /could not be saved/.test(line));
    assert.match(said ?? '', /refreshed session of carol could not be saved, so it is signed out/);
    assert.doesNotMatch(said ?? '', STACK_FRAME);
  });
});

describe('faults: the sessions directory', () => {
  let app: RecordingUpstream;
  let stateDir: string;

  before(async () => {
    app = await startRecordingUpstream();
    stateDir = mkdtempSync(join(tmpdir(), 'outpost-faults-'));
  });
  after(async () => {
    await app?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('gone (a file in its place): sign-in and lookups fail closed and say so, then recover', async () => {
    const serve = await startServeProcess({ yaml: CONFIG(app.url), stateDir });
    const dir = sessionsDir(stateDir);
    try {
      const [alice, bob] = [await signedIn(serve, 'alice'), await signedIn(serve, 'bob')];
      // chmod does not stop root, which CI runs as; a file where the directory was stops anyone
      renameSync(dir, `${dir}.away`);
      writeFileSync(dir, 'not a directory');
      try {
        await assertSignInRefused(serve, /ENOTDIR/);
        assert.equal(await whoIs(serve, alice), 302, 'a session that cannot be read is no session');
        await untilOutput(serve, /cannot read session [0-9a-f]{8}: .*ENOTDIR/);
      } finally {
        rmSync(dir);
        renameSync(`${dir}.away`, dir);
      }
      assert.equal(await whoIs(serve, bob), 'bob', 'sessions not asked for meanwhile survive');
      assert.equal(await whoIs(serve, await signedIn(serve, 'alice')), 'alice');
      assert.doesNotMatch(serve.output(), STACK_FRAME);
    } finally {
      await serve.stop();
    }
  });

  it('unwritable (immutable, which stops root too): sign-in refused, sessions read on', async (t) => {
    const serve = await startServeProcess({ yaml: CONFIG(app.url), stateDir });
    const dir = sessionsDir(stateDir);
    try {
      const [alice, bob] = [await signedIn(serve, 'alice'), await signedIn(serve, 'bob')];
      if (spawnSync('chattr', ['+i', dir]).status !== 0) {
        return t.skip('chattr +i is not permitted here (no CAP_LINUX_IMMUTABLE or no ext4)');
      }
      try {
        await assertSignInRefused(serve, /EPERM|EACCES/);
        assert.equal(await whoIs(serve, alice), 'alice');
        assert.equal(await whoIs(serve, bob), 'bob');
      } finally {
        spawnSync('chattr', ['-i', dir]);
      }
      assert.equal(await whoIs(serve, await signedIn(serve, 'carol')), 'carol');
      assert.doesNotMatch(serve.output(), STACK_FRAME);
    } finally {
      await serve.stop();
    }
  });

  it('a corrupt session file: that session is signed out, the others survive a restart', async () => {
    const first = await startServeProcess({ yaml: CONFIG(app.url), stateDir });
    const jars = new Map<string, CookieJar>();
    try {
      for (const user of ['alice', 'bob', 'carol']) jars.set(user, await signedIn(first, user));
    } finally {
      await first.stop();
    }
    const bobFile = sessionFileOf(stateDir, jars.get('bob')!);
    writeFileSync(bobFile, readFileSync(bobFile, 'utf8').slice(0, 40));

    const serve = await startServeProcess({ yaml: CONFIG(app.url), stateDir });
    try {
      assert.equal(await whoIs(serve, jars.get('alice')!), 'alice');
      assert.equal(await whoIs(serve, jars.get('carol')!), 'carol');
      const bob = await request(`${serve.url}/who`, { jar: jars.get('bob')! });
      assert.equal(bob.status, 302, 'the corrupt session reads as signed out');
      assert.match(bob.headers.location!, /\/outpost\.goauthentik\.io\/start/);
      assert.match(String(bob.headers['set-cookie']), /authentik_proxy_[0-9a-f]{8}=;.*Max-Age=0/i);
      await untilOutput(serve, /session file [0-9a-f]{8}… is corrupt; it is ignored/);
      assert.doesNotMatch(serve.output(), STACK_FRAME);
      assert.equal(await whoIs(serve, await signedIn(serve, 'bob')), 'bob');
    } finally {
      await serve.stop();
    }
  });
});

describe('faults: two workers writing sessions at once', () => {
  let app: RecordingUpstream;
  let serve: ServeProcess;

  before(async () => {
    app = await startRecordingUpstream();
    serve = await startServeProcess({ yaml: CONFIG(app.url), args: ['--workers', '2'] });
  });
  after(async () => {
    await serve?.stop();
    await app?.close();
  });

  it('many sign-ins in parallel: each works on every worker, none lost, no corrupt file', async () => {
    const users = ['alice', 'bob', 'carol'];
    const browsers = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const user = users[i % users.length]!;
        return { user, jar: await signedIn(serve, user) };
      }),
    );
    const workers = childrenOf(serve.pid);
    // every request() is a new connection, and connections go to the workers in turn
    const seen = await Promise.all(
      browsers.flatMap(({ user, jar }) =>
        Array.from({ length: 4 }, async () => ({ user, got: await whoIs(serve, jar) })),
      ),
    );
    for (const { user, got } of seen) assert.equal(got, user);
    // a worker that forwarded requests keeps its connections to the app open for a while
    const connections = workers.map((pid) => socketsTo(pid, Number(new URL(app.url).port)));
    assert.ok(
      connections.every((count) => count > 0),
      `both workers forwarded: ${connections.join(', ')} connections to the app`,
    );

    const files = readdirSync(sessionsDir(serve.stateDir));
    assert.equal(files.length, browsers.length, `session files: ${files.join(' ')}`);
    for (const name of files) {
      assert.match(name, /^[0-9a-f]{64}\.json$/, 'no temporary file is left');
      const session = JSON.parse(readFileSync(join(sessionsDir(serve.stateDir), name), 'utf8'));
      assert.equal((session as { key: string }).key, name.slice(0, 64));
    }
    assert.equal(await whoIs(serve, browsers[0]!.jar), browsers[0]!.user);
  });
});
