import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { request } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';

/** Sends raw bytes and returns the raw answer (until the server closes or 1 s passes). */
function sendRaw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe('serve: malformed requests', () => {
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

  it('answers 400 to garbage, a missing Host and a bent Host, and keeps serving', async () => {
    assert.match(await sendRaw(outpost.httpUrl, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await sendRaw(outpost.httpUrl, 'GET / HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(
      await sendRaw(
        outpost.httpUrl,
        'GET / HTTP/1.1\r\nHost: evil.test/@x\r\nConnection: close\r\n\r\n',
      ),
      /^HTTP\/1\.1 400/,
    );
    const ok = await request(`${outpost.httpUrl}/still-up`);
    assert.equal(ok.status, 200);
  });

  it('answers 431 to oversized headers', async () => {
    const big = `GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    assert.match(await sendRaw(outpost.httpUrl, big), /^HTTP\/1\.1 431/);
  });

  it('survives a client that aborts mid-request', async () => {
    const { hostname, port } = new URL(outpost.httpUrl);
    const socket = connect({ host: hostname, port: Number(port) });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\npartial',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await request(`${outpost.httpUrl}/after-abort`)).status, 200);
  });
});
