import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the app saw of one upload: every byte and its end, or the connection going away first. */
export interface UploadSeen {
  path: string;
  bytes: number;
  outcome: 'ended' | 'aborted';
}

/** An app that misbehaves on request, for fault tests; every other path answers `ok <path>`. */
export interface FaultApp {
  url: string;
  port: number;
  uploads: UploadSeen[];
  /**
   * Connections open to the app right now, but for those of `/stall`: it stopped reading them, so
   * it cannot see them close.
   */
  connections(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Paths: `/cut` (headers and part of the body, then the socket is destroyed; `?chunked` without a
 * length), `/slow-headers?ms=N`, `/trickle` (headers at once, then a chunk every 150 ms for
 * 750 ms), `/early` (413 without reading the body), `/stall` (never reads, never answers),
 * `/upload` (counts the body and records how it ended).
 */
export async function startFaultApp(): Promise<FaultApp> {
  const uploads: UploadSeen[] = [];
  const stalled = new Set<unknown>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname === '/cut') return cutShort(res, url.searchParams.has('chunked'));
    if (url.pathname === '/slow-headers') {
      const timer = setTimeout(() => res.end('late'), Number(url.searchParams.get('ms')));
      return void res.on('close', () => clearTimeout(timer));
    }
    if (url.pathname === '/trickle') return trickle(res);
    if (url.pathname === '/early') {
      return void res.writeHead(413, { connection: 'close' }).end('too large\n');
    }
    if (url.pathname === '/stall') return void stalled.add(req.socket);
    if (url.pathname === '/upload') {
      const seen: UploadSeen = { path: url.pathname, bytes: 0, outcome: 'aborted' };
      req.on('data', (chunk: Buffer) => (seen.bytes += chunk.length));
      req.on('end', () => {
        seen.outcome = 'ended';
        res.end(JSON.stringify({ received: seen.bytes }));
      });
      req.on('close', () => uploads.push(seen));
      return;
    }
    req.resume();
    res.end(`ok ${url.pathname}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    uploads,
    connections: () =>
      new Promise((resolve, reject) =>
        server.getConnections((error, count) =>
          error ? reject(error) : resolve(count - stalled.size),
        ),
      ),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The first kilobyte of an answer promised longer, then the connection dies. */
function cutShort(res: ServerResponse, chunked: boolean): void {
  res.writeHead(200, chunked ? {} : { 'content-length': 100_000 });
  res.write(Buffer.alloc(1024, 'a'), () => setTimeout(() => res.socket?.destroy(), 50));
}

function trickle(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  let sent = 0;
  const timer = setInterval(() => {
    sent += 1;
    res.write(`part ${sent}\n`);
    if (sent === 5) {
      clearInterval(timer);
      res.end();
    }
  }, 150);
  res.on('close', () => clearInterval(timer));
}

/** What a client saw of an upload: the answer's status, or the error that ended it. */
export interface UploadResult {
  status?: number;
  body?: string;
  error?: string;
}

/**
 * POSTs `total` bytes to `url`, streamed in 64 KiB blocks; with `abortAfter`, destroys the
 * connection once that many bytes are written. Settles on the answer, or on the error or abort.
 */
export function upload(
  url: string,
  total: number,
  options: { abortAfter?: number } = {},
): Promise<UploadResult> {
  const block = Buffer.alloc(64 * 1024, 'u');
  return new Promise((resolve) => {
    const req = httpRequest(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-length': total },
    });
    let written = 0;
    const pump = () => {
      while (written < total && !req.destroyed) {
        if (options.abortAfter !== undefined && written >= options.abortAfter) {
          req.destroy();
          return resolve({ error: 'aborted by the client' });
        }
        const chunk = block.subarray(0, Math.min(block.length, total - written));
        written += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!req.destroyed) req.end();
    };
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, error: String(error) }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? 'error' }));
    pump();
  });
}
