import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

import type { TestOutpost } from '../helpers/outpost.js';

/** outpost's answer to one auth request, with the header lines as they came on the wire. */
export interface AuthAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header lines with their casing; values as the latin1 text Node gives (UTF-8 bytes). */
  rawHeaders: [string, string][];
  body: string;
}

/**
 * Sends outpost one request the way a reverse proxy does: exactly the given headers (Host
 * included), optionally from another loopback source address (`127.0.0.2`).
 */
export function ask(
  outpost: TestOutpost,
  path: string,
  options: {
    method?: string;
    headers?: OutgoingHttpHeaders;
    body?: string;
    localAddress?: string;
  } = {},
): Promise<AuthAnswer> {
  const target = new URL(outpost.httpUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: Number(target.port),
        path,
        method: options.method ?? 'GET',
        headers: { host: target.host, ...options.headers },
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: pairs(res.rawHeaders),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function pairs(raw: string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) result.push([raw[i]!, raw[i + 1]!]);
  return result;
}

/** The identity headers of an answer, by their wire name. */
export function identityOf(answer: AuthAnswer): Record<string, string> {
  return Object.fromEntries(answer.rawHeaders.filter(([name]) => /^x-authentik-/i.test(name)));
}

/** Signs `username` in through outpost's own start endpoint and returns the Cookie header. */
export async function sessionCookie(
  outpost: TestOutpost,
  host: string,
  username: string,
): Promise<string> {
  const answer = await ask(outpost, `/outpost.goauthentik.io/start?user=${username}`, {
    headers: { host },
  });
  const cookie = answer.headers['set-cookie']?.[0]?.split(';')[0];
  if (answer.status !== 302 || !cookie) {
    throw new Error(`sign-in as ${username} failed: ${answer.status} ${answer.body}`);
  }
  return cookie;
}
