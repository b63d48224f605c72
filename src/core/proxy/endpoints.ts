import type { OutpostContext } from './outpost-context.js';
import { safeRedirectTarget } from './redirects.js';
import type { RequestState } from './request-state.js';
import { redirect, sendEmpty, sendErrorPage } from './responses.js';
import type { DevSignIn } from './dev-sign-in.js';
import { DEV_PANEL_ENDPOINTS, DevPanel } from './dev-panel.js';
import { OidcSignIn } from './oidc-sign-in.js';
import type { SessionCookies } from './session-cookies.js';

export const ENDPOINT_PREFIX = '/outpost.goauthentik.io/';

/**
 * The `/outpost.goauthentik.io/*` endpoints (SPEC section 6), on every host, and the
 * `X-authentik-auth-callback` / `X-authentik-logout` query markers on any path.
 */
export class Endpoints {
  private readonly devPanel: DevPanel;
  /** Sign-in at the real provider when the config has one; dev users otherwise. */
  private readonly oidcSignIn: OidcSignIn | null;

  constructor(
    private readonly context: OutpostContext,
    private readonly cookies: SessionCookies,
    private readonly devSignIn: DevSignIn,
  ) {
    this.devPanel = new DevPanel(context);
    this.oidcSignIn = context.provider ? new OidcSignIn(context, context.provider, cookies) : null;
  }

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
    if (state.query.get('X-authentik-auth-callback') === 'true') return this.callback(state);
    switch (state.path.slice(ENDPOINT_PREFIX.length)) {
      case 'ping':
        return sendEmpty(state.res, 204);
      case 'start':
        return this.start(state);
      case 'callback':
        return this.callback(state);
      case 'sign_out':
        return this.signOut(state);
      case DEV_PANEL_ENDPOINTS.page:
      case DEV_PANEL_ENDPOINTS.testPath:
      case DEV_PANEL_ENDPOINTS.script:
        return this.devPanel.handle(state);
      default:
        sendErrorPage(state.res, 404, 'Not found', `outpost has no endpoint ${state.path}.`);
    }
  }

  private start(state: RequestState): void | Promise<void> {
    const rd =
      safeRedirectTarget(
        state.query.get('rd'),
        state.external,
        this.context.config.cookie_domain,
      ) ?? `${state.external}/`;
    const { presetUser, presetIdentity } = this.context.options;
    if (presetUser !== undefined || presetIdentity) return redirect(state.res, rd);
    if (this.oidcSignIn) return this.oidcSignIn.start(state, rd);
    this.devSignIn.start(state, rd);
  }

  private callback(state: RequestState): Promise<void> {
    return this.oidcSignIn ? this.oidcSignIn.callback(state) : this.devSignIn.callback(state);
  }

  /** Ends every session of this user (same uid), then back to sign-in (or the provider's end). */
  private signOut(state: RequestState): void | Promise<void> {
    if (state.session) state.user = state.session.identity.preferred_username;
    if (this.oidcSignIn && state.session?.identity.source === 'oidc') {
      return this.oidcSignIn.signOut(state, state.session);
    }
    if (state.session) {
      this.context.sessions.destroyBySubject(state.session.identity.sub);
    }
    const back = `${state.external}${ENDPOINT_PREFIX}start?rd=${encodeURIComponent(`${state.external}/`)}`;
    redirect(state.res, back, [this.cookies.clearSession(state)]);
  }
}
