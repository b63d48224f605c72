import { isOutpostError, type OutpostError } from '../errors.js';
import {
  OidcProtocolError,
  buildEndSessionUrl,
  finishSignIn,
  revokeTokens,
  startSignIn,
} from '../oidc/index.js';
import type { Session } from '../session/session-store.js';
import { CALLBACK_PATH } from './dev-sign-in.js';
import type { OutpostContext } from './outpost-context.js';
import type { ProviderLink } from './provider-link.js';
import type { RequestState } from './request-state.js';
import { redirect, sendErrorPage } from './responses.js';
import type { SessionCookies } from './session-cookies.js';

/**
 * Signing in with a real OpenID provider (SPEC section 8): `start` sends the browser to the
 * provider with PKCE, state and nonce, the state bound to this browser by a cookie; `callback`
 * checks it, exchanges the code, and makes a fresh session holding the provider's tokens.
 */
export class OidcSignIn {
  constructor(
    private readonly context: OutpostContext,
    private readonly link: ProviderLink,
    private readonly cookies: SessionCookies,
  ) {}

  async start(state: RequestState, rd: string): Promise<void> {
    try {
      const client = await this.link.client();
      const { url, pending } = await startSignIn(client, {
        redirect_uri: `${state.external}${CALLBACK_PATH}`,
        rd,
      });
      const attempt = this.context.attempts.begin(rd, pending);
      redirect(state.res, url, [...state.cookies, this.cookies.attempt(state, attempt.state)]);
    } catch (error) {
      this.showFailure(state, error, rd);
    }
  }

  async callback(state: RequestState): Promise<void> {
    const attempt = this.context.attempts.finish(
      state.query.get('state'),
      this.cookies.readAttempt(state),
    );
    if (!attempt?.nonce || !attempt.code_verifier || !attempt.redirect_uri) {
      const why =
        'This sign-in is not the one this browser started (it was used, expired, or came from another browser).';
      sendErrorPage(
        state.res,
        400,
        'Sign-in failed',
        `${why} Start again from the page you wanted.`,
        [...state.cookies, this.cookies.clearAttempt(state)],
      );
      return;
    }
    const pending = {
      state: attempt.state,
      nonce: attempt.nonce,
      code_verifier: attempt.code_verifier,
      redirect_uri: attempt.redirect_uri,
    };
    try {
      const client = await this.link.client();
      const result = await finishSignIn(client, `${state.external}${state.rawTarget}`, pending);
      const value = this.context.sessions.create(
        result.identity,
        this.context.config.access_token_validity,
        {
          access_expires_at: result.tokens.expires_at * 1000,
          ...(result.tokens.refresh_token ? { refresh_token: result.tokens.refresh_token } : {}),
          ...(result.tokens.id_token ? { id_token: result.tokens.id_token } : {}),
        },
      );
      state.user = result.identity.preferred_username;
      redirect(state.res, attempt.rd, [
        this.cookies.session(state, value),
        this.cookies.clearAttempt(state),
      ]);
    } catch (error) {
      this.showFailure(state, error, attempt.rd, [this.cookies.clearAttempt(state)]);
    }
  }

  /**
   * Ends every session of this user here, revokes the tokens where the provider allows, and sends
   * the browser to the provider's end-session page, which returns it to the external host.
   */
  async signOut(state: RequestState, session: Session | null): Promise<void> {
    const back = `${state.external}/`;
    if (!session) return redirect(state.res, back, [this.cookies.clearSession(state)]);
    this.context.sessions.destroyBySubject(session.identity.sub);
    this.link.forgetCredentials();
    let endSession: string | null = null;
    try {
      const client = await this.link.client();
      await revokeTokens(client, {
        access_token: session.identity.access_token,
        ...(session.refresh_token ? { refresh_token: session.refresh_token } : {}),
      }).catch((error: unknown) =>
        this.context.options.onWarning?.(`revocation failed: ${String(error)}`),
      );
      endSession = buildEndSessionUrl(client, {
        ...(session.id_token ? { id_token_hint: session.id_token } : {}),
        post_logout_redirect_uri: back,
      });
    } catch (error) {
      this.context.options.onWarning?.(`sign-out could not reach the provider: ${String(error)}`);
    }
    redirect(state.res, endSession ?? back, [this.cookies.clearSession(state)]);
  }

  /** A page that says what went wrong at the provider and offers a fresh start, never a loop. */
  private showFailure(
    state: RequestState,
    error: unknown,
    rd: string,
    cookies: string[] = [],
  ): void {
    if (!isOutpostError(error)) throw error;
    const retry = `Try again: ${state.external}/outpost.goauthentik.io/start?rd=${encodeURIComponent(rd)}`;
    const status = error.code === 'PROVIDER_UNREACHABLE' ? 502 : 400;
    const title =
      error.code === 'PROVIDER_UNREACHABLE'
        ? 'The sign-in provider is not reachable'
        : 'Sign-in failed';
    sendErrorPage(state.res, status, title, `${providerMessage(error)} ${retry}`, cookies);
  }
}

function providerMessage(error: OutpostError): string {
  if (error instanceof OidcProtocolError) {
    const described = error.error_description ? `: ${error.error_description}` : '';
    return `The provider answered ${error.error}${described}.`;
  }
  return `${error.message}${error.hint ? ` (${error.hint})` : ''}.`;
}
