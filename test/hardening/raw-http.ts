import { connect } from 'node:net';

/** What came back on a raw connection: every response head in order, and the bytes as latin1. */
export interface RawExchange {
  /** Status codes of the responses read, in order. */
  statuses: number[];
  /** The whole answer as received, one character per byte. */
  text: string;
  /** Whether the server closed the connection (rather than the client timing out). */
  closedByServer: boolean;
}

/**
 * Writes `bytes` exactly as given on a fresh connection and reads until the server closes it or
 * `waitMs` pass without a close. A client library would fix or refuse the malformed framings
 * that these tests need to send.
 */
export function exchangeRaw(
  baseUrl: string,
  bytes: string | Buffer,
  waitMs = 2000,
): Promise<RawExchange> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let closedByServer = true;
    const timer = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // a server that refuses a request may reset the connection before the client has written it
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ statuses: statusesOf(text), text, closedByServer });
    });
    socket.write(bytes);
  });
}

/** The status code of every response head in `text`. */
export function statusesOf(text: string): number[] {
  return [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((match) => Number(match[1]));
}

/** A GET with the target exactly as written, closing the connection after the answer. */
export function rawGet(target: string, host = 'localhost'): string {
  return `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
}
