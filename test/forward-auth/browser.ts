import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';

import { CookieJar, type Response } from '../helpers/http-client.js';

export interface Visit {
  /** The last answer, after following every redirect. */
  response: Response;
  /** The URL that answered last. */
  url: string;
  /** Every URL requested, in order, with its status. */
  chain: { url: string; status: number }[];
}

/**
 * A browser over plain HTTP for host names that DNS does not know (`app1.outpost.localhost`):
 * every connection goes to 127.0.0.1 with the URL's host in the Host header. It keeps cookies
 * per host like a browser (domain cookies shared, ports ignored) and follows redirects itself.
 */
export class Browser {
  readonly jar = new CookieJar();

  /** One request, no redirect followed. */
  send(
    url: string,
    options: { method?: string; headers?: OutgoingHttpHeaders; body?: string } = {},
  ): Promise<Response> {
    const target = new URL(url);
    const headers: OutgoingHttpHeaders = { host: target.host, ...options.headers };
    const cookie = this.jar.headerFor(target);
    if (cookie) headers.cookie = cookie;
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: Number(target.port || 80),
          path: `${target.pathname}${target.search}`,
          method: options.method ?? 'GET',
          headers,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            this.jar.store(target, res.headers['set-cookie']);
            const body = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  }

  /** Requests `url` and follows redirects (a 302/303 after a POST becomes a GET). */
  async visit(
    url: string,
    options: { method?: string; headers?: OutgoingHttpHeaders; body?: string } = {},
  ): Promise<Visit> {
    const chain: Visit['chain'] = [];
    let current = url;
    let next = options;
    for (let hops = 0; hops < 10; hops += 1) {
      const response = await this.send(current, next);
      chain.push({ url: current, status: response.status });
      const location = response.headers.location;
      if (response.status < 300 || response.status >= 400 || !location) {
        return { response, url: current, chain };
      }
      current = new URL(location, current).href;
      next = { headers: options.method === 'POST' ? {} : (options.headers ?? {}) };
    }
    throw new Error(`too many redirects: ${chain.map((step) => step.url).join(' -> ')}`);
  }

  /** Picks `username` on the dev sign-in page that `page` shows, and follows where it leads. */
  async signIn(page: Visit, username: string): Promise<Visit> {
    const state = /name="state" value="([^"]+)"/.exec(page.response.body)?.[1];
    const action = /<form method="post" action="([^"]+)"/.exec(page.response.body)?.[1];
    if (!state || !action) {
      throw new Error(`not a sign-in page (${page.url}): ${page.response.body.slice(0, 300)}`);
    }
    return this.visit(new URL(action.replaceAll('&amp;', '&'), page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ state, user: username }).toString(),
    });
  }
}
