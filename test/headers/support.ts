import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { isolatedEnv, runCli, type CliResult } from '../helpers/cli.js';

/** The version the built CLI reports, so that an in-process outpost says the same. */
export const VERSION: string = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8'),
).version;

/** `outpost headers ARGS` with a temp HOME, run in `cwd` against `stateDir`. */
export async function runHeaders(
  args: string[],
  options: { cwd: string; stateDir: string; env?: Record<string, string> },
): Promise<CliResult> {
  const isolated = isolatedEnv({ OUTPOST_STATE_DIR: options.stateDir, ...options.env });
  try {
    return await runCli(['headers', ...args], { cwd: options.cwd, env: isolated.env });
  } finally {
    isolated.cleanup();
  }
}

/** `--json` of one user: the whole answer parsed, after checking it succeeded. */
export async function headersJson(
  args: string[],
  options: { cwd: string; stateDir: string; env?: Record<string, string> },
): Promise<{ user: string; mode: string; headers: Record<string, string> }> {
  const result = await runHeaders([...args, '--json'], options);
  assert.equal(result.code, 0, `outpost headers failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** A JWT's claims, after checking its HS256 signature with `secret`. */
export function verifiedClaims(token: string, secret: string): Record<string, unknown> {
  const [header, payload, signature] = token.split('.');
  assert.ok(header && payload && signature, `not a JWT: ${token}`);
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  assert.equal(signature, expected, 'the token is signed with the provider secret');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/**
 * Two dev tokens say the same thing: same signing key, same claims except the ones that name
 * the moment of signing (iat, exp, jti, and auth_time, which equals iat), and the same lifetime.
 */
export function assertSameToken(actual: string, expected: string, secret: string): void {
  const a = verifiedClaims(actual, secret);
  const b = verifiedClaims(expected, secret);
  assert.equal(a.auth_time, a.iat);
  assert.equal((a.exp as number) - (a.iat as number), (b.exp as number) - (b.iat as number));
  assert.notEqual(a.jti, undefined);
  const timeless = (claims: Record<string, unknown>) => {
    const { iat: _iat, exp: _exp, jti: _jti, auth_time: _auth, ...rest } = claims;
    return rest;
  };
  assert.deepEqual(timeless(a), timeless(b));
}

/**
 * The CLI's headers equal what arrived, name for name (with casing) and value for value, after
 * leaving out the headers in `ignore` (lower case) that belong to the connection, not the user.
 * X-Authentik-Jwt is compared by its claims, since each signing makes a new token.
 */
export function assertSameHeaders(
  cli: Record<string, string>,
  arrived: [string, string][],
  ignore: readonly string[],
  secret: string,
): void {
  const kept = arrived.filter(([name]) => !ignore.includes(name.toLowerCase()));
  const received = Object.fromEntries(kept);
  assert.equal(Object.keys(received).length, kept.length, 'no header arrived twice');
  assert.deepEqual(Object.keys(received).sort(), Object.keys(cli).sort());
  for (const [name, value] of Object.entries(cli)) {
    if (name === 'X-Authentik-Jwt') continue;
    assert.equal(received[name], value, name);
  }
  assertSameToken(cli['X-Authentik-Jwt']!, received['X-Authentik-Jwt']!, secret);
}
