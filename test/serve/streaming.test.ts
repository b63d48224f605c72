import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { CookieJar } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { signInWithForm } from '../helpers/sign-in.js';

describe('serve: WebSockets and streamed responses', () => {
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;
  let cookie: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({
      yaml: `internal_host: ${upstream.url}\nskip_path_regex: "^/public/"\nusers: [{username: alice}]\n`,
    });
    const jar = new CookieJar();
    await signInWithForm(`${outpost.httpUrl}/outpost.goauthentik.io/start`, jar, 'alice');
    cookie = jar.headerFor(new URL(outpost.httpUrl))!;
  });
  after(async () => {
    await outpost.close();
    await upstream.close();
  });

  it('passes a WebSocket through with the identity headers when signed in', async () => {
    const socket = new WebSocket(`${outpost.httpUrl.replace('http', 'ws')}/live`, {
      headers: { cookie, 'X-Authentik-Username': 'mallory' },
    });
    const messages = collect(socket, 2);
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send('hello');
    const [handshake, echo] = await messages;
    socket.close();
    const headers: [string, string][] = JSON.parse(handshake!).headers;
    assert.deepEqual(
      headers.filter(([name]) => /username/i.test(name)),
      [['X-Authentik-Username', 'alice']],
    );
    assert.equal(echo, 'echo:hello');
  });

  it('refuses a WebSocket without a session on a protected path', async () => {
    const socket = new WebSocket(`${outpost.httpUrl.replace('http', 'ws')}/live`);
    const status = await new Promise<number>((resolve) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('open', () => resolve(101));
      socket.once('error', () => resolve(-1));
    });
    socket.terminate();
    assert.equal(status, 401);
  });

  it('passes a WebSocket on a public path without a session, with no identity', async () => {
    const socket = new WebSocket(`${outpost.httpUrl.replace('http', 'ws')}/public/feed`, {
      headers: { 'x-authentik-username': 'mallory' },
    });
    const [handshake] = await collect(socket, 1);
    socket.close();
    const headers: [string, string][] = JSON.parse(handshake!).headers;
    assert.deepEqual(
      headers.filter(([name]) => /authentik/i.test(name)),
      [],
    );
  });

  it('delivers server-sent events as they come, before the stream ends', async () => {
    const started = Date.now();
    const arrivals = await new Promise<number[]>((resolve, reject) => {
      const times: number[] = [];
      const req = httpRequest(`${outpost.httpUrl}/sse`, { headers: { cookie } }, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream');
        res.on('data', (chunk: Buffer) => {
          for (const _ of chunk.toString().matchAll(/data: event/g))
            times.push(Date.now() - started);
        });
        res.on('end', () => resolve(times));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(arrivals.length, 3);
    // the stream ends 300 ms after the third event; the first must arrive long before that
    assert.ok(arrivals[0]! < arrivals[2]! - 150, `events arrived at ${arrivals.join(', ')} ms`);
  });
});

function collect(socket: WebSocket, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    socket.on('message', (data) => {
      messages.push(String(data));
      if (messages.length === count) resolve(messages);
    });
    socket.once('error', reject);
  });
}
