// The app behind the proxy in `npm run soak` (bench/soak.js), in its own process so that it does
// not share an event loop with the load it answers. Every answer checks the identity the proxy
// sent: `/public/` must arrive without one, everything else as akadmin; a mix-up answers 409,
// which the soak counts as a failure.
import { createServer } from 'node:http';

import { WebSocketServer } from 'ws';

const SIGNED_IN_USER = 'akadmin';
const body = Buffer.from('{"ok":true}');

function hasExpectedIdentity(req) {
  const user = req.headers['x-authentik-username'];
  return req.url.startsWith('/public/') ? user === undefined : user === SIGNED_IN_USER;
}

function answer(req, res) {
  req.resume();
  req.on('end', () => {
    if (!hasExpectedIdentity(req)) return void res.writeHead(409).end('identity mismatch');
    if (req.url.startsWith('/app/events')) return void streamEvents(req, res);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  });
}

/** SSE: `events` numbered events `gap_ms` apart, then a `done` event, then the end. */
function streamEvents(req, res) {
  const query = new URL(req.url, 'http://app').searchParams;
  const events = Number(query.get('events') ?? 5);
  const gapMs = Number(query.get('gap_ms') ?? 400);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  let sent = 0;
  const timer = setInterval(() => {
    sent += 1;
    res.write(`id: ${sent}\ndata: ${sent}\n\n`);
    if (sent < events) return;
    clearInterval(timer);
    res.end('event: done\ndata: end\n\n');
  }, gapMs);
  res.on('close', () => clearInterval(timer));
}

/** WebSocket echo on /app/ws: every message comes back as it was sent, text or binary. */
function acceptWebSocket(wss, req, socket, head) {
  socket.on('error', () => socket.destroy());
  if (!req.url.startsWith('/app/ws') || !hasExpectedIdentity(req)) {
    socket.end('HTTP/1.1 409 Conflict\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const server = createServer(answer);
server.on('upgrade', (req, socket, head) => acceptWebSocket(wss, req, socket, head));
server.on('clientError', (_error, socket) => socket.destroy());
server.listen(0, '127.0.0.1', () => console.log(`ready ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
