/**
 * The one error type of outpost. Every expected failure carries a stable `code` that tests assert
 * on, a message that says what is wrong, and a `hint` that says what to do about it. Anything that
 * is not an OutpostError is a bug in outpost and is reported as one.
 */
export type OutpostErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_UNREADABLE'
  | 'CONFIG_INVALID'
  | 'CONFIG_EXISTS'
  | 'CONFIG_UNWRITABLE'
  | 'RULE_INVALID'
  | 'UNKNOWN_USER'
  | 'PORT_IN_USE'
  | 'LISTEN_FAILED'
  | 'TLS_INVALID'
  | 'STATE_UNWRITABLE'
  | 'USAGE'
  | 'PROVIDER_UNREACHABLE'
  | 'PROVIDER_ERROR'
  | 'LOGIN_FAILED'
  | 'LOGIN_TIMEOUT'
  | 'NOT_LOGGED_IN'
  | 'KEYCHAIN_FAILED'
  | 'STATE_MISMATCH'
  | 'REFRESH_FAILED'
  | 'HEADER_VALUE_INVALID'
  | 'WORKER_FAILED';

export interface OutpostErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Every problem when one error stands for several (config validation reports all at once). */
  problems?: readonly string[];
}

export class OutpostError extends Error {
  readonly code: OutpostErrorCode;
  readonly hint: string | undefined;
  readonly problems: readonly string[];

  constructor(code: OutpostErrorCode, message: string, options: OutpostErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutpostError';
    this.code = code;
    this.hint = options.hint;
    this.problems = options.problems ?? [];
  }
}

export function isOutpostError(error: unknown): error is OutpostError {
  return error instanceof OutpostError;
}

/** The `code` of a Node system error (`EADDRINUSE`, `ECONNREFUSED`, ...), if it has one. */
export function systemErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
