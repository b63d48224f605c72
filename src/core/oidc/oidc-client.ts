import * as oidc from 'openid-client';

import type { OidcSettings } from '../config/config.js';
import { OutpostError } from '../errors.js';
import { toOutpostError } from './oidc-errors.js';

/** The scopes authentik's proxy provider asks for; `offline_access` is added when offered. */
export const DEFAULT_SCOPES: readonly string[] = [
  'openid',
  'profile',
  'email',
  'entitlements',
  'ak_proxy',
];

export interface DiscoverOptions {
  /** Replaces Node's fetch for every request to the provider (a private CA, a proxy). */
  fetch?: oidc.CustomFetch;
  /** Seconds to wait for each request to the provider. Default 10. */
  timeout?: number;
}

/**
 * One OpenID provider as seen by one client: the discovered metadata, the client's credentials
 * and what the provider can do. Made by {@link discoverOidcClient}; every other function of
 * this module takes it as its first argument.
 */
export interface OidcClient {
  /** The issuer exactly as the provider names itself. */
  readonly issuer: string;
  readonly clientId: string;
  /** What sign-in asks for, in order. */
  readonly scopes: readonly string[];
  /** The provider's `jwks_uri`, sent to the app as `X-Authentik-Meta-Jwks`. */
  readonly jwksUri: string | undefined;
  readonly canRevoke: boolean;
  readonly canIntrospect: boolean;
  readonly canEndSession: boolean;
  readonly canUseDeviceFlow: boolean;
  /** Things the caller should say once, e.g. that the issuer is plain HTTP. */
  readonly warnings: readonly string[];
  /** openid-client's configuration, for the functions of this module; holds the secret. */
  readonly configuration: oidc.Configuration;
}

/**
 * Reads the provider's discovery document (OpenID Connect Discovery 1.0 §4) and returns the
 * client for it. An `http://` issuer is allowed only on loopback, with a warning.
 *
 * @throws OutpostError PROVIDER_UNREACHABLE when the document cannot be fetched or is wrong,
 *   CONFIG_INVALID for a plain-HTTP issuer that is not on loopback.
 */
export async function discoverOidcClient(
  settings: OidcSettings,
  options: DiscoverOptions = {},
): Promise<OidcClient> {
  const issuerUrl = parseIssuer(settings.issuer);
  const insecure = issuerUrl.protocol === 'http:';
  const configuration = await fetchConfiguration(issuerUrl, settings, options, insecure);
  const metadata = configuration.serverMetadata();

  if (verifiesSignaturesWithJwks(metadata)) oidc.enableNonRepudiationChecks(configuration);

  const warnings = insecure
    ? [`the OpenID provider ${settings.issuer} is plain HTTP: use this only for local testing`]
    : [];
  return {
    issuer: metadata.issuer,
    clientId: settings.client_id,
    scopes: chooseScopes(settings.scopes, metadata.scopes_supported),
    jwksUri: metadata.jwks_uri,
    canRevoke: metadata.revocation_endpoint !== undefined,
    canIntrospect: metadata.introspection_endpoint !== undefined,
    canEndSession: metadata.end_session_endpoint !== undefined,
    canUseDeviceFlow: metadata.device_authorization_endpoint !== undefined,
    warnings,
    configuration,
  };
}

/**
 * The scopes to request: the configured ones (with `openid` made sure of), else the defaults
 * plus `offline_access` when the provider lists it, so that a refresh token can keep the
 * session alive (OpenID Connect Core §11).
 */
export function chooseScopes(
  configured: readonly string[] | undefined,
  supported: readonly string[] | undefined,
): string[] {
  if (configured && configured.length > 0) {
    return configured.includes('openid') ? [...configured] : ['openid', ...configured];
  }
  const offline = supported?.includes('offline_access') ? ['offline_access'] : [];
  return [...DEFAULT_SCOPES, ...offline];
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  return /^127(\.\d{1,3}){3}$/.test(host);
}

function parseIssuer(issuer: string): URL {
  const url = URL.canParse(issuer) ? new URL(issuer) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new OutpostError('CONFIG_INVALID', `oidc.issuer: not an http(s) URL: ${issuer}`, {
      hint: "authentik's issuer looks like https://auth.example.com/application/o/<slug>/",
    });
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new OutpostError('CONFIG_INVALID', `oidc.issuer: plain HTTP is refused: ${issuer}`, {
      hint: 'use the https:// issuer; plain http is accepted only on localhost for testing',
    });
  }
  return url;
}

async function fetchConfiguration(
  issuerUrl: URL,
  settings: OidcSettings,
  options: DiscoverOptions,
  insecure: boolean,
): Promise<oidc.Configuration> {
  const secret = settings.client_secret || undefined;
  const auth = secret ? oidc.ClientSecretBasic(secret) : oidc.None();
  try {
    return await oidc.discovery(issuerUrl, settings.client_id, secret, auth, {
      execute: insecure ? [oidc.allowInsecureRequests] : [],
      timeout: options.timeout ?? 10,
      ...(options.fetch ? { [oidc.customFetch]: options.fetch } : {}),
    });
  } catch (error) {
    throw asDiscoveryError(error, settings.issuer);
  }
}

function asDiscoveryError(error: unknown, issuer: string): OutpostError {
  return toOutpostError(error, {
    issuer,
    action: 'discovery',
    code: 'PROVIDER_UNREACHABLE',
    hint:
      'check oidc.issuer: it must be the issuer exactly as the provider names itself, trailing ' +
      'slash included (authentik: https://auth.example.com/application/o/<slug>/)',
  });
}

/**
 * Whether ID token signatures are checked against the provider's JWKS. Providers that sign
 * only with HS256 (authentik without a signing key) are checked with the client secret instead,
 * which openid-client leaves to us.
 */
function verifiesSignaturesWithJwks(metadata: oidc.ServerMetadata): boolean {
  const algorithms = metadata.id_token_signing_alg_values_supported ?? ['RS256'];
  return metadata.jwks_uri !== undefined && algorithms.some((alg) => !alg.startsWith('HS'));
}
