import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { OutpostError, systemErrorCode } from '../errors.js';
import type { OidcClient } from './oidc-client.js';
import { finishSignIn, startSignIn, type PendingSignIn } from './sign-in.js';
import type { SignInResult } from './token-response.js';

export { signInWithDeviceCode, type DeviceCodePrompt } from './device-flow.js';

const CALLBACK_PATH = '/callback';

export interface BrowserLoginOptions {
  /** Called with the URL to open once the listener is ready: print it, open a browser. */
  onUrl: (url: string) => void | Promise<void>;
  /** How long to wait for the browser to come back, in milliseconds. Default five minutes. */
  timeoutMs?: number;
  /**
   * Loopback port; 0 (the default) takes a free one, which RFC 8252 §7.3 lets providers accept
   * for any port. Fix it when the provider only knows one exact redirect URI.
   */
  port?: number;
  /** Stops waiting early (the user pressed Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Signs the CLI user in through their browser (RFC 8252, OAuth 2.0 for Native Apps): listens on
 * `http://127.0.0.1:<port>/callback`, sends the authorization code request with PKCE, state and
 * nonce, and finishes the sign-in when the browser comes back. Requests that do not carry this
 * sign-in's state are answered 400 and ignored, so a stray request cannot end the wait.
 *
 * @throws OutpostError LOGIN_TIMEOUT when the browser does not come back in time, LOGIN_FAILED
 *   when the loopback port cannot be opened, and whatever {@link finishSignIn} throws.
 */
export async function loginWithBrowser(
  client: OidcClient,
  options: BrowserLoginOptions,
): Promise<SignInResult> {
  const server = await listenOnLoopback(options.port ?? 0);
  try {
    const port = (server.address() as AddressInfo).port;
    const { url, pending } = await startSignIn(client, {
      redirect_uri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    });
    const result = waitForCallback(server, client, pending);
    await options.onUrl(url);
    return await withDeadline(result, options.timeoutMs ?? 300_000, options.signal);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function listenOnLoopback(port: number): Promise<Server> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  } catch (cause) {
    throw new OutpostError('LOGIN_FAILED', `cannot listen on 127.0.0.1:${port} for the sign-in`, {
      hint:
        systemErrorCode(cause) === 'EADDRINUSE' ? 'the port is in use; pick another' : undefined,
      cause,
    });
  }
  return server;
}

/** Settles with the first callback that carries `pending.state`. */
function waitForCallback(
  server: Server,
  client: OidcClient,
  pending: PendingSignIn,
): Promise<SignInResult> {
  return new Promise((resolve, reject) => {
    let finished = false;
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const url = new URL(request.url ?? '/', pending.redirect_uri);
      if (url.pathname !== CALLBACK_PATH) return answer(response, 404, 'Not found.');
      if (url.searchParams.get('state') !== pending.state) {
        return answer(response, 400, 'This is not the sign-in outpost is waiting for.');
      }
      if (finished) return answer(response, 409, 'This sign-in has already finished.');

      finished = true;
      finishSignIn(client, url, pending).then(
        (result) => {
          answer(response, 200, 'Signed in. You can close this tab and go back to the terminal.');
          resolve(result);
        },
        (error: unknown) => {
          const reason = error instanceof Error ? error.message : String(error);
          answer(response, 400, `Sign-in failed: ${reason}`);
          reject(error);
        },
      );
    });
  });
}

function withDeadline<T>(work: Promise<T>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const minutes = Math.max(1, Math.round(timeoutMs / 60_000));
    const stop = (message: string) =>
      reject(
        new OutpostError('LOGIN_TIMEOUT', message, {
          hint: 'run the login again and finish it in the browser, or use --device on a machine without one',
        }),
      );
    const timer = setTimeout(
      () => stop(`the browser did not come back within ${minutes} minute(s)`),
      timeoutMs,
    );
    const onAbort = () => stop('stopped waiting for the browser');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  });
}

function answer(response: ServerResponse, status: number, message: string): void {
  const body =
    '<!doctype html><meta charset="utf-8"><title>outpost login</title>' +
    `<p style="font-family: sans-serif">${escapeHtml(message)}</p>\n`;
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'close',
  });
  response.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
