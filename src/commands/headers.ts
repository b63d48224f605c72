import { Flags, type Interfaces } from '@oclif/core';

import { OutpostCommand } from '../cli/base-command.js';
import { colorsFor } from '../cli/output.js';
import { MODES } from '../core/config/config.js';
import { loadConfig } from '../core/config/load-config.js';
import { OutpostError } from '../core/errors.js';
import {
  HEADER_FORMATS,
  formatHeaders,
  type HeaderFormat,
} from '../core/headers/header-formats.js';
import { buildHeaderReport, type UserHeaders } from '../core/headers/header-report.js';
import { loadLoggedInIdentity } from '../core/headers/logged-in-identity.js';

/** The `--json` answer: one user's headers, or `{users: [...]}` with `--all-users`. */
export type HeadersResult = UserHeaders | { users: UserHeaders[] };

type HeadersFlags = Interfaces.InferredFlags<
  typeof Headers.flags & typeof OutpostCommand.baseFlags
>;

export default class Headers extends OutpostCommand {
  static override summary = 'Print the exact headers a user would get, without any traffic.';

  static override description = `Builds the headers with the same function as \`outpost serve\`: the X-authentik-* identity headers, Authorization with basic_auth_enabled, each additionalHeaders entry, and in proxy mode X-Forwarded-Host. Names are in the casing the app receives, values as the app decodes them. serve also sets X-Forwarded-For and X-Forwarded-Proto from each connection; they are not shown. X-Authentik-Jwt is freshly signed, so its iat, exp and jti differ from one run to the next.

Without --user (or $OUTPOST_USER, as serve reads it): the identity \`outpost login\` keeps for the config's oidc provider, else the first dev user (akadmin without a config). Use the same --state-dir as serve so that uids and tokens match.

The external host is external_host, else what a browser on the HTTPS port uses (https://localhost:9443); --host sets the Host the browser sends, which becomes X-Forwarded-Host (and the external host when none is configured).

A real provider's token (and Basic credentials) are shortened unless --show-secrets. --all-users shows one table, headers down and users across, with long values cut.`;

  static override examples = [
    { description: 'The default user', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'A dev user from outpost.yaml, as JSON',
      command: '<%= config.bin %> <%= command.id %> --user alice --json',
    },
    {
      description: 'Call the app directly as alice, as the proxy would',
      command:
        'eval "curl $(<%= config.bin %> <%= command.id %> --user alice --format curl) http://localhost:3000/"',
    },
    {
      description: 'Export the CGI/WSGI variables (HTTP_X_AUTHENTIK_USERNAME, ...) into a shell',
      command: 'set -a; eval "$(<%= config.bin %> <%= command.id %> --format env)"; set +a',
    },
    {
      description: 'Every dev user side by side',
      command: '<%= config.bin %> <%= command.id %> --all-users',
    },
    {
      description: 'What a forward-auth response carries for an app host',
      command: '<%= config.bin %> <%= command.id %> --mode forward_single --host app.localhost',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    user: Flags.string({ summary: 'The dev user to show.', exclusive: ['all-users'] }),
    'all-users': Flags.boolean({ summary: 'Every dev user in one table (or JSON list).' }),
    format: Flags.string({
      summary: 'table, json, http (header lines), env (shell variables) or curl (-H arguments).',
      options: [...HEADER_FORMATS],
    }),
    mode: Flags.string({
      summary: 'proxy adds X-Forwarded-Host; forward modes do not (default: the config).',
      options: [...MODES],
    }),
    host: Flags.string({
      summary: 'The Host a browser sends, e.g. app.localhost:9443 (X-Forwarded-Host).',
    }),
    'show-secrets': Flags.boolean({
      summary: "Print a real provider's token and Basic credentials in full.",
    }),
  };

  async run(): Promise<HeadersResult> {
    const { flags } = await this.parse(Headers);
    const format = this.formatOf(flags.format as HeaderFormat | undefined);
    const report = await this.buildReport(flags);

    // stderr even with --json, which oclif's logToStderr would silence
    const err = colorsFor(process.stderr);
    for (const problem of report.problems) {
      process.stderr.write(`${err.yellow('warning:')} ${problem}\n`);
    }
    for (const note of report.notes) process.stderr.write(`${err.dim('note:')} ${note}\n`);

    const result = flags['all-users'] ? { users: report.users } : report.users[0]!;
    if (format === 'json') {
      // --json is printed by oclif from the return value; --format json the same way here
      if (!this.jsonEnabled()) this.logJson(result);
    } else {
      const out = colorsFor(process.stdout);
      process.stdout.write(formatHeaders(report.users, format, { name: out.cyan, dim: out.dim }));
    }
    return result;
  }

  private formatOf(flag: HeaderFormat | undefined): HeaderFormat {
    if (!this.jsonEnabled()) return flag ?? 'table';
    if (flag !== undefined && flag !== 'json') {
      throw new OutpostError('USAGE', `--json and --format ${flag} do not go together`, {
        hint: 'give only one of them',
      });
    }
    return 'json';
  }

  private async buildReport(flags: HeadersFlags) {
    const stateDir = this.stateDirFrom(flags['state-dir']);
    const config = await loadConfig({
      cwd: process.cwd(),
      env: process.env,
      configPath: flags.config,
      flags: { mode: flags.mode },
    });
    const user = flags['all-users'] ? undefined : (flags.user ?? process.env.OUTPOST_USER);
    const { oidc } = config;
    return buildHeaderReport({
      config,
      stateDir,
      version: this.config.version,
      ...(user === undefined ? {} : { user }),
      allUsers: flags['all-users'],
      ...(flags.host === undefined ? {} : { host: flags.host }),
      showSecrets: flags['show-secrets'],
      ...(oidc ? { loggedIn: () => loadLoggedInIdentity(oidc, stateDir) } : {}),
    });
  }
}
