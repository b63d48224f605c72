import { readCookie, serializeCookie } from '../session/cookies.js';
import type { OutpostContext } from './outpost-context.js';
import type { RequestState } from './request-state.js';

/** Set-Cookie values for the session cookie and the sign-in-under-way cookie. */
export class SessionCookies {
  constructor(private readonly context: OutpostContext) {}

  get attemptName(): string {
    return `${this.context.cookieName}_signin`;
  }

  read(state: RequestState): string | undefined {
    return readCookie(state.req.headers.cookie, this.context.cookieName);
  }

  readAttempt(state: RequestState): string | undefined {
    return readCookie(state.req.headers.cookie, this.attemptName);
  }

  session(state: RequestState, value: string): string {
    return serializeCookie(this.context.cookieName, value, {
      ...this.attributes(state),
      maxAge: this.context.config.access_token_validity,
    });
  }

  clearSession(state: RequestState): string {
    return serializeCookie(this.context.cookieName, '', { ...this.attributes(state), maxAge: 0 });
  }

  attempt(state: RequestState, value: string): string {
    return serializeCookie(this.attemptName, value, { ...this.attributes(state), maxAge: 600 });
  }

  clearAttempt(state: RequestState): string {
    return serializeCookie(this.attemptName, '', { ...this.attributes(state), maxAge: 0 });
  }

  private attributes(state: RequestState) {
    const domain = this.context.config.cookie_domain;
    return {
      secure: this.context.cookieIsSecure(state.external),
      ...(domain ? { domain } : {}),
    };
  }
}
