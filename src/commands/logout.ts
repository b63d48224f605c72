import { Flags } from '@oclif/core';

import { OutpostCommand } from '../cli/base-command.js';
import { colorsFor } from '../cli/output.js';
import { loadConfig } from '../core/config/load-config.js';
import { logOut, requireOidcSettings, type LogOutOutcome } from '../core/oidc/cli-account.js';
import { SessionStore, sessionsDirFor } from '../core/session/session-store.js';

/** The `--json` answer. */
export interface LogoutResult {
  issuer: string;
  client_id: string;
  /** False when nobody was logged in (nothing to do, not an error). */
  was_logged_in: boolean;
  user: string | null;
  /** `revoked`, `unsupported` (no revocation endpoint), `failed` (offline) or `skipped`. */
  revocation: LogOutOutcome['revocation'];
  problem?: string;
  forgotten: string[];
  sessions_ended?: number;
}

export default class Logout extends OutpostCommand {
  static override summary = 'Revoke and forget the tokens of `outpost login`.';

  static override description = `Revokes the kept tokens at the provider (when it has a revocation endpoint), forgets them in the keychain and in the state directory's credentials.json, and ends that user's proxy sessions.

Works offline: when the provider cannot be reached, the tokens are still forgotten here and the command says the provider could not be told (they stay valid there until they expire).`;

  static override examples = [
    {
      description: 'Log out of the configured provider',
      command: '<%= config.bin %> <%= command.id %>',
    },
    {
      description: 'Log out of another provider, as JSON',
      command:
        '<%= config.bin %> <%= command.id %> --issuer https://auth.example.com/application/o/my-app/ --client-id my-app --json',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    issuer: Flags.string({ summary: "The provider's issuer URL (oidc.issuer)." }),
    'client-id': Flags.string({ summary: 'The client id at the provider (oidc.client_id).' }),
  };

  async run(): Promise<LogoutResult> {
    const { flags } = await this.parse(Logout);
    const stateDir = this.stateDirFrom(flags['state-dir']);
    const config = await loadConfig({
      cwd: process.cwd(),
      env: process.env,
      configPath: flags.config,
      flags: { oidc_issuer: flags.issuer, oidc_client_id: flags['client-id'] },
    });
    const settings = requireOidcSettings(config);

    const outcome = await logOut(settings, {
      stateDir,
      endSessions: (sub) => endProxySessionsOf(sub, stateDir, config.client_id),
    });

    if (!this.jsonEnabled()) this.report(settings.issuer, outcome);
    return {
      issuer: settings.issuer,
      client_id: settings.client_id,
      was_logged_in: outcome.identity !== null,
      user: outcome.identity?.preferred_username ?? null,
      revocation: outcome.revocation,
      ...(outcome.problem ? { problem: outcome.problem } : {}),
      forgotten: outcome.forgotten,
      ...(outcome.sessionsEnded === undefined ? {} : { sessions_ended: outcome.sessionsEnded }),
    };
  }

  private report(issuer: string, outcome: LogOutOutcome): void {
    if (!outcome.identity) {
      this.log(`Nobody is logged in to ${issuer}.`);
      return;
    }
    const warning = colorsFor(process.stderr).yellow('warning:');
    if (outcome.revocation === 'failed') {
      process.stderr.write(
        `${warning} the provider could not be told (${outcome.problem}); the tokens stay valid there until they expire\n`,
      );
    } else if (outcome.revocation === 'unsupported') {
      process.stderr.write(
        `${warning} the provider cannot revoke tokens; they stay valid there until they expire\n`,
      );
    }
    const user = outcome.identity.preferred_username || outcome.identity.sub;
    this.log(`Logged out ${user} from ${issuer}.`);
  }
}

/** Ends every proxy session of `sub` that `serve` keeps in `stateDir` for this provider. */
export async function endProxySessionsOf(
  sub: string,
  stateDir: string,
  clientId: string,
): Promise<number> {
  return SessionStore.endSessionsOf(sessionsDirFor(stateDir, clientId), sub);
}
