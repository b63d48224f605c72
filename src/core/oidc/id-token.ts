import { createHmac, timingSafeEqual } from 'node:crypto';

import { OutpostError } from '../errors.js';

const HMAC_HASHES: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/** The `alg` of a compact JWS, or undefined when the header cannot be read. */
export function jwsAlgorithm(jws: string): string | undefined {
  try {
    const header: unknown = JSON.parse(
      Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString(),
    );
    const alg = (header as { alg?: unknown } | null)?.alg;
    return typeof alg === 'string' ? alg : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks an HS256/384/512 ID token's MAC with the client secret as the key (OpenID Connect Core
 * §10.1). openid-client checks asymmetric signatures against the JWKS but leaves these to the
 * caller; authentik signs this way when its provider has no signing key.
 *
 * @throws OutpostError LOGIN_FAILED when the MAC is wrong or there is no secret to check it.
 */
export function verifySymmetricIdToken(idToken: string, clientSecret: string | undefined): void {
  const alg = jwsAlgorithm(idToken) ?? '';
  const hash = HMAC_HASHES[alg];
  if (hash === undefined) return;
  if (!clientSecret) {
    throw new OutpostError('LOGIN_FAILED', `the ID token is signed with ${alg} and no secret`, {
      hint: 'set oidc.client_secret, or give the provider a signing key (RS256)',
    });
  }
  const [header = '', payload = '', signature = ''] = idToken.split('.');
  const expected = createHmac(hash, clientSecret).update(`${header}.${payload}`).digest();
  const actual = Buffer.from(signature, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new OutpostError('LOGIN_FAILED', `the ID token's ${alg} signature is wrong`, {
      hint: 'check that oidc.client_secret is the secret of this client at the provider',
    });
  }
}
