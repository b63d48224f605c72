import { ResponseBodyError, AuthorizationResponseError, ClientError } from 'openid-client';

import { OutpostError, systemErrorCode, type OutpostErrorCode } from '../errors.js';

/**
 * An OAuth 2.0 error the provider itself sent (RFC 6749 §4.1.2.1 at the callback, §5.2 at the
 * token endpoint, RFC 8628 §3.5 while polling). Carries the provider's own words so that a page
 * or a command can show what the provider said.
 */
export class OidcProtocolError extends OutpostError {
  /** The provider's `error`, e.g. `access_denied` or `invalid_grant`. */
  readonly error: string;
  readonly error_description: string | undefined;
  readonly error_uri: string | undefined;

  constructor(
    code: OutpostErrorCode,
    message: string,
    details: { error: string; error_description?: string; error_uri?: string },
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = 'OidcProtocolError';
    this.error = details.error;
    this.error_description = details.error_description;
    this.error_uri = details.error_uri;
  }
}

/** What the failing step was, for messages: `sign-in`, `token refresh`, ... */
export interface FailureContext {
  issuer: string;
  action: string;
  /** The code for a refusal or an invalid answer from the provider. */
  code: OutpostErrorCode;
  hint?: string;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);

/**
 * Turns whatever openid-client or fetch threw into an OutpostError: network trouble becomes
 * PROVIDER_UNREACHABLE, an OAuth error body becomes an OidcProtocolError with `context.code`.
 */
export function toOutpostError(error: unknown, context: FailureContext): OutpostError {
  if (error instanceof OutpostError) return error;

  const network = networkFailure(error);
  if (network !== undefined) return unreachable(context, network, error);

  if (error instanceof ResponseBodyError || error instanceof AuthorizationResponseError) {
    return providerRefusal(context, error);
  }
  const alg = refusedAlgorithm(error);
  if (alg !== undefined) {
    return new OutpostError(context.code, `${context.action} failed: ID token signed with ${alg}`, {
      hint:
        `the provider advertises signing keys but signed with ${alg}; give its client a ` +
        'signing key (authentik: the provider\'s "Signing Key")',
      cause: error,
    });
  }
  const reason = error instanceof Error ? error.message : String(error);
  const detail = error instanceof ClientError ? innerMessage(error) : undefined;
  const message = `${context.action} failed: ${reason}${detail ? ` (${detail})` : ''}`;
  return new OutpostError(context.code, message, { hint: context.hint, cause: error });
}

/** The provider's error body as a readable sentence plus the structured fields. */
export function providerRefusal(
  context: FailureContext,
  body: { error: string; error_description?: string | undefined; error_uri?: string | undefined },
): OidcProtocolError {
  const description = body.error_description ? `: ${body.error_description}` : '';
  const message = `${context.action} failed: the provider answered ${body.error}${description}`;
  const details = {
    error: body.error,
    ...(body.error_description ? { error_description: body.error_description } : {}),
    ...(body.error_uri ? { error_uri: body.error_uri } : {}),
  };
  return new OidcProtocolError(context.code, message, details, {
    hint: context.hint,
    cause: body,
  });
}

function unreachable(context: FailureContext, detail: string, cause: unknown): OutpostError {
  const tls = TLS_CODES.has(detail);
  const hint = tls
    ? "the provider's TLS certificate is not trusted here: add its CA with NODE_EXTRA_CA_CERTS"
    : `check that ${context.issuer} is the right issuer and that the provider is running`;
  const message = `cannot reach the OpenID provider at ${context.issuer} (${context.action}): ${detail}`;
  return new OutpostError('PROVIDER_UNREACHABLE', message, { hint, cause });
}

/**
 * A short reason when `error` is a failure to talk to the provider at all (refused, DNS, TLS,
 * timeout), undefined when the provider did answer.
 */
export function networkFailure(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
  if (!(error instanceof TypeError)) return undefined;

  // undici reports every transport failure as TypeError('fetch failed') with the reason as cause
  const cause: unknown = error.cause;
  const code = systemErrorCode(cause);
  if (code !== undefined) return code;
  if (cause instanceof Error) return cause.message;
  return error.message === 'fetch failed' ? 'the connection failed' : undefined;
}

/** The `alg` openid-client would not check against the JWKS (HS256 and friends). */
function refusedAlgorithm(error: unknown): string | undefined {
  const inner: unknown = error instanceof ClientError ? error.cause : undefined;
  if (!(inner instanceof Error) || inner.message !== 'unsupported JWS algorithm') return undefined;
  const alg = (inner.cause as { alg?: unknown } | undefined)?.alg;
  return typeof alg === 'string' ? alg : undefined;
}

function innerMessage(error: ClientError): string | undefined {
  const cause: unknown = error.cause;
  if (cause instanceof Error && cause.message !== error.message) return cause.message;
  return undefined;
}
