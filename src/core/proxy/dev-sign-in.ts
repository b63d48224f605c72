import type { IncomingMessage } from 'node:http';

import { isOutpostError } from '../errors.js';
import { renderSignInPage } from '../pages/sign-in-page.js';
import type { OutpostContext } from './outpost-context.js';
import type { RequestState } from './request-state.js';
import { redirect, sendErrorPage, sendPage } from './responses.js';
import type { SessionCookies } from './session-cookies.js';
import type { SignInAttempt } from './sign-in-attempts.js';

const FORM_LIMIT = 8 * 1024;
export const CALLBACK_PATH = '/outpost.goauthentik.io/callback?X-authentik-auth-callback=true';

/**
 * Signing in with dev users: `start` shows the users, the form posts to `callback` with the
 * state bound to this browser by a cookie, and a fresh session is made for the chosen user.
 */
export class DevSignIn {
  constructor(
    private readonly context: OutpostContext,
    private readonly cookies: SessionCookies,
  ) {}

  start(state: RequestState, rd: string): void {
    const wanted = state.query.get('user');
    // a link on another site must not switch this browser's user (login CSRF): it gets the page
    if (wanted !== null && !isCrossSite(state.req)) {
      this.signIn(state, wanted, rd);
      return;
    }
    const attempt = this.attemptFor(state, rd);
    const page = renderSignInPage({
      applicationName: this.context.config.assigned_application_name,
      externalOrigin: state.external,
      action: `${state.external}${CALLBACK_PATH}`,
      state: attempt.state,
      rd,
      users: this.context.config.users,
      signedInAs: state.session?.identity.preferred_username ?? null,
      configFile: this.context.config.file,
      panelUrl: `${state.external}/outpost.goauthentik.io/`,
    });
    sendPage(state.res, 200, 'Sign in', page, [
      ...state.cookies,
      this.cookies.attempt(state, attempt.state),
    ]);
  }

  /**
   * The sign-in this browser began for the same `rd` (forward auth's redirect begins one), else a
   * new one. Only the browser holding the attempt's cookie can carry it on.
   */
  private attemptFor(state: RequestState, rd: string): SignInAttempt {
    const begun = this.context.attempts.peek(this.cookies.readAttempt(state));
    if (begun?.rd === rd && begun.code_verifier === undefined) return begun;
    return this.context.attempts.begin(rd);
  }

  async callback(state: RequestState): Promise<void> {
    if (state.req.method !== 'POST') {
      this.refuse(state, 'There is no sign-in under way in this browser.');
      return;
    }
    const form = await readForm(state.req);
    const attempt = this.context.attempts.finish(
      form?.get('state') ?? null,
      this.cookies.readAttempt(state),
    );
    if (!form || !attempt) {
      this.refuse(
        state,
        'This sign-in form is no longer valid (it was used, expired, or came from another browser).',
      );
      return;
    }
    this.signIn(state, form.get('user') ?? '', attempt.rd);
  }

  private signIn(state: RequestState, username: string, rd: string): void {
    try {
      const identity = this.context.devIdentity(username, state.external);
      // switching users: the session this browser had ends, rather than lingering unnamed
      if (state.session) this.context.sessions.destroy(state.session);
      const value = this.context.sessions.create(
        identity,
        this.context.config.access_token_validity,
        { dev_fingerprint: this.context.devFingerprint(username) ?? '' },
      );
      state.user = identity.preferred_username;
      redirect(state.res, rd, [
        this.cookies.session(state, value),
        this.cookies.clearAttempt(state),
      ]);
    } catch (error) {
      if (!isOutpostError(error)) throw error;
      const message = error.hint ? `${error.message}: ${error.hint}` : error.message;
      sendErrorPage(
        state.res,
        error.code === 'UNKNOWN_USER' ? 400 : 500,
        'Cannot sign in',
        message,
      );
    }
  }

  private refuse(state: RequestState, why: string): void {
    sendErrorPage(
      state.res,
      400,
      'Sign-in failed',
      `${why} Start again from the page you wanted.`,
      [...state.cookies, this.cookies.clearAttempt(state)],
    );
  }
}

/** Whether the browser says another site started this request (Fetch Metadata). */
function isCrossSite(req: IncomingMessage): boolean {
  return req.headers['sec-fetch-site'] === 'cross-site';
}

/** A small urlencoded form body, or null when it is too large, not a form, or broken. */
function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) return Promise.resolve(null);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > FORM_LIMIT) {
        resolve(null);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', () => resolve(null));
  });
}
