import type { Mode, OutpostConfig } from '../config/config.js';
import { OutpostError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { IdentitySource } from '../proxy/identity-source.js';
import { isHostHeaderValid } from '../proxy/request-origin.js';
import { buildIdentityHeaders, isFramingHeader } from './identity-headers.js';
import { fromWireValue, toWireValue } from './wire.js';

/** One user's headers as `serve` sends them: the `--json` answer of `outpost headers`. */
export interface UserHeaders {
  user: string;
  mode: Mode;
  /** Wire names (Go's canonical casing) to the values the app reads, in the order sent. */
  headers: Record<string, string>;
}

export interface HeaderReport {
  users: UserHeaders[];
  /** Attribute values that do not reach the app as written: the user, the key and why. */
  problems: string[];
  /** What the reader should know about the answer (a shortened token, a fallback user). */
  notes: string[];
}

export interface HeaderReportOptions {
  config: OutpostConfig;
  stateDir: string;
  /** outpost's version, for `X-Authentik-Meta-Version`. */
  version: string;
  /** `--user`: a dev user. */
  user?: string;
  /** `--all-users`: every dev user, in the config's order. */
  allUsers?: boolean;
  /** `--host`: the Host a browser sends (`app.localhost:9443`) or a URL giving the scheme too. */
  host?: string;
  /** Print a real provider's token and Basic credentials in full. */
  showSecrets?: boolean;
  /** The identity `outpost login` keeps, if any: used when no user is named. */
  loggedIn?: () => Promise<Identity | null>;
}

// connection-level headers that serve sets itself in proxy mode, over any attribute's value
const REPLACED_IN_PROXY_MODE = ['X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host'];
const SECRET_HEADERS = ['X-Authentik-Jwt', 'Authorization'];

/**
 * The headers each chosen user would get from `serve` (SPEC section 4, issue 4), built with the
 * same {@link IdentitySource} and {@link buildIdentityHeaders} as the proxy, without listening.
 * Proxy mode adds `X-Forwarded-Host`; the per-connection X-Forwarded-For and -Proto are left out.
 *
 * @throws OutpostError UNKNOWN_USER for a `user` the config does not name; USAGE for a bad `host`.
 */
export async function buildHeaderReport(options: HeaderReportOptions): Promise<HeaderReport> {
  const { config } = options;
  const source = new IdentitySource(config, options.stateDir, options.version);
  // without --host, a browser goes to the external host: its Host is the external host's
  const target = options.host === undefined ? defaultTarget(config) : parseHostTarget(options.host);
  const externalOrigin = source.externalOrigin(target.origin);
  const forwardedHost = options.host === undefined ? new URL(externalOrigin).host : target.host;
  const notes: string[] = [];

  const identities = await chooseIdentities(options, source, externalOrigin, notes);
  const problems = identities.flatMap((identity) => attributeProblems(identity, config.mode));
  const users = identities.map((identity) => {
    const built = buildIdentityHeaders(identity, source.headerContext(externalOrigin));
    const headers = headersAsSent(built, config.mode, forwardedHost);
    if (identity.source === 'oidc' && !options.showSecrets) {
      if (shortenSecrets(headers)) notes.push(shortenedNote(identity.preferred_username));
    }
    return { user: identity.preferred_username, mode: config.mode, headers };
  });
  return { users, problems, notes };
}

/** Where a browser goes when no external_host says: the HTTPS port on localhost. */
function defaultTarget(config: OutpostConfig): { origin: string; host: string } {
  const url = new URL(`https://localhost:${config.https_port}`);
  return { origin: url.origin, host: url.host };
}

/** `--host` as the Host header a client sends and the origin it makes (https unless a URL says). */
export function parseHostTarget(value: string): { origin: string; host: string } {
  const hasScheme = /^https?:\/\//i.test(value);
  let url: URL | null = null;
  try {
    url = new URL(hasScheme ? value : `https://${value}`);
  } catch {
    // reported below
  }
  const host = hasScheme ? url?.host : value;
  const bare = url !== null && url.pathname === '/' && url.search === '' && url.hash === '';
  if (!url || !host || !bare || !isHostHeaderValid(host)) {
    throw new OutpostError('USAGE', `--host ${JSON.stringify(value)} is not a host`, {
      hint: 'give the Host a browser sends, e.g. app.localhost:9443, or a URL like http://localhost:9000',
    });
  }
  return { origin: `${url.protocol}//${host}`, host };
}

/** `--all-users`, `--user`, else the logged-in identity, else the first dev user. */
async function chooseIdentities(
  options: HeaderReportOptions,
  source: IdentitySource,
  externalOrigin: string,
  notes: string[],
): Promise<Identity[]> {
  const { config } = options;
  if (options.allUsers) {
    return config.users.map((user) => source.devIdentity(user.username, externalOrigin));
  }
  if (options.user !== undefined) return [source.devIdentity(options.user, externalOrigin)];
  const loggedIn = options.loggedIn ? await options.loggedIn() : null;
  if (loggedIn) return [loggedIn];
  const fallback = config.users[0]!.username;
  if (config.oidc) {
    notes.push(
      `not logged in to ${config.oidc.issuer}: showing the dev user ${fallback} (run \`outpost login\` to see your own headers)`,
    );
  }
  return [source.devIdentity(fallback, externalOrigin)];
}

/**
 * The builder's headers as the app receives them: a `Host` entry is dropped (Go ignores it, and
 * so does serve), and so are framing headers; proxy mode sets X-Forwarded-Host last, as serve
 * does; each value is what the app decodes from the wire (control characters become spaces).
 */
function headersAsSent(
  built: Map<string, string>,
  mode: Mode,
  forwardedHost: string,
): Record<string, string> {
  for (const name of [...built.keys()]) if (isFramingHeader(name)) built.delete(name);
  if (mode === 'proxy') {
    for (const name of REPLACED_IN_PROXY_MODE) built.delete(name);
    built.set('X-Forwarded-Host', forwardedHost);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of built) {
    if (!HEADER_NAME.test(name)) continue;
    headers[name] = fromWireValue(toWireValue(value));
  }
  return headers;
}

/** Shortens a real provider's token and Basic credentials in place; true when any was. */
function shortenSecrets(headers: Record<string, string>): boolean {
  let shortened = false;
  for (const name of SECRET_HEADERS) {
    const value = headers[name];
    if (value === undefined || value === '') continue;
    headers[name] = `${value.slice(0, 10)}…(${value.length} characters)`;
    shortened = true;
  }
  return shortened;
}

function shortenedNote(user: string): string {
  return `${user}'s token from the real provider is shortened: add --show-secrets to print it in full`;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * `additionalHeaders` entries that do not reach the app as written. Config validation refuses
 * these for dev users, so they come from a real provider's attributes or from serve's own rules.
 */
export function attributeProblems(identity: Identity, mode: Mode): string[] {
  const extra = identity.user_attributes?.additionalHeaders;
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) return [];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(extra as Record<string, unknown>)) {
    const why = problemOf(name, value, mode);
    if (why) problems.push(`${identity.preferred_username}: additionalHeaders.${name}: ${why}`);
  }
  return problems;
}

function problemOf(name: string, value: unknown, mode: Mode): string | null {
  if (!HEADER_NAME.test(name)) return 'is not a header name, so it is not sent';
  if (value === null || !['string', 'number', 'boolean'].includes(typeof value)) {
    const kind =
      value === null
        ? 'null'
        : Array.isArray(value)
          ? 'a list'
          : typeof value === 'object'
            ? 'a map'
            : typeof value;
    return `is ${kind}, which cannot be a header value, so it is not sent`;
  }
  const canonical = name.toLowerCase();
  if (canonical === 'host') return "is not sent: the app gets the client's Host (use host_header)";
  if (isFramingHeader(canonical)) {
    return 'frames the message itself, so outpost cannot send it as an identity header';
  }
  if (mode === 'proxy' && REPLACED_IN_PROXY_MODE.some((h) => h.toLowerCase() === canonical)) {
    return "is replaced by serve with the connection's value in proxy mode";
  }
  if (typeof value === 'string' && CONTROL.test(value)) {
    return 'contains a control character, which is sent as a space';
  }
  return null;
}
