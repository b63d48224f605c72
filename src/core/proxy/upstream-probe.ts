import { connect } from 'node:net';

/**
 * Whether the app accepts connections now: null when it does, otherwise why not. Used once at
 * start, to warn early; requests still go through and get a 502 page until the app is up.
 */
export function probeUpstream(url: URL, timeoutMs = 1000): Promise<string | null> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string | null) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}
