import type { OutpostConfig } from '../config/config.js';
import { buildIdentityHeaders, type HeaderContext } from '../headers/identity-headers.js';
import { mergeUserAttributes } from '../identity/attributes.js';
import type { Identity } from '../identity/identity.js';

// the framing headers and Host never travel from the auth answer to the app
const NOT_COPIED = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

/**
 * The headers outpost's answer can carry, in the builder's order: the identity headers of SPEC
 * section 4, `Authorization` with Basic auth, and every dev user's `additionalHeaders`. Asking
 * the one header builder keeps this list from drifting from what outpost sends.
 */
export function copiedHeaderNames(config: OutpostConfig): string[] {
  const context: HeaderContext = {
    providerName: '',
    applicationSlug: '',
    outpostName: '',
    version: '',
    jwksUrl: '',
    basicAuth: {
      enabled: config.basic_auth_enabled,
      userAttribute: config.basic_auth_user_attribute,
      passwordAttribute: config.basic_auth_password_attribute,
    },
  };
  const names = new Set(buildIdentityHeaders(blankIdentity({}), context).keys());
  if (config.basic_auth_enabled) names.add('Authorization');
  for (const user of config.users) {
    const identity = blankIdentity(mergeUserAttributes(user, config.groups));
    for (const name of buildIdentityHeaders(identity, context).keys()) names.add(name);
  }
  return [...names].filter((name) => !NOT_COPIED.has(name.toLowerCase()));
}

function blankIdentity(attributes: Record<string, unknown>): Identity {
  return {
    sub: '',
    preferred_username: '',
    name: '',
    email: '',
    groups: [],
    entitlements: [],
    user_attributes: attributes,
    is_superuser: false,
    access_token: '',
    source: 'dev',
  };
}

/** Whether nginx's snippet can copy this header: its name must make an nginx variable name. */
export function isCopiedByNginx(name: string): boolean {
  return /^[A-Za-z0-9-]+$/.test(name);
}
