import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { isolatedEnv, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { CookieJar, request } from '../helpers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { signInWithForm } from '../helpers/sign-in.js';
import { until } from '../helpers/until.js';
import {
  childrenOf,
  socketsTo,
  startServeProcess,
  type ServeProcess,
} from '../hardening/serve-process.js';

const CONFIG = (upstream: string) => `internal_host: ${upstream}
skip_path_regex: ^/public/
users:
  - username: alice
  - username: bob
`;

describe('serve --workers 2: two processes, one set of sessions', () => {
  let upstream: RecordingUpstream;
  let serve: ServeProcess;

  before(async () => {
    upstream = await startRecordingUpstream();
    serve = await startServeProcess({ yaml: CONFIG(upstream.url), args: ['--workers', '2'] });
  });
  after(async () => {
    await serve.stop();
    await upstream.close();
  });

  it('says so at start and runs two workers under this process', () => {
    assert.match(serve.output(), /· 2 workers/);
    assert.equal(childrenOf(serve.pid).length, 2);
  });

  it('honours one sign-in on every new connection, whichever worker takes it', async () => {
    const jar = new CookieJar();
    const first = await request(`${serve.url}/account`, { jar });
    const back = await signInWithForm(first.headers.location!, jar, 'alice');
    assert.equal(back.status, 302);

    const workers = childrenOf(serve.pid);
    // each request() is a connection of its own, and the connections go to the workers in turn
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(`${serve.url}/account/${i}`, { jar })),
    );
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array(20).fill(200),
    );
    // a worker that forwarded requests keeps its connections to the app open for a while
    const appPort = Number(new URL(upstream.url).port);
    const connections = workers.map((pid) => socketsTo(pid, appPort));
    assert.ok(
      connections.every((count) => count > 0),
      `both workers forwarded: ${connections.join(', ')} connections to the app`,
    );
    const names = upstream.received
      .slice(-20)
      .map((r) => headerOf(r.headers, 'x-authentik-username'));
    assert.deepEqual(names, Array(20).fill('alice'));
  });

  it('finishes sign-ins started in the other worker (the form on one connection, the post on the next)', async () => {
    for (const user of ['alice', 'bob', 'alice', 'bob']) {
      const jar = new CookieJar();
      const first = await request(`${serve.url}/where?x=1`, { jar });
      const back = await signInWithForm(first.headers.location!, jar, user);
      assert.equal(back.status, 302, `sign-in as ${user}`);
      assert.equal(back.headers.location, `${serve.url}/where?x=1`);
      assert.equal((await request(`${serve.url}/where`, { jar })).status, 200);
    }
  });

  it('ends a session in every worker when one signs it out', async () => {
    const jar = new CookieJar();
    const first = await request(`${serve.url}/`, { jar });
    await signInWithForm(first.headers.location!, jar, 'bob');
    const cookie = jar.headerFor(new URL(serve.url))!;
    const signedIn = await Promise.all(
      Array.from({ length: 6 }, () => request(`${serve.url}/`, { headers: { cookie } })),
    );
    assert.deepEqual(
      signedIn.map((answer) => answer.status),
      Array(6).fill(200),
    );

    const out = await request(`${serve.url}/outpost.goauthentik.io/sign_out`, { jar });
    assert.equal(out.status, 302);
    // the old cookie, as a copy kept elsewhere would send it, on connections to both workers
    const afterwards = await until('every worker to forget the session', async () => {
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => request(`${serve.url}/`, { headers: { cookie } })),
      );
      return answers.every((answer) => answer.status === 302) ? answers : undefined;
    });
    assert.equal(afterwards.length, 6);
  });

  it("signs a user out of every browser's session, whichever worker started it", async () => {
    const jars = Array.from({ length: 4 }, () => new CookieJar());
    for (const jar of jars) {
      const first = await request(`${serve.url}/mine`, { jar });
      assert.equal((await signInWithForm(first.headers.location!, jar, 'alice')).status, 302);
    }
    const out = await request(`${serve.url}/outpost.goauthentik.io/sign_out`, { jar: jars[0] });
    assert.equal(out.status, 302);
    await until('every session of alice to end in both workers', async () => {
      const answers = await Promise.all(
        jars.flatMap((jar) => [jar, jar].map(() => request(`${serve.url}/mine`, { jar }))),
      );
      return answers.every((answer) => answer.status === 302) ? true : undefined;
    });
  });

  it('replaces a worker that dies, and keeps serving meanwhile', async () => {
    const [victim, survivor] = childrenOf(serve.pid) as [number, number];
    process.kill(victim, 'SIGKILL');
    const replaced = await until('a new worker', () => {
      const now = childrenOf(serve.pid);
      return now.length === 2 && !now.includes(victim) ? now : undefined;
    });
    assert.ok(replaced.includes(survivor));
    await until('the warning', () =>
      serve.output().includes(`worker ${victim} stopped (signal SIGKILL); starting another`)
        ? true
        : undefined,
    );
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => request(`${serve.url}/public/x`)),
    );
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array(10).fill(200),
    );
  });

  it('stops every worker and exits 0 on SIGTERM', async () => {
    const workers = childrenOf(serve.pid);
    const code = await serve.stop();
    assert.equal(code, 0, serve.output());
    for (const pid of workers) assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});

describe('serve --workers: failures are said once, clearly', () => {
  let blocker: Server;
  let port: number;

  before(async () => {
    port = await freePort();
    blocker = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
  });
  after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('a port in use stops serve with one error and exit 1, leaving no worker behind', async () => {
    const sandbox = isolatedEnv();
    const result = await runCli(
      ['serve', '--workers', '2', '--port', String(port), '--https-port', '0'],
      { cwd: sandbox.dir, env: sandbox.env },
    );
    sandbox.cleanup();
    assert.equal(result.code, 1);
    assert.equal(result.stderr.match(/already in use/g)?.length, 1, result.stderr);
    assert.match(result.stderr, /Hint: stop what uses it, or choose another port with --port/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });

  it('a bad --workers value is a usage error naming what is allowed', async () => {
    const sandbox = isolatedEnv();
    for (const value of ['0', 'many', '65']) {
      const result = await runCli(['serve', '--workers', value], {
        cwd: sandbox.dir,
        env: sandbox.env,
      });
      assert.equal(result.code, 2, value);
      assert.match(result.stderr, /--workers: .*is not a number of workers/, result.stderr);
      assert.match(result.stderr, /or auto for one per CPU core/);
    }
    sandbox.cleanup();
  });
});

function headerOf(headers: [string, string][], name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}
