import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import type { Mode } from '../../src/core/config/config.js';
import { noRulesWarning } from '../../src/core/paths/path-decisions.js';
import { compileUnauthenticatedPaths } from '../../src/core/paths/unauthenticated-paths.js';

function warningsFor(source: string | string[], mode: Mode = 'proxy'): string[] {
  return compileUnauthenticatedPaths(source, { mode }).warnings.map(
    ({ line, message }) => `${line}: ${message}`,
  );
}

describe('lint warnings', () => {
  const cases: [string, Mode, RegExp][] = [
    ['api/health', 'proxy', /has no leading \^, so it matches anywhere in the path/],
    ['^/a|/b', 'proxy', /only some alternatives start with \^/],
    ['.*', 'proxy', /matches every path, so no path needs a session/],
    ['^/', 'proxy', /matches every path/],
    ['(?:)', 'proxy', /matches every path/],
    ['^https?://', 'forward_domain', /matches every URL/],
    [
      '^/api/health.json$',
      'proxy',
      /unescaped \. in \/api\/health\.json .*\(\/api\/healthXjson too\)/,
    ],
    ['^https://app.localhost/', 'forward_domain', /unescaped \. in https:\/\/app\.localhost/],
    ['^/api/health ', 'proxy', /ends with whitespace/],
    ['/public/', 'forward_domain', /anywhere in the URL, the query included/],
    ['^https://app\\.localhost/.*\\.js$', 'forward_domain', /\.\* can run on into the query/],
    ['^https://app\\.localhost/[^/]+/public', 'forward_domain', /\[\^\/\]\+ can run on/],
    [
      '^/public/',
      'forward_domain',
      /starts with \^\/, but in forward_domain rules see the full URL/,
    ],
    [
      '^https://app\\.localhost/x',
      'proxy',
      /starts with \^http, but in proxy mode rules see only the path/,
    ],
  ];
  for (const [rule, mode, expected] of cases) {
    it(`${mode}: ${rule}`, () => {
      const warnings = warningsFor(rule, mode);
      assert.ok(
        warnings.some((warning) => expected.test(warning)),
        `no warning like ${expected} in ${JSON.stringify(warnings)}`,
      );
    });
  }

  const clean: [string, Mode][] = [
    ['^/api/health$', 'proxy'],
    ['(?i)^/static/', 'proxy'],
    ['^/(?:a|b)/x', 'proxy'],
    ['^/files/.*', 'proxy'],
    ['^/app\\.js$', 'proxy'],
    ['^/assets/[a-z0-9]+\\.(?:js|css)$', 'forward_single'],
    ['\\A/health\\z', 'proxy'],
    ['^https://app\\.localhost/public/', 'forward_domain'],
    ['^https://app\\.localhost/public/.*', 'forward_domain'],
    ['^https://app\\.localhost/[a-z]+/public', 'forward_domain'],
    ['^https?://[a-z]+\\.localhost(?::[0-9]+)?/ping$', 'forward_domain'],
  ];
  for (const [rule, mode] of clean) {
    it(`${mode}: ${rule} has no warning`, () => {
      assert.deepEqual(warningsFor(rule, mode), []);
    });
  }

  it('warns about blank lines with their line, not about the final newline', () => {
    assert.deepEqual(warningsFor('^/a$\n\n^/b$\n'), [
      '2: blank line ignored (authentik compiles it as an empty pattern, which makes every URL public)',
    ]);
    assert.deepEqual(warningsFor(['^/a$', '  ']).length, 1);
  });

  it('orders warnings by line and names the rule', () => {
    const { warnings } = compileUnauthenticatedPaths('x\n\n^/a.b');
    assert.deepEqual(
      warnings.map(({ line, rule }) => [line, rule]),
      [
        [1, 'x'],
        [2, ''],
        [3, '^/a.b'],
      ],
    );
  });

  it('says when there are no rules at all', () => {
    assert.match(noRulesWarning(false).message, /no config file .* every path needs a session/);
    assert.match(noRulesWarning(true).message, /skip_path_regex is empty/);
  });
});

describe('lint robustness', () => {
  it('reads any rule that compiles without throwing or hanging', () => {
    const piece = fc.constantFrom(
      ...['^', '$', '.', '*', '+', '?', '|', '(', ')', '(?:', '(?i)', '(?P<n>', '[', ']', '[^'],
      ...['[[:alpha:]]', '\\', '\\Q', '\\E', '\\.', '\\z', '\\pL', '\\x{41}', '{2}', '{1,}', 'a'],
      ...['/', 'h', 't', 'p', ':', '-', '1'],
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), (pieces) => {
        const rule = pieces.join('');
        try {
          compileUnauthenticatedPaths(rule, { mode: 'forward_domain' });
          compileUnauthenticatedPaths(rule, { mode: 'proxy' });
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'RULE_INVALID');
        }
      }),
      { numRuns: 3000 },
    );
  });
});
