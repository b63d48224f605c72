import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';

import type { AccessEntry } from '../../src/core/proxy/access-log.js';
import { request } from '../helpers/http-client.js';
import { until } from '../helpers/until.js';
import { startFaultApp, upload, type FaultApp } from './fault-app.js';
import { exchangeRaw, rawGet } from './raw-http.js';
import { openFds, socketsTo, startServeProcess, type ServeProcess } from './serve-process.js';

const UPSTREAM_TIMEOUT = 400;
const HEADER_TIMEOUT = 1000;
const MIB = 1024 * 1024;

/** The access-log entries serve printed so far (`--log-format json`). */
function accessEntries(serve: ServeProcess): AccessEntry[] {
  return serve
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{"time"'))
    .map((line) => JSON.parse(line) as AccessEntry);
}

/** The proxy keeps serving: a plain request gets the app's plain answer. */
async function assertStillServing(serve: ServeProcess, label: string): Promise<void> {
  const answer = await request(`${serve.url}/after-${label}`);
  assert.equal(answer.status, 200, `after ${label}: ${answer.body.slice(0, 200)}`);
  assert.equal(answer.body, `ok /after-${label}`);
}

/**
 * Descriptors of serve other than its pooled keep-alive connections to the app (undici keeps
 * idle ones for 10 s, and may open a few more after aborted requests: bounded, not leaked).
 */
function ownFds(serve: ServeProcess, app: FaultApp): number {
  return openFds(serve.pid) - socketsTo(serve.pid, app.port);
}

/** ownFds once it has settled to at most `limit` (closes are asynchronous), or as it is then. */
async function settledFds(serve: ServeProcess, app: FaultApp, limit: number): Promise<number> {
  try {
    return await until(
      'serve to close its descriptors',
      () => {
        const count = ownFds(serve, app);
        return count <= limit ? count : undefined;
      },
      5000,
    );
  } catch {
    return ownFds(serve, app);
  }
}

describe('faults: the app misbehaves, or a client does, and serve keeps serving', () => {
  let app: FaultApp;
  let serve: ServeProcess;
  let baselineFds: number;

  before(async () => {
    app = await startFaultApp();
    serve = await startServeProcess({
      yaml: [
        `internal_host: ${app.url}`,
        `upstream_timeout: ${UPSTREAM_TIMEOUT}`,
        `client_header_timeout: ${HEADER_TIMEOUT}`,
        'users: [{username: alice}]',
        '',
      ].join('\n'),
      args: ['--user', 'alice', '--log-format', 'json'],
    });
    // one pooled connection to the app exists from here on, as it will after every test
    await assertStillServing(serve, 'start');
    baselineFds = ownFds(serve, app);
  });
  after(async () => {
    await serve?.stop();
    await app?.close();
  });

  it('the app dying mid-response: the client sees one cut response, the log says so', async () => {
    for (const [target, complete] of [
      ['/cut', (text: string) => text.length >= 100_000],
      ['/cut?chunked', (text: string) => text.endsWith('0\r\n\r\n')],
    ] as const) {
      const started = Date.now();
      const raw = await exchangeRaw(serve.url, rawGet(target), 5000);
      assert.ok(raw.closedByServer, `${target}: the connection is closed, not left hanging`);
      assert.ok(Date.now() - started < 4000, `${target}: cut within ${Date.now() - started} ms`);
      assert.deepEqual(raw.statuses, [200], `${target}: one response head, no second answer`);
      assert.match(raw.text, /a{1024}/, `${target}: the part the app sent arrived`);
      assert.ok(!complete(raw.text), `${target}: the body is visibly incomplete`);
    }
    const cut = await until('the access log lines of /cut', () => {
      const lines = accessEntries(serve).filter((entry) => entry.path === '/cut');
      return lines.length === 2 ? lines : undefined;
    });
    for (const entry of cut) {
      assert.equal(entry.status, 200);
      assert.match(entry.error ?? '', /^upstream cut: /, JSON.stringify(entry));
    }
    await assertStillServing(serve, 'cut');
  });

  it(`the app slow to answer: 504 after upstream_timeout (${UPSTREAM_TIMEOUT} ms)`, async () => {
    const started = Date.now();
    const slow = await request(`${serve.url}/slow-headers?ms=5000`);
    const took = Date.now() - started;
    assert.equal(slow.status, 504);
    assert.match(slow.body, /did not answer in time/);
    assert.ok(took >= UPSTREAM_TIMEOUT - 50 && took < 4000, `504 after ${took} ms`);
    await assertStillServing(serve, 'slow-headers');
  });

  it('a response that began in time streams slowly past upstream_timeout, uncut', async () => {
    const started = Date.now();
    const answer = await request(`${serve.url}/trickle`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body, [1, 2, 3, 4, 5].map((n) => `part ${n}\n`).join(''));
    assert.ok(Date.now() - started > UPSTREAM_TIMEOUT, 'it did outlast the timeout');
    await assertStillServing(serve, 'trickle');
  });

  it('the app answering before reading the upload: the client gets that answer', async () => {
    const early = await upload(`${serve.url}/early`, 32 * MIB);
    assert.ok(
      early.status === 413 || early.status === 502,
      `an answer, not a reset: ${JSON.stringify(early)}`,
    );
    await assertStillServing(serve, 'early');
  });

  it('the app never reading the upload nor answering: 504 in bounded time', async () => {
    const started = Date.now();
    const stalled = await upload(`${serve.url}/stall`, 32 * MIB);
    assert.equal(stalled.status, 504, JSON.stringify(stalled));
    assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
    await assertStillServing(serve, 'stall');
  });

  it('a client aborting uploads midway: the app sees each aborted, no descriptor leaks', async () => {
    const before = ownFds(serve, app);
    for (let i = 0; i < 10; i += 1) {
      const result = await upload(`${serve.url}/upload`, 64 * MIB, { abortAfter: 4 * MIB });
      assert.equal(result.error, 'aborted by the client');
    }
    const seen = await until('the app to see 10 uploads end', () =>
      app.uploads.length >= 10 ? app.uploads : undefined,
    );
    for (const upload of seen) {
      assert.equal(upload.outcome, 'aborted');
      assert.ok(upload.bytes < 64 * MIB);
    }
    await assertStillServing(serve, 'abort');
    const afterwards = await settledFds(serve, app, before + 2);
    assert.ok(afterwards <= before + 2, `descriptors: ${before} before, ${afterwards} after`);
  });

  it(`a client stalling in its headers (slowloris) is closed after client_header_timeout`, async () => {
    const { hostname, port } = new URL(serve.url);
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const socket = connect({ host: hostname, port: Number(port) });
      // the server answers 408 and closes: a write after that fails, and 'close' follows
      socket.on('error', () => undefined);
      // headers trickle in byte by byte and never end: each byte must not restart the clock
      const header = 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + 'z'.repeat(200);
      let sent = 0;
      const timer = setInterval(() => socket.write(header[sent++ % header.length]!), 100);
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      });
      setTimeout(() => socket.destroy(), 8000).unref();
    });
    assert.ok(
      closedAfter >= HEADER_TIMEOUT - 100 && closedAfter < 4000,
      `closed after ${closedAfter} ms`,
    );
    await assertStillServing(serve, 'slowloris');
  });

  it('left no descriptors behind after all of the above, and few idle connections to the app', async () => {
    const afterwards = await settledFds(serve, app, baselineFds + 2);
    assert.ok(afterwards <= baselineFds + 2, `${baselineFds} at start, ${afterwards} now`);
    // what the app holds open is what serve's pool holds: no half-closed connection on either side
    const pooled = await until('both ends to agree on the open connections', async () => {
      const [atApp, atServe] = [await app.connections(), socketsTo(serve.pid, app.port)];
      return atApp === atServe ? atServe : undefined;
    });
    assert.ok(pooled <= 16, `${pooled} idle connections to the app`);
  });
});
