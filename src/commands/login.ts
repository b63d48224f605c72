import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

import { Flags, ux, type Interfaces } from '@oclif/core';

import { OutpostCommand } from '../cli/base-command.js';
import { colorsFor } from '../cli/output.js';
import type { OidcSettings } from '../core/config/config.js';
import { loadConfig } from '../core/config/load-config.js';
import type { SaveOutcome, StoredLogin } from '../core/credentials/token-store.js';
import { logIn, requireOidcSettings } from '../core/oidc/cli-account.js';
import type { DeviceCodePrompt } from '../core/oidc/device-flow.js';

/** The `--json` answer. Never a token. */
export interface LoginResult {
  issuer: string;
  client_id: string;
  method: 'browser' | 'device';
  store: 'keychain' | 'file';
  credentials_file?: string;
  /** When the access token expires (ISO 8601); a refresh token, if any, renews it. */
  expires_at: string;
  refreshable: boolean;
  user: {
    sub: string;
    preferred_username: string;
    name: string;
    email: string;
    groups: string[];
    entitlements: string[];
  };
}

type LoginFlags = Interfaces.InferredFlags<typeof Login.flags & typeof OutpostCommand.baseFlags>;

export default class Login extends OutpostCommand {
  static override summary = 'Sign in to the real OpenID provider and keep the tokens.';

  static override description = `Signs you in to the provider of the config's oidc section (authentik: https://auth.example.com/application/o/<slug>/) and keeps the tokens in the OS keychain, one entry per issuer and client id. \`outpost headers\` then shows your real identity's headers.

By default a browser opens on the provider's sign-in page and comes back to a listener on http://127.0.0.1:<port>/callback; the provider must accept that redirect URI (in authentik, add the regular expression http://127\\.0\\.0\\.1:\\d+/callback, or fix the port with --port). The URL is always printed, for machines where no browser can be opened.

--device uses the device code flow instead: open the printed URL on any device and enter the code (in authentik, set the brand's device code flow).

Where no keychain is reachable (headless Linux without a Secret Service, CI), the tokens go to credentials.json in the state directory, readable only by you; the command says so. Tokens are never printed.`;

  static override examples = [
    { description: 'Sign in with the browser', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'Sign in from a machine without a browser',
      command: '<%= config.bin %> <%= command.id %> --device',
    },
    {
      description: 'Another provider than the config names',
      command:
        '<%= config.bin %> <%= command.id %> --issuer https://auth.example.com/application/o/my-app/ --client-id my-app',
    },
    {
      description: 'Who you are, as JSON',
      command: '<%= config.bin %> <%= command.id %> --json',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    device: Flags.boolean({ summary: 'Use the device code flow: a URL and a code to enter.' }),
    issuer: Flags.string({ summary: "The provider's issuer URL (oidc.issuer)." }),
    'client-id': Flags.string({ summary: 'The client id at the provider (oidc.client_id).' }),
    browser: Flags.boolean({
      summary: 'Open a browser (--no-browser: only print the URL).',
      default: true,
      allowNo: true,
    }),
    port: Flags.integer({
      summary: 'Loopback port for the browser to come back to (default: any free one).',
      min: 0,
      max: 65535,
    }),
    timeout: Flags.integer({
      summary: 'Seconds to wait for you to finish signing in.',
      default: 300,
      min: 1,
    }),
  };

  async run(): Promise<LoginResult> {
    const { flags } = await this.parse(Login);
    const settings = requireOidcSettings(
      await loadConfig({
        cwd: process.cwd(),
        env: process.env,
        configPath: flags.config,
        flags: { oidc_issuer: flags.issuer, oidc_client_id: flags['client-id'] },
      }),
    );
    const { login, saved } = await this.signIn(settings, flags);

    if (saved.store === 'file') {
      const why = saved.keychainError ? ` (${saved.keychainError})` : '';
      const note = colorsFor(process.stderr).yellow('note:');
      this.note(
        `${note} no keychain is reachable${why}; the tokens are kept in ${saved.path}, readable only by you`,
      );
    }
    const name = login.identity.preferred_username || login.identity.sub;
    if (!this.jsonEnabled()) this.log(`Logged in to ${settings.issuer} as ${name}.`);
    return describeLogin(login, saved, flags.device ? 'device' : 'browser');
  }

  private async signIn(settings: OidcSettings, flags: LoginFlags) {
    const cancel = cancelOnInterrupt();
    const warning = colorsFor(process.stderr).yellow('warning:');
    try {
      const outcome = await logIn(settings, {
        stateDir: this.stateDirFrom(flags['state-dir']),
        method: flags.device ? 'device' : 'browser',
        timeoutMs: flags.timeout * 1000,
        signal: cancel.signal,
        ...(flags.port === undefined ? {} : { port: flags.port }),
        onWarnings: (warnings) => warnings.forEach((text) => this.note(`${warning} ${text}`)),
        onUrl: (url) => this.showUrl(url, flags.browser),
        onPrompt: (prompt) => this.showCode(prompt, flags.browser),
      });
      ux.action.stop('done');
      return outcome;
    } catch (error) {
      ux.action.stop('stopped');
      throw error;
    } finally {
      cancel.dispose();
    }
  }

  private showUrl(url: string, openBrowser: boolean): void {
    const opened = openBrowser && openInBrowser(url);
    this.note(
      opened ? 'Opened your browser. If it did not open, go to:' : 'Open this URL to sign in:',
    );
    this.note(`  ${url}`);
    ux.action.start('Waiting for the sign-in to finish in the browser');
  }

  private showCode(prompt: DeviceCodePrompt, openBrowser: boolean): void {
    const err = colorsFor(process.stderr);
    this.note(`Open ${prompt.verification_uri} and enter the code ${err.bold(prompt.user_code)}`);
    if (prompt.verification_uri_complete) {
      this.note(`  (or open ${prompt.verification_uri_complete})`);
      if (openBrowser) openInBrowser(prompt.verification_uri_complete);
    }
    const minutes = Math.round(prompt.expires_in / 60);
    ux.action.start(`Waiting for the code to be confirmed (it expires in ${minutes} min)`);
  }

  /** Prompts and notes go to stderr, so that stdout holds only the answer (or --json). */
  private note(message: string): void {
    process.stderr.write(`${message}\n`);
  }
}

function describeLogin(
  login: StoredLogin,
  saved: SaveOutcome,
  method: LoginResult['method'],
): LoginResult {
  const { identity, tokens } = login;
  return {
    issuer: login.issuer,
    client_id: login.client_id,
    method,
    store: saved.store,
    ...(saved.path ? { credentials_file: saved.path } : {}),
    expires_at: new Date(tokens.expires_at * 1000).toISOString(),
    refreshable: tokens.refresh_token !== undefined,
    user: {
      sub: identity.sub,
      preferred_username: identity.preferred_username,
      name: identity.name,
      email: identity.email,
      groups: identity.groups,
      entitlements: identity.entitlements,
    },
  };
}

/** Ctrl-C stops the wait cleanly (LOGIN_TIMEOUT with a hint) instead of killing the listener. */
function cancelOnInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSignal) };
}

/** Starts the platform's browser opener; false where there is none (SSH, containers, CI). */
function openInBrowser(url: string): boolean {
  const opener = browserOpener();
  if (!opener) return false;
  const child = spawn(opener.command, [...opener.args, url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
  return true;
}

function browserOpener(): { command: string; args: string[] } | undefined {
  if (process.platform === 'darwin') return { command: 'open', args: [] };
  if (process.platform === 'win32') {
    // `start` would read & in the URL as a command separator
    return { command: 'rundll32', args: ['url.dll,FileProtocolHandler'] };
  }
  return hasDisplay() && onPath('xdg-open') ? { command: 'xdg-open', args: [] } : undefined;
}

function hasDisplay(): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => existsSync(join(dir, name)));
}
