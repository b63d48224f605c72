import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { WebSocketServer } from 'ws';

/** One request as the app received it: header lines with their casing, values decoded as UTF-8. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
}

export interface RecordingUpstream {
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** The last request's value of a header (case-insensitive), or undefined. */
  last(): ReceivedRequest;
  close(): Promise<void>;
}

/**
 * A real HTTP app for tests that records what it received and answers with it as JSON.
 * `/sse` streams three events 100 ms apart; `/slow?ms=N` waits before answering; WebSocket
 * connections get the handshake's headers as first message, then an echo of each message.
 */
export async function startRecordingUpstream(port = 0): Promise<RecordingUpstream> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record = recordOf(req, Buffer.concat(chunks).toString('utf8'));
      received.push(record);
      if (req.url?.startsWith('/sse')) return streamEvents(res);
      const wait = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
      setTimeout(
        () => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(record));
        },
        req.url?.startsWith('/slow') ? wait : 0,
      );
    });
  });
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (socket, req) => {
    socket.send(JSON.stringify(recordOf(req, '')));
    socket.on('message', (data) => socket.send(`echo:${String(data)}`));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    received,
    last: () => {
      const record = received.at(-1);
      if (!record) throw new Error('the upstream has received nothing');
      return record;
    },
    close: () => closeAll(server, sockets),
  };
}

function recordOf(req: IncomingMessage, body: string): ReceivedRequest {
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.push([
      req.rawHeaders[i]!,
      Buffer.from(req.rawHeaders[i + 1]!, 'latin1').toString('utf8'),
    ]);
  }
  return { method: req.method ?? '', url: req.url ?? '', headers, body };
}

function streamEvents(res: import('node:http').ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  let sent = 0;
  const timer = setInterval(() => {
    sent += 1;
    res.write(`data: event ${sent}\n\n`);
    if (sent === 3) {
      clearInterval(timer);
      setTimeout(() => res.end(), 300);
    }
  }, 100);
  res.on('close', () => clearInterval(timer));
}

/** All values of a header in a received request, matched case-insensitively. */
export function headerValues(request: ReceivedRequest, name: string): string[] {
  const lower = name.toLowerCase();
  return request.headers.filter(([key]) => key.toLowerCase() === lower).map(([, value]) => value);
}

/** The identity and forwarding headers exactly as sent: names with their casing. */
export function authentikHeaders(request: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(request.headers.filter(([name]) => /^x-authentik-/i.test(name)));
}

function closeAll(server: Server, sockets: WebSocketServer): Promise<void> {
  for (const client of sockets.clients) client.terminate();
  sockets.close();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
