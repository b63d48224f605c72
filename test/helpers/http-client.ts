import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string;
  /** Extra CA certificate for https (the generated one), trusted for this request only. */
  ca?: string;
  jar?: CookieJar;
}

/**
 * One HTTP(S) request with node's own client, so that tests control every header (casing,
 * underscores) and no redirect is followed behind their back.
 */
export function request(url: string, options: RequestOptions = {}): Promise<Response> {
  const target = new URL(url);
  const headers: OutgoingHttpHeaders = { ...options.headers };
  const cookie = options.jar?.headerFor(target);
  if (cookie) headers.cookie = cookie;
  if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? 'GET',
        headers,
        ...(options.ca ? { ca: options.ca } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          options.jar?.store(target, res.headers['set-cookie']);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A minimal cookie jar: name=value per host, honouring Max-Age=0 deletions and Secure. */
export class CookieJar {
  private readonly cookies = new Map<string, Map<string, { value: string; secure: boolean }>>();

  store(url: URL, setCookies: string[] | undefined): void {
    for (const line of setCookies ?? []) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      const domainAttribute = attributes.find((a) => /^domain=/i.test(a));
      const host = domainAttribute
        ? `.${domainAttribute.slice(7).replace(/^\./, '')}`
        : url.hostname;
      const bucket = this.cookies.get(host) ?? new Map();
      const deleted = attributes.some((a) => /^max-age=0$/i.test(a));
      if (deleted) bucket.delete(name);
      else bucket.set(name, { value, secure: attributes.some((a) => /^secure$/i.test(a)) });
      this.cookies.set(host, bucket);
    }
  }

  headerFor(url: URL): string | undefined {
    const pairs: string[] = [];
    for (const [host, bucket] of this.cookies) {
      const matches = host.startsWith('.')
        ? url.hostname === host.slice(1) || url.hostname.endsWith(host)
        : url.hostname === host;
      if (!matches) continue;
      for (const [name, cookie] of bucket) {
        if (!cookie.secure || url.protocol === 'https:') pairs.push(`${name}=${cookie.value}`);
      }
    }
    return pairs.length > 0 ? pairs.join('; ') : undefined;
  }

  get(name: string): string | undefined {
    for (const bucket of this.cookies.values()) {
      const cookie = bucket.get(name);
      if (cookie) return cookie.value;
    }
    return undefined;
  }

  set(host: string, name: string, value: string): void {
    const bucket = this.cookies.get(host) ?? new Map();
    bucket.set(name, { value, secure: false });
    this.cookies.set(host, bucket);
  }
}
