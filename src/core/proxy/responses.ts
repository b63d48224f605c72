import type { ServerResponse } from 'node:http';

import { escapeHtml, PAGE_HEADERS, renderPage } from '../pages/html.js';

/** Sends one of outpost's own pages; `body` is HTML whose values are already escaped. */
export function sendPage(
  res: ServerResponse,
  status: number,
  title: string,
  body: string,
  cookies: string[] = [],
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const html = renderPage(title, body);
  const headers: Record<string, string | string[]> = {
    ...PAGE_HEADERS,
    'Content-Length': String(Buffer.byteLength(html)),
  };
  if (cookies.length > 0) headers['Set-Cookie'] = cookies;
  res.writeHead(status, headers);
  res.end(html);
}

/** A short error page: what happened and what to do, every value escaped. */
export function sendErrorPage(
  res: ServerResponse,
  status: number,
  title: string,
  explanation: string,
  cookies: string[] = [],
): void {
  const body = `<div class="error"><h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(explanation)}</p></div>
<p class="lead">outpost · ${status}</p>`;
  sendPage(res, status, title, body, cookies);
}

export function redirect(res: ServerResponse, location: string, cookies: string[] = []): void {
  const headers: Record<string, string | string[]> = {
    Location: location,
    'Cache-Control': 'no-store',
    'Content-Length': '0',
  };
  if (cookies.length > 0) headers['Set-Cookie'] = cookies;
  res.writeHead(302, headers);
  res.end();
}

export function sendEmpty(res: ServerResponse, status: number, cookies: string[] = []): void {
  const headers: Record<string, string | string[]> = { 'Content-Length': '0' };
  if (status === 204) delete headers['Content-Length'];
  if (cookies.length > 0) headers['Set-Cookie'] = cookies;
  res.writeHead(status, headers);
  res.end();
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  cookies: string[] = [],
) {
  const headers: Record<string, string | string[]> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'X-Content-Type-Options': 'nosniff',
  };
  if (cookies.length > 0) headers['Set-Cookie'] = cookies;
  res.writeHead(status, headers);
  res.end(text);
}
