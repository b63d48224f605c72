import type { OutpostConfig } from '../config/config.js';
import type { HeaderContext } from '../headers/identity-headers.js';
import { devUserIdentity, findDevUser } from '../identity/dev-users.js';
import type { Identity } from '../identity/identity.js';
import { persistentSecret } from '../state/persistent-secret.js';

/**
 * What the outpost knows about identities without serving anything: the client secret and
 * install id from the state directory, the header context of SPEC section 4 and dev users'
 * identities. `serve` (through OutpostContext) and `outpost headers` both use it, so that a
 * dry run names the same uid, issuer and meta headers as the proxy.
 */
export class IdentitySource {
  readonly clientSecret: string;
  readonly installId: string;
  private readonly headerContexts = new Map<string, HeaderContext>();

  constructor(
    readonly config: OutpostConfig,
    stateDir: string,
    /** outpost's version, for `X-Authentik-Meta-Version`. */
    private readonly version: string,
  ) {
    this.clientSecret = config.client_secret ?? persistentSecret(stateDir, 'client-secret');
    this.installId = config.install_id ?? persistentSecret(stateDir, 'install-id', 16);
  }

  /** The origin users reach: `external_host`, or the request's own when none is configured. */
  externalOrigin(requestOrigin: string): string {
    return this.config.external_host ? new URL(this.config.external_host).origin : requestOrigin;
  }

  /** The issuer a dev user's token names: where authentik would serve this provider. */
  issuerFor(externalOrigin: string): string {
    return `${externalOrigin}/application/o/${this.config.assigned_application_slug}/`;
  }

  headerContext(externalOrigin: string): HeaderContext {
    let context = this.headerContexts.get(externalOrigin);
    if (!context) {
      context = {
        providerName: this.config.name,
        applicationSlug: this.config.assigned_application_slug,
        outpostName: this.config.outpost_name,
        version: `goauthentik.io/outpost/${this.version}`,
        jwksUrl: `${this.issuerFor(externalOrigin)}jwks/`,
        basicAuth: {
          enabled: this.config.basic_auth_enabled,
          userAttribute: this.config.basic_auth_user_attribute,
          passwordAttribute: this.config.basic_auth_password_attribute,
        },
      };
      this.headerContexts.set(externalOrigin, context);
    }
    return context;
  }

  /** A dev user's identity as of signing in now. Throws UNKNOWN_USER for a name not configured. */
  devIdentity(username: string, externalOrigin: string): Identity {
    const user = findDevUser(this.config.users, username);
    return devUserIdentity(user, this.config.groups, {
      issuer: this.issuerFor(externalOrigin),
      clientId: this.config.client_id,
      clientSecret: this.clientSecret,
      installId: this.installId,
      validity: this.config.access_token_validity,
    });
  }
}
