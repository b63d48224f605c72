import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { request } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { exchangeRaw } from './raw-http.js';

const HIDDEN = 'GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n';

/** Framings that two HTTP parsers could read differently; each hides a second request. */
const AMBIGUOUS: Record<string, string> = {
  'Content-Length then Transfer-Encoding': `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}`,
  'Transfer-Encoding then Content-Length': `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n0\r\n\r\n${HIDDEN}`,
  'two different Content-Lengths': `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n${HIDDEN}`,
  'two equal Content-Lengths': `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 44\r\nContent-Length: 44\r\n\r\n${HIDDEN}`,
  'a Content-Length list': `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 44, 44\r\n\r\n${HIDDEN}`,
  'an obs-fold header': `GET /a HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n${HIDDEN}`,
  'a folded Transfer-Encoding': `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${HIDDEN}`,
  'bare LF line ends': `GET /a HTTP/1.1\nHost: localhost\n\n${HIDDEN}`,
  'one bare LF among CRLFs': `GET /a HTTP/1.1\r\nHost: localhost\nContent-Length: 44\r\n\r\n${HIDDEN}`,
  'a bare CR': `GET /a HTTP/1.1\r\nHost: localhost\rContent-Length: 44\r\n\r\n${HIDDEN}`,
  'bare LF in the chunk framing': `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\n\n${HIDDEN}`,
  'chunked not last': `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${HIDDEN}`,
  'a lookalike of chunked': `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\nContent-Length: 44\r\n\r\n${HIDDEN}`,
  'a space before the colon': `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding : chunked\r\nContent-Length: 44\r\n\r\n${HIDDEN}`,
  'a NUL in a header value': `GET /a HTTP/1.1\r\nHost: localhost\r\nX-A: b\0c\r\n\r\n${HIDDEN}`,
  'a signed Content-Length': `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: +44\r\n\r\n${HIDDEN}`,
};

describe('request smuggling: the app never sees a request hidden in another', () => {
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({
      yaml: `internal_host: ${upstream.url}\nusers: [{username: a}]\n`,
      presetUser: 'a',
    });
  });
  after(async () => {
    await outpost.close();
    await upstream.close();
  });

  for (const [name, bytes] of Object.entries(AMBIGUOUS)) {
    it(`refuses ${name} with 400 and forwards nothing`, async () => {
      const before = upstream.received.length;
      const answer = await exchangeRaw(outpost.httpUrl, bytes);
      assert.deepEqual(answer.statuses, [400], answer.text);
      assert.ok(answer.closedByServer, 'the connection is closed after a framing error');
      assert.deepEqual(upstream.received.slice(before), [], 'the app received a request');
    });
  }

  it('answers a request line over the limit with 431, forwarding nothing', async () => {
    const before = upstream.received.length;
    const line = `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    const answer = await exchangeRaw(outpost.httpUrl, line);
    assert.deepEqual(answer.statuses, [431]);
    assert.equal(upstream.received.length, before);
  });

  it('still answers pipelined requests, each once and in order', async () => {
    const before = upstream.received.length;
    const answer = await exchangeRaw(
      outpost.httpUrl,
      'GET /one HTTP/1.1\r\nHost: localhost\r\n\r\nGET /two HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(answer.statuses, [200, 200]);
    assert.deepEqual(
      upstream.received.slice(before).map((r) => r.url),
      ['/one', '/two'],
    );
  });

  it('forwards a body that looks like requests as one body, byte for byte', async () => {
    const before = upstream.received.length;
    const body = `${HIDDEN}0\r\n\r\n${HIDDEN}`;
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const answer = await exchangeRaw(
      outpost.httpUrl,
      `POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`,
    );
    assert.deepEqual(answer.statuses, [200]);
    const got = upstream.received.slice(before);
    assert.deepEqual(
      got.map((r) => [r.url, r.body]),
      [['/upload', body]],
    );
    // the keep-alive connection to the app is still in step: the next request is answered right
    assert.equal((await request(`${outpost.httpUrl}/after`)).status, 200);
    assert.equal(upstream.last().url, '/after');
  });
});

describe('response framing: bytes the app sends too many never answer another request', () => {
  let app: Server;
  let outpost: TestOutpost;
  const sockets = new Set<Socket>();

  before(async () => {
    // one answer with a second one glued behind it, on a connection the proxy would reuse
    app = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('data', (data: Buffer) => {
        const path = data.toString('latin1').split(' ')[1] ?? '/';
        if (path === '/poison') {
          socket.write(
            'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nINJECTED',
          );
        } else if (path === '/both') {
          socket.write(
            'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nINJECTED',
          );
        } else {
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
        }
      });
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const { port } = app.address() as { port: number };
    outpost = await startTestOutpost({
      yaml: `internal_host: http://127.0.0.1:${port}\nusers: [{username: a}]\n`,
      presetUser: 'a',
    });
  });
  after(async () => {
    await outpost.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => app.close(resolve));
  });

  it('answers the next requests with their own answers after a glued extra response', async () => {
    const first = await request(`${outpost.httpUrl}/poison`);
    assert.equal(first.body, 'hello');
    for (const path of ['/next-1', '/next-2', '/next-3']) {
      const next = await request(`${outpost.httpUrl}${path}`);
      assert.equal(next.body, path);
    }
  });

  it('refuses an answer framed by both Content-Length and chunks, and keeps serving', async () => {
    const both = await request(`${outpost.httpUrl}/both`);
    assert.equal(both.status, 502);
    assert.doesNotMatch(both.body, /INJECTED/);
    assert.equal((await request(`${outpost.httpUrl}/fine`)).body, '/fine');
  });
});
