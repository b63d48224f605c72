import type { OutpostContext } from './outpost-context.js';
import { safeRedirectTarget } from './redirects.js';
import type { RequestState } from './request-state.js';
import { redirect, sendEmpty, sendErrorPage } from './responses.js';
import type { DevSignIn } from './dev-sign-in.js';
import type { SessionCookies } from './session-cookies.js';

export const ENDPOINT_PREFIX = '/outpost.goauthentik.io/';

/**
 * The `/outpost.goauthentik.io/*` endpoints (SPEC section 6), on every host, and the
 * `X-authentik-auth-callback` / `X-authentik-logout` query markers on any path.
 */
export class Endpoints {
  constructor(
    private readonly context: OutpostContext,
    private readonly cookies: SessionCookies,
    private readonly devSignIn: DevSignIn,
  ) {}

  /** Whether this request is for an endpoint rather than the app. */
  claims(state: RequestState): boolean {
    return (
      state.path.startsWith(ENDPOINT_PREFIX) ||
      state.query.get('X-authentik-auth-callback') === 'true' ||
      state.query.get('X-authentik-logout') === 'true'
    );
  }

  async handle(state: RequestState): Promise<void> {
    if (state.query.get('X-authentik-logout') === 'true') return this.signOut(state);
    if (state.query.get('X-authentik-auth-callback') === 'true')
      return this.devSignIn.callback(state);
    switch (state.path.slice(ENDPOINT_PREFIX.length)) {
      case 'ping':
        return sendEmpty(state.res, 204);
      case 'start':
        return this.start(state);
      case 'callback':
        return this.devSignIn.callback(state);
      case 'sign_out':
        return this.signOut(state);
      default:
        sendErrorPage(state.res, 404, 'Not found', `outpost has no endpoint ${state.path}.`);
    }
  }

  private start(state: RequestState): void {
    const rd =
      safeRedirectTarget(
        state.query.get('rd'),
        state.external,
        this.context.config.cookie_domain,
      ) ?? `${state.external}/`;
    if (this.context.options.presetUser !== undefined) return redirect(state.res, rd);
    this.devSignIn.start(state, rd);
  }

  /** Ends every session of this user (same uid), then back to sign-in. */
  private signOut(state: RequestState): void {
    if (state.session) {
      this.context.sessions.destroyBySubject(state.session.identity.sub);
      state.user = state.session.identity.preferred_username;
    }
    const back = `${state.external}${ENDPOINT_PREFIX}start?rd=${encodeURIComponent(`${state.external}/`)}`;
    redirect(state.res, back, [this.cookies.clearSession(state)]);
  }
}
