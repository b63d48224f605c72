/**
 * The resolved configuration: one provider's settings with the key names of authentik's API for
 * a proxy provider, the dev users and groups beside them, and how `serve` listens. Produced by
 * `loadConfig` after file, environment and flags are merged and every value is validated.
 */
export type Mode = 'proxy' | 'forward_single' | 'forward_domain';

export const MODES: readonly Mode[] = ['proxy', 'forward_single', 'forward_domain'];

/** Where a value came from, for error messages: the file and line, or the flag/variable name. */
export interface ValueOrigin {
  file?: string;
  line?: number;
  /** `--port`, `OUTPOST_PORT`, ... when the value did not come from the file. */
  via?: string;
}

export interface DevUser {
  username: string;
  name: string;
  email: string;
  groups: string[];
  entitlements: string[];
  attributes: Record<string, unknown>;
  /** Overrides the derived uid (SHA-256 of `<username>-<install_id>`). */
  uid?: string;
  backend_override?: string;
  host_header?: string;
  is_superuser: boolean;
}

export interface DevGroup {
  name: string;
  parent?: string;
  attributes: Record<string, unknown>;
}

export interface OidcSettings {
  issuer: string;
  client_id: string;
  client_secret?: string;
  scopes?: string[];
}

export type LogFormat = 'pretty' | 'json';

export interface OutpostConfig {
  /** The config file that was read, or null when there was none. */
  file: string | null;
  /** SHA-256 of the file's text as read, to tell a later edit from this version. */
  file_digest?: string;

  // the provider, authentik's names
  name: string;
  assigned_application_slug: string;
  assigned_application_name: string;
  outpost_name: string;
  mode: Mode;
  /** null: every request's own origin is its external host (the default without a config). */
  external_host: string | null;
  /** null: the built-in echo app. */
  internal_host: string | null;
  internal_host_ssl_validation: boolean;
  /** The rules as written: one string (newline separated, authentik's form) or a YAML list. */
  skip_path_regex: string | string[];
  /** 1-based line in the config file of each rule, parallel to the split rules, when known. */
  skip_path_regex_lines?: number[];
  cookie_domain: string;
  access_token_validity: number;
  basic_auth_enabled: boolean;
  basic_auth_user_attribute: string;
  basic_auth_password_attribute: string;
  intercept_header_auth: boolean;
  client_id: string;
  /** null: a secret generated once into the state directory. */
  client_secret: string | null;
  /** null: an id generated once into the state directory. */
  install_id: string | null;
  oidc: OidcSettings | null;

  /** Notes about the file that are not errors (ignored authentik keys). */
  warnings: string[];

  users: DevUser[];
  groups: DevGroup[];

  // how serve listens and forwards
  host: string;
  port: number;
  https_port: number;
  cert: string | null;
  key: string | null;
  rewrite_host: boolean;
  log_format: LogFormat;
  /** Milliseconds to wait for the upstream's response headers before answering 504. */
  upstream_timeout: number;
  /** Milliseconds a client has to send its request headers before its connection is closed. */
  client_header_timeout: number;
  /** Addresses whose X-Forwarded-* headers forward auth trusts. */
  trusted_proxies: string[];
  /** Processes that serve requests, sharing the ports and the sessions (`auto` resolved). */
  workers: number;
}
