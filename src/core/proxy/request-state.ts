import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Session } from '../session/session-store.js';
import type { RequestOrigin } from './request-origin.js';

/** What handling one request has learnt so far; the access log is written from it. */
export interface RequestState {
  req: IncomingMessage;
  res: ServerResponse;
  origin: RequestOrigin;
  /** The external host's origin for this request. */
  external: string;
  /** Path and query as received. */
  rawTarget: string;
  /** Path and query split once. */
  path: string;
  query: URLSearchParams;
  session: Session | null;
  /** Set-Cookie values to send with whatever answer this request gets. */
  cookies: string[];
  /** For the access log. */
  user: string;
  rule?: string;
  error?: string;
}

export type Handler = (state: RequestState) => void | Promise<void>;

export function splitTarget(rawTarget: string): { path: string; query: URLSearchParams } {
  const at = rawTarget.indexOf('?');
  if (at < 0) return { path: rawTarget, query: new URLSearchParams() };
  return { path: rawTarget.slice(0, at), query: new URLSearchParams(rawTarget.slice(at + 1)) };
}
