import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { WebSocketServer } from 'ws';

import { fromWireValue } from '../headers/wire.js';
import { escapeHtml, PAGE_HEADERS, renderPage } from '../pages/html.js';

/** What the echo app saw of one request. Header values are decoded from their UTF-8 bytes. */
export interface EchoReport {
  method: string;
  url: string;
  httpVersion: string;
  /** Every header line in arrival order, with the sender's casing. */
  headers: [string, string][];
  body: string;
}

export interface EchoAppHandle {
  url: string;
  close(): Promise<void>;
}

const BODY_LIMIT = 64 * 1024;

/**
 * The built-in app behind `outpost serve` when no upstream is configured: it shows every header
 * it received, as a page for a browser and as JSON for `Accept: application/json`. WebSocket
 * connections are echoed, their first message being the same report.
 */
export async function startEchoApp(
  options: { host?: string; port?: number } = {},
): Promise<EchoAppHandle> {
  const server = createServer((req, res) => void answer(req, res));
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (socket, req) => {
    socket.send(JSON.stringify(reportOf(req, '')));
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('error', () => socket.terminate());
  });
  await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close: () => (closing ??= closeServer(server, sockets)),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req).catch(() => '');
  const report = reportOf(req, body);
  if (wantsHtml(req)) {
    res.writeHead(200, PAGE_HEADERS);
    res.end(renderPage('outpost echo', renderReport(report)));
    return;
  }
  res.writeHead(200, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  res.end(JSON.stringify(report, null, 2));
}

export function reportOf(req: IncomingMessage, body: string): EchoReport {
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.push([req.rawHeaders[i]!, fromWireValue(req.rawHeaders[i + 1]!)]);
  }
  return {
    method: req.method ?? '',
    url: req.url ?? '',
    httpVersion: req.httpVersion,
    headers,
    body,
  };
}

function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('text/html') && !accept.includes('application/json');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function renderReport(report: EchoReport): string {
  const rows = report.headers
    .map(([name, value]) => {
      const mark = /^x-authentik-/i.test(name) ? ' style="font-weight:600"' : '';
      return `<tr${mark}><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`;
    })
    .join('\n');
  return `<h1>outpost echo</h1>
<p class="lead">This is the built-in app: it shows what your app would receive.
<code>${escapeHtml(report.method)} ${escapeHtml(report.url)}</code></p>
<table><thead><tr><th>Header</th><th>Value</th></tr></thead><tbody>
${rows}
</tbody></table>
<p><a href="/outpost.goauthentik.io/sign_out">Sign out</a></p>`;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server, sockets: WebSocketServer): Promise<void> {
  for (const client of sockets.clients) client.terminate();
  sockets.close();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
