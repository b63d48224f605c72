import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';
import { stringify } from 'yaml';

import { loadConfig } from '../../src/core/config/load-config.js';
import { isOutpostError } from '../../src/core/errors.js';
import {
  buildIdentityHeaders,
  type HeaderContext,
} from '../../src/core/headers/identity-headers.js';
import { toWireValue } from '../../src/core/headers/wire.js';
import type { Identity } from '../../src/core/identity/identity.js';

const CONTEXT: HeaderContext = {
  providerName: 'p',
  applicationSlug: 'a',
  outpostName: 'o',
  version: 'goauthentik.io/outpost/0.0.0',
  jwksUrl: 'https://localhost/jwks/',
  basicAuth: { enabled: true, userAttribute: 'user', passwordAttribute: 'pass' },
};

/** Every kind of JavaScript value, including the ones JSON never makes. */
const anyValue = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  stringUnit: 'binary',
});

const headerName = fc.oneof(
  fc.constantFrom('X-Tenant', 'host', 'Content-Length', 'Transfer-Encoding', 'x-authentik-uid'),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

const attributes = fc.record(
  {
    additionalHeaders: fc.oneof(anyValue, fc.dictionary(headerName, anyValue, { maxKeys: 4 })),
    user: anyValue,
    pass: fc.oneof(anyValue, fc.string({ unit: 'binary' })),
  },
  { requiredKeys: [] },
);

/** Identities of every shape: each field missing, of the wrong type, or hostile text. */
const identity = fc.record(
  {
    sub: anyValue,
    preferred_username: fc.oneof(anyValue, fc.string({ unit: 'binary' })),
    name: anyValue,
    email: anyValue,
    groups: fc.oneof(anyValue, fc.array(anyValue, { maxLength: 4 })),
    entitlements: anyValue,
    user_attributes: fc.oneof(anyValue, attributes),
    is_superuser: anyValue,
    access_token: anyValue,
    source: anyValue,
  },
  { requiredKeys: [] },
) as fc.Arbitrary<unknown> as fc.Arbitrary<Identity>;

describe('buildIdentityHeaders never throws', () => {
  it('for any identity shape, and every value it gives can go on the wire', () => {
    fc.assert(
      fc.property(identity, (shape) => {
        const headers = buildIdentityHeaders(shape, CONTEXT);
        assert.ok(headers.has('X-Authentik-Username'));
        for (const [name, value] of headers) {
          assert.equal(typeof value, 'string', name);
          // what serve writes must be one byte per character with no CR, LF or NUL
          assert.doesNotMatch(toWireValue(value), /[\r\n\0]|[^\0-\xff]/u, name);
        }
      }),
      { numRuns: 400 },
    );
  });
});

/** A billion laughs: nine aliases per level, eleven levels. */
const ALIAS_BOMB = [
  'a: &a [x, x, x, x, x, x, x, x, x]',
  ...Array.from({ length: 11 }, (_, level) => {
    const name = 'b'.repeat(level + 1);
    const previous = level === 0 ? 'a' : 'b'.repeat(level);
    return `${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`;
  }),
].join('\n');

/** YAML pieces that tend to break loaders: tags, anchors, merges, odd scalars, structure. */
const YAML_PIECES = [
  'users:',
  'groups:',
  '  - username: ',
  '  - name: ',
  '    attributes:',
  '      additionalHeaders:',
  '        X-A: ',
  '    parent: ',
  'port: ',
  'skip_path_regex: ',
  'oidc:',
  '  issuer: ',
  '__proto__:',
  '<<: ',
  '? ',
  ': ',
  '- ',
  '&a ',
  '*a ',
  '!!binary aGk=',
  '!!set {a}',
  '!!omap [a: 1]',
  '!!map',
  '!!str',
  '!foo x',
  '!!timestamp 2001-12-14',
  '|',
  '>-',
  '[',
  ']',
  '{',
  '}',
  '"',
  "'",
  '\\u0000',
  '"\\r\\n"',
  '.inf',
  '.nan',
  '~',
  '0x1F',
  '1e400',
  '-0',
  '---',
  '...',
  '%YAML 1.1',
  '# c',
  '\t',
  '  ',
  '\n',
  'a',
  'alice',
  '李雷',
  '\u0000',
  '\ud800',
];

const yamlText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.constantFrom(...YAML_PIECES), { maxLength: 30 }).map((pieces) => pieces.join('')),
  fc
    .dictionary(
      fc.constantFrom('users', 'groups', 'name', 'port', 'mode', 'oidc', 'skip_path_regex', 'x'),
      anyValue,
      { maxKeys: 4 },
    )
    .map((value) => {
      try {
        return stringify(value);
      } catch {
        return '';
      }
    }),
);

describe('loadConfig throws nothing but an OutpostError', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-yaml-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function loadsOrRefuses(text: string): Promise<void> {
    writeFileSync(join(dir, 'outpost.yaml'), text);
    try {
      await loadConfig({ cwd: dir, env: {}, flags: {} });
    } catch (error) {
      assert.ok(isOutpostError(error), `untyped ${String(error)} for ${JSON.stringify(text)}`);
    }
  }

  it('for any YAML text', async () => {
    await fc.assert(fc.asyncProperty(yamlText, loadsOrRefuses), {
      numRuns: 300,
      examples: [[ALIAS_BOMB]],
    });
  });

  it('refuses an alias bomb as a config problem', async () => {
    writeFileSync(join(dir, 'outpost.yaml'), ALIAS_BOMB);
    await assert.rejects(
      loadConfig({ cwd: dir, env: {}, flags: {} }),
      (error: unknown) => isOutpostError(error) && error.code === 'CONFIG_INVALID',
    );
  });
});
