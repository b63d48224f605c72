import assert from 'node:assert/strict';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { request } from '../helpers/http-client.js';
import { procStatusKb, startServeProcess, type ServeProcess } from './serve-process.js';

const GIB = 1024 ** 3;
const PEAK_LIMIT_KB = 200 * 1024;
/** One reused block: the bytes are made on the fly and never held whole anywhere. */
const BLOCK = Buffer.alloc(256 * 1024, 'outpost-');

/** Writes `total` bytes of BLOCK into `sink`, waiting whenever it asks to. */
async function writeBytes(sink: Writable, total: number): Promise<void> {
  for (let sent = 0; sent < total; sent += BLOCK.length) {
    const chunk = total - sent >= BLOCK.length ? BLOCK : BLOCK.subarray(0, total - sent);
    if (!sink.write(chunk)) await new Promise((resolve) => sink.once('drain', resolve));
  }
}

/** An app that streams `/download?bytes=N` and counts what `/upload` receives. */
async function startByteApp(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname === '/download') {
      const total = Number(url.searchParams.get('bytes'));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      void writeBytes(res, total).then(() => res.end());
      return;
    }
    let received = 0;
    req.on('data', (chunk: Buffer) => (received += chunk.length));
    req.on('end', () => res.end(JSON.stringify({ received })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('a 1 GiB upload and a 1 GiB download stream through serve with flat memory', () => {
  let app: { url: string; close(): Promise<void> };
  let serve: ServeProcess;

  before(async () => {
    app = await startByteApp();
    serve = await startServeProcess({ args: ['--upstream', app.url, '--user', 'akadmin'] });
  });
  after(async () => {
    await serve.stop();
    await app.close();
  });

  it('uploads 1 GiB, the app receives every byte', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        `${serve.url}/upload`,
        { method: 'POST', agent: false, headers: { 'content-length': GIB } },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      void writeBytes(req, GIB).then(() => req.end());
    });
    assert.deepEqual(JSON.parse(answer), { received: GIB });
  });

  it('downloads 1 GiB, every byte arrives', async () => {
    const received = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${serve.url}/download?bytes=${GIB}`, { agent: false }, (res) => {
        let count = 0;
        res.on('data', (chunk: Buffer) => (count += chunk.length));
        res.on('end', () => resolve(count));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(received, GIB);
  });

  it(`kept the proxy's peak RSS under ${PEAK_LIMIT_KB / 1024} MB, and it still serves`, async () => {
    const peak = procStatusKb(serve.pid, 'VmHWM');
    assert.ok(peak < PEAK_LIMIT_KB, `peak RSS ${Math.round(peak / 1024)} MB`);
    assert.equal((await request(`${serve.url}/after`)).status, 200);
  });
});
