// http-proxy-3 alone with a keep-alive agent and no auth: the engine outpost is built on.
import { Agent, createServer } from 'node:http';

import { createProxyServer } from 'http-proxy-3';

const target = process.argv[2];
const agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256 });
const proxy = createProxyServer({ target, agent });
proxy.on('error', (_error, _req, res) => {
  if (res && 'writeHead' in res && !res.headersSent) res.writeHead(502).end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`ready ${server.address().port}`));
