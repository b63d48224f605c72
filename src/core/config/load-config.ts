import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';

import { OutpostError, systemErrorCode } from '../errors.js';
import { MODES, type OidcSettings, type OutpostConfig, type ValueOrigin } from './config.js';
import { readDirectory, isPlainObject } from './directory.js';
import { Problems, suggestKey } from './problems.js';
import {
  boolean,
  duration,
  httpUrl,
  integer,
  oneOf,
  port,
  ruleSource,
  text,
  textList,
  workerCount,
  type ValueType,
} from './value-types.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

export interface LoadConfigOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Flag values by config key (`internal_host`, `port`, ...); undefined means not given. */
  flags?: Partial<Record<string, unknown>>;
  /** `--config`; beats `OUTPOST_CONFIG`. */
  configPath?: string;
  /**
   * The config file's text, already read by the caller (so that it knows which version it
   * loaded); the file itself is then not read. Its name still comes from the path.
   */
  text?: string;
}

type Scalars = Omit<
  OutpostConfig,
  'file' | 'file_digest' | 'users' | 'groups' | 'oidc' | 'warnings' | 'skip_path_regex_lines'
>;

/** Every scalar key, its type and its default. Order is the order of `outpost init`'s file. */
const KEYS: { [K in keyof Scalars]-?: { type: ValueType<unknown>; default: Scalars[K] } } = {
  name: { type: text, default: 'outpost' },
  assigned_application_slug: { type: text, default: 'outpost' },
  assigned_application_name: { type: text, default: 'outpost' },
  outpost_name: { type: text, default: 'authentik Embedded Outpost' },
  mode: { type: oneOf(MODES, 'a mode'), default: 'proxy' },
  external_host: { type: httpUrl, default: null },
  internal_host: { type: httpUrl, default: null },
  internal_host_ssl_validation: { type: boolean, default: true },
  skip_path_regex: { type: ruleSource, default: '' },
  cookie_domain: { type: text, default: '' },
  access_token_validity: { type: duration, default: 86400 },
  basic_auth_enabled: { type: boolean, default: false },
  basic_auth_user_attribute: { type: text, default: '' },
  basic_auth_password_attribute: { type: text, default: '' },
  intercept_header_auth: { type: boolean, default: true },
  client_id: { type: text, default: 'outpost-dev' },
  client_secret: { type: text, default: null },
  install_id: { type: text, default: null },
  host: { type: text, default: '127.0.0.1' },
  port: { type: port, default: 9000 },
  https_port: { type: port, default: 9443 },
  cert: { type: text, default: null },
  key: { type: text, default: null },
  rewrite_host: { type: boolean, default: false },
  log_format: { type: oneOf(['pretty', 'json'] as const, 'a log format'), default: 'pretty' },
  upstream_timeout: { type: integer(1, 3_600_000, 'a timeout in ms'), default: 30_000 },
  client_header_timeout: { type: integer(100, 600_000, 'a timeout in ms'), default: 20_000 },
  trusted_proxies: { type: textList, default: ['127.0.0.1', '::1', '::ffff:127.0.0.1'] },
  workers: { type: workerCount, default: 1 },
};

/**
 * Keys an authentik API answer for a proxy provider also has. They mean nothing on a laptop, so
 * pasting them is allowed and they are ignored with a note.
 */
const AUTHENTIK_ONLY_KEYS = new Set([
  'pk',
  'authentication_flow',
  'authorization_flow',
  'invalidation_flow',
  'property_mappings',
  'component',
  'assigned_application_slug_url',
  'assigned_backchannel_application_slug',
  'assigned_backchannel_application_name',
  'verbose_name',
  'verbose_name_plural',
  'meta_model_name',
  'certificate',
  'jwt_federation_sources',
  'jwt_federation_providers',
  'refresh_token_validity',
  'redirect_uris',
  'outpost_set',
  'jwks_sources',
]);

/** Flag spellings that differ from `--<key with dashes>`. */
const FLAG_NAMES: Partial<Record<string, string>> = { internal_host: '--upstream' };

/** Environment names beyond `OUTPOST_<KEY>`. */
const ENV_ALIASES: Record<string, string> = { OUTPOST_UPSTREAM: 'internal_host' };

const OIDC_KEYS = ['issuer', 'client_id', 'client_secret', 'scopes'] as const;

/**
 * Loads `outpost.yaml` (or `--config` / `OUTPOST_CONFIG`), merges environment and flags over it
 * (flags beat environment, which beats the file, which beats defaults) and validates everything,
 * throwing one CONFIG_INVALID error that lists every problem with its file, line, key and value.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<OutpostConfig> {
  const { file, source, digest } = await readConfigFile(options);
  const problems = new Problems();
  const warnings: string[] = [];
  const fileValues = file && source ? topLevelMap(source, file, problems) : {};
  const locate = (path: string): ValueOrigin => ({
    file: file ?? undefined,
    line: source?.lineOf(`${path}#value`) ?? source?.lineOf(path),
  });

  checkFileKeys(fileValues, locate, problems, warnings);
  const scalars = resolveScalars(fileValues, options, locate, problems);
  const oidc = resolveOidc(fileValues.oidc, options, locate, problems);
  const { users, groups } = readDirectory(fileValues.users, fileValues.groups, locate, problems);

  if (!problems.isEmpty) throw invalidConfig(file, problems.sortedByLine());
  const config: OutpostConfig = { file, ...scalars, oidc, users, groups, warnings };
  if (digest) config.file_digest = digest;
  // with a real provider, the proxy is that client: its id names the cookie, as in authentik
  if (oidc && !clientIdGiven(fileValues, options)) config.client_id = oidc.client_id;
  const rulesFromFile =
    options.flags?.skip_path_regex === undefined && !options.env.OUTPOST_SKIP_PATH_REGEX;
  const ruleLines = rulesFromFile ? ruleLinesOf(source, config.skip_path_regex) : undefined;
  if (ruleLines) config.skip_path_regex_lines = ruleLines;
  return config;
}

function clientIdGiven(fileValues: Record<string, unknown>, options: LoadConfigOptions): boolean {
  return (
    fileValues.client_id !== undefined ||
    options.flags?.client_id !== undefined ||
    Boolean(options.env.OUTPOST_CLIENT_ID)
  );
}

/** How a config file's text is told apart from another version of it. */
export function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The config file loadConfig reads: `--config`, else `OUTPOST_CONFIG`, else `outpost.yaml`. */
export function configFilePath(
  options: Pick<LoadConfigOptions, 'cwd' | 'env' | 'configPath'>,
): string {
  return resolve(options.cwd, options.configPath ?? options.env.OUTPOST_CONFIG ?? 'outpost.yaml');
}

async function readConfigFile(
  options: LoadConfigOptions,
): Promise<{ file: string | null; source: YamlSource | null; digest?: string }> {
  const explicit = options.configPath ?? options.env.OUTPOST_CONFIG;
  const path = configFilePath(options);
  const text = options.text ?? (await readConfigText(options));
  if (text === undefined) return { file: null, source: null };
  const shown = isAbsolute(explicit ?? '') ? path : relative(options.cwd, path) || path;
  return { file: shown, source: parseYamlSource(text), digest: digestOf(text) };
}

/**
 * The config file's text, or undefined when the default `outpost.yaml` does not exist.
 *
 * @throws OutpostError CONFIG_NOT_FOUND for a missing `--config` file, CONFIG_UNREADABLE.
 */
export async function readConfigText(
  options: Pick<LoadConfigOptions, 'cwd' | 'env' | 'configPath'>,
): Promise<string | undefined> {
  const explicit = options.configPath ?? options.env.OUTPOST_CONFIG;
  const path = configFilePath(options);
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if (systemErrorCode(cause) === 'ENOENT' && explicit === undefined) return undefined;
    throw unreadable(path, explicit !== undefined, cause);
  }
}

function unreadable(path: string, explicit: boolean, cause: unknown): OutpostError {
  if (systemErrorCode(cause) === 'ENOENT') {
    return new OutpostError('CONFIG_NOT_FOUND', `config file ${path} does not exist`, {
      hint: explicit
        ? 'check the path given to --config or OUTPOST_CONFIG, or run `outpost init` to write one'
        : 'run `outpost init` to write one',
      cause,
    });
  }
  return new OutpostError('CONFIG_UNREADABLE', `cannot read config file ${path}`, {
    hint: 'check that the file exists and that you may read it',
    cause,
  });
}

function topLevelMap(source: YamlSource, file: string, problems: Problems) {
  for (const error of source.errors) {
    problems.list.push(`${file}:${error.line}: ${error.message}`);
  }
  if (source.errors.length > 0 || source.value === undefined || source.value === null) return {};
  if (!isPlainObject(source.value)) {
    problems.list.push(`${file}:1: the file is not a map of keys: write \`key: value\` lines`);
    return {};
  }
  return source.value;
}

function checkFileKeys(
  values: Record<string, unknown>,
  locate: (path: string) => ValueOrigin,
  problems: Problems,
  warnings: string[],
): void {
  const known = [...Object.keys(KEYS), 'users', 'groups', 'oidc'];
  for (const key of Object.keys(values)) {
    if (known.includes(key)) continue;
    if (AUTHENTIK_ONLY_KEYS.has(key)) {
      warnings.push(`${key}: authentik's own setting, ignored by outpost`);
      continue;
    }
    const suggestion = suggestKey(key, known);
    const allowed = suggestion
      ? `did you mean \`${suggestion}\`?`
      : 'see `outpost init` for the keys';
    problems.add(locate(key), key, undefined, `is not a known key: ${allowed}`);
  }
}

function resolveScalars(
  fileValues: Record<string, unknown>,
  options: LoadConfigOptions,
  locate: (path: string) => ValueOrigin,
  problems: Problems,
): Scalars {
  const result: Record<string, unknown> = {};
  const envValues = environmentValues(options.env);
  for (const [key, spec] of Object.entries(KEYS)) {
    const flag = options.flags?.[key];
    const chosen =
      flag !== undefined
        ? { value: flag, origin: { via: FLAG_NAMES[key] ?? `--${key.replaceAll('_', '-')}` } }
        : (envValues.get(key) ??
          (fileValues[key] !== undefined && fileValues[key] !== null
            ? { value: fileValues[key], origin: locate(key), fromFile: true }
            : undefined));
    if (!chosen) {
      result[key] = structuredClone(spec.default);
      continue;
    }
    const parsed = spec.type.parse(chosen.value, !('fromFile' in chosen));
    if (parsed.ok) result[key] = parsed.value;
    else problems.add(chosen.origin, key, secretSafe(key, chosen.value), parsed.message);
  }
  return result as Scalars;
}

function environmentValues(env: Record<string, string | undefined>) {
  const values = new Map<string, { value: string; origin: ValueOrigin }>();
  for (const key of Object.keys(KEYS)) {
    const name = `OUTPOST_${key.toUpperCase()}`;
    const value = env[name];
    if (value !== undefined && value !== '') values.set(key, { value, origin: { via: name } });
  }
  for (const [name, key] of Object.entries(ENV_ALIASES)) {
    const value = env[name];
    if (value !== undefined && value !== '' && !values.has(key)) {
      values.set(key, { value, origin: { via: name } });
    }
  }
  return values;
}

function resolveOidc(
  raw: unknown,
  options: LoadConfigOptions,
  locate: (path: string) => ValueOrigin,
  problems: Problems,
): OidcSettings | null {
  const merged: Record<string, unknown> = {};
  const origins: Record<string, ValueOrigin> = {};
  if (raw !== undefined && raw !== null && !isPlainObject(raw)) {
    problems.add(locate('oidc'), 'oidc', raw, 'is not a map: write issuer, client_id, ...');
  } else if (raw) {
    for (const [key, value] of Object.entries(raw)) {
      if (!(OIDC_KEYS as readonly string[]).includes(key)) {
        problems.add(
          locate(`oidc.${key}`),
          `oidc.${key}`,
          undefined,
          `is not a known key: use ${OIDC_KEYS.join(', ')}`,
        );
        continue;
      }
      merged[key] = value;
      origins[key] = locate(`oidc.${key}`);
    }
  }
  for (const key of OIDC_KEYS) {
    const envName = `OUTPOST_OIDC_${key.toUpperCase()}`;
    const flagName = `oidc_${key}`;
    if (options.flags?.[flagName] !== undefined) {
      merged[key] = options.flags[flagName];
      origins[key] = { via: `--oidc-${key.replaceAll('_', '-')}` };
    } else if (options.env[envName]) {
      merged[key] =
        key === 'scopes' ? textList.parse(options.env[envName], true) : options.env[envName];
      if (key === 'scopes') merged[key] = (merged[key] as { value?: unknown }).value;
      origins[key] = { via: envName };
    }
  }
  if (Object.keys(merged).length === 0) return null;
  return validateOidc(merged, origins, problems);
}

function validateOidc(
  merged: Record<string, unknown>,
  origins: Record<string, ValueOrigin>,
  problems: Problems,
): OidcSettings | null {
  const issuer = httpUrl.parse(merged.issuer, true);
  const clientId = text.parse(merged.client_id, true);
  const at = (key: string) => origins[key] ?? origins.issuer ?? {};
  if (!issuer.ok)
    problems.add(
      at('issuer'),
      'oidc.issuer',
      merged.issuer,
      merged.issuer === undefined ? 'is missing: set the issuer URL' : issuer.message,
    );
  if (!clientId.ok)
    problems.add(
      at('client_id'),
      'oidc.client_id',
      merged.client_id,
      merged.client_id === undefined ? 'is missing: set the client id' : clientId.message,
    );
  const settings: OidcSettings = {
    issuer: issuer.ok ? `${issuer.value}/` : '',
    client_id: clientId.ok ? clientId.value : '',
  };
  if (merged.client_secret !== undefined) {
    const secret = text.parse(merged.client_secret, true);
    if (secret.ok) settings.client_secret = secret.value;
    else problems.add(at('client_secret'), 'oidc.client_secret', undefined, secret.message);
  }
  if (merged.scopes !== undefined) {
    const scopes = textList.parse(merged.scopes, false);
    if (scopes.ok) settings.scopes = scopes.value;
    else problems.add(at('scopes'), 'oidc.scopes', merged.scopes, scopes.message);
  }
  return settings;
}

/** Secrets are never echoed back, even in an error about them. */
function secretSafe(key: string, value: unknown): unknown {
  return key === 'client_secret' ? '(hidden)' : value;
}

function invalidConfig(file: string | null, problems: Problems): OutpostError {
  const count = problems.list.length;
  // the file is named only when it holds every problem; a flag or variable may hold some
  const allInFile = file !== null && problems.list.every((text) => text.startsWith(`${file}:`));
  return new OutpostError(
    'CONFIG_INVALID',
    `${allInFile ? file : 'the configuration'} has ${count} problem${count === 1 ? '' : 's'}:\n  ${problems.list.join('\n  ')}`,
    { hint: 'fix the values above and run the command again', problems: problems.list },
  );
}

/** The file line of each rule of `skip_path_regex`, where the file holds it. */
function ruleLinesOf(source: YamlSource | null, rules: string | string[]): number[] | undefined {
  if (!source) return undefined;
  if (Array.isArray(rules)) {
    const lines = rules.map((_, index) => source.lineOf(`skip_path_regex[${index}]`));
    return lines.every((line) => line !== undefined) ? (lines as number[]) : undefined;
  }
  const keyLine = source.lineOf('skip_path_regex');
  const valueLine = source.lineOf('skip_path_regex#value');
  if (keyLine === undefined || valueLine === undefined) return undefined;
  // a block scalar (`|`) starts on the key's line; its first rule is on the next one
  const first = valueLine === keyLine && rules.includes('\n') ? keyLine + 1 : valueLine;
  return rules.split('\n').map((_, index) => first + index);
}
