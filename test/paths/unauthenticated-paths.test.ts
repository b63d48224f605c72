import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';
import { RE2JS } from 're2js';

import { isOutpostError, type OutpostError } from '../../src/core/errors.js';
import { subjectForUrl } from '../../src/core/paths/request-subject.js';
import { compileUnauthenticatedPaths } from '../../src/core/paths/unauthenticated-paths.js';

function compile(source: string | string[], mode: 'proxy' | 'forward_domain' = 'proxy') {
  return compileUnauthenticatedPaths(source, { mode }).paths;
}

function compileError(source: string | string[], options = {}): OutpostError {
  try {
    compileUnauthenticatedPaths(source, options);
  } catch (error) {
    if (isOutpostError(error)) return error;
    throw error;
  }
  assert.fail(`expected ${JSON.stringify(source)} to be refused`);
}

describe("Go's RE2 syntax", () => {
  const accepted: [string, string, boolean][] = [
    ['(?i)^/API/health$', '/api/HEALTH', true],
    ['^/(?P<version>v[0-9]+)/public', '/v2/public', true],
    ['^/(?<version>v[0-9]+)/public', '/v2/public', true],
    ['^/[[:alpha:]]+$', '/static', true],
    ['^/[[:alpha:]]+$', '/static1', false],
    ['^/health\\z', '/health', true],
    ['^/health\\z', '/health/x', false],
    ['^/\\pL+$', '/café', true],
    ['^/\\Q.well-known\\E/', '/.well-known/x', true],
    ['^/\\Q.well-known\\E/', '/Xwell-known/x', false],
    ['(?U)^/a+', '/aaa', true],
    ['^/[^/]+\\.js$', '/app.js', true],
  ];
  for (const [rule, subject, expected] of accepted) {
    it(`accepts ${rule} and ${expected ? 'matches' : 'does not match'} ${subject}`, () => {
      assert.equal(compile(rule).match(subject) !== null, expected);
    });
  }

  const refused: [string, RegExp][] = [
    ['^/(?=public)', /look-ahead is not part of Go's RE2 syntax/],
    ['^/(?!admin)', /look-ahead/],
    ['(?<=/)public', /look-behind is not part of Go's RE2 syntax/],
    ['(?<!admin)/x', /look-behind/],
    ['^/(a)\\1', /invalid escape sequence: `\\1` \(back-references are not part/],
    ['^/(?>a+)', /atomic groups/],
    ['^/a*+', /invalid nested repetition operator.*possessive/],
    ['^/health\\Z', /use \\z/],
    ['^/[a-', /missing closing \]/],
    ['^/a{1001}', /invalid repeat count/],
  ];
  for (const [rule, reason] of refused) {
    it(`refuses ${rule} with the reason`, () => {
      const error = compileError(rule);
      assert.equal(error.code, 'RULE_INVALID');
      assert.equal(error.problems.length, 1);
      assert.match(error.problems[0] ?? '', reason);
      assert.match(error.problems[0] ?? '', /error parsing regexp/);
    });
  }

  it('names every bad line at once, with the file line when known', () => {
    const error = compileError('^/ok\n(?=x)\n^/fine\n(a)\\1\n', {
      file: 'outpost.yaml',
      fileLines: [10, 11, 12, 13],
    });
    assert.equal(error.problems.length, 2);
    assert.match(error.problems[0] ?? '', /^outpost\.yaml:11: skip_path_regex line 2: "\(\?=x\)"/);
    assert.match(error.problems[1] ?? '', /^outpost\.yaml:13: skip_path_regex line 4: /);
    assert.match(error.message, /2 rules that cannot be used/);
    assert.match(error.hint ?? '', /RE2/);
  });

  it('refuses a list item that holds a line break', () => {
    const error = compileError(['^/a', '^/b\n^/c']);
    assert.match(error.problems[0] ?? '', /line 2: holds a line break/);
  });
});

describe("authentik's published cases", () => {
  it('path mode tests the path of http://some-host/foo', () => {
    const subject = subjectForUrl('proxy', 'http://some-host/foo');
    assert.ok(subject.ok);
    assert.equal(subject.subject, '/foo');
    assert.deepEqual(compile('^/foo').match(subject.subject), { rule: '^/foo', line: 1 });
  });

  const domainCases: [string, string, boolean][] = [
    ['^/foo', 'http://some-host/foo', false],
    ['^http://some-host/foo', 'http://some-host/foo', true],
    ['https://health.domain.tld/ping/*', 'https://health.domain.tld/ping/qq', true],
    ['https://health.domain.tld/ping/*', 'https://health.domain.tld/', false],
  ];
  for (const [rule, url, expected] of domainCases) {
    it(`domain mode: ${rule} ${expected ? 'matches' : 'does not match'} ${url}`, () => {
      const subject = subjectForUrl('forward_domain', url);
      assert.ok(subject.ok);
      assert.equal(compile(rule, 'forward_domain').match(subject.subject) !== null, expected);
    });
  }
});

describe('matching', () => {
  it('is an unanchored search', () => {
    assert.deepEqual(compile('health').match('/api/health/x'), { rule: 'health', line: 1 });
  });

  it('gives the first matching rule, not the best one', () => {
    const paths = compile('^/api/\n^/api/health$\n^/');
    assert.deepEqual(paths.match('/api/health'), { rule: '^/api/', line: 1 });
    assert.deepEqual(paths.match('/other'), { rule: '^/', line: 3 });
  });

  it('numbers lines as written, blank lines included', () => {
    const paths = compile('^/a\n\n^/b\r\n');
    assert.deepEqual(paths.rules, [
      { rule: '^/a', line: 1 },
      { rule: '^/b', line: 3 },
    ]);
    assert.deepEqual(paths.match('/b'), { rule: '^/b', line: 3 });
  });

  it('takes a YAML list, one rule per item', () => {
    const paths = compile(['^/a$', '', '^/b$']);
    assert.deepEqual(paths.match('/b'), { rule: '^/b$', line: 3 });
    assert.equal(paths.match('/c'), null);
  });

  it('removes a trailing \\r so that $ still matches', () => {
    assert.deepEqual(compile('^/a$\r\n^/b$\r\n').match('/a'), { rule: '^/a$', line: 1 });
  });

  it('ignores a blank line instead of making everything public', () => {
    const { paths, warnings } = compileUnauthenticatedPaths('^/a$\n\n   \n^/b$');
    assert.equal(paths.match('/admin'), null);
    assert.deepEqual(
      warnings.map((warning) => warning.line),
      [2, 3],
    );
  });

  it('matches nothing without rules', () => {
    assert.equal(compile('').match('/'), null);
    assert.equal(compile([]).match('/'), null);
  });

  it('explains every rule with what it matched', () => {
    const paths = compile('^/api/\n^/static/\nhealth');
    assert.deepEqual(paths.explain('/api/health'), [
      { rule: '^/api/', line: 1, matches: true, matched: '/api/' },
      { rule: '^/static/', line: 2, matches: false, matched: null },
      { rule: 'health', line: 3, matches: true, matched: 'health' },
    ]);
  });

  it('decides as one rule at a time would (the set and the single patterns agree)', () => {
    const pool = [
      '^/api/',
      'health$',
      '(?i)^/STATIC/',
      '\\.js$',
      '^/[a-z]+/[0-9]+$',
      '^/a|b$',
      '\\bx\\b',
      '^/$',
      '(?s)a.b',
      '[[:digit:]]{2,}',
      '(?m)^/x',
      '\\A/a',
      '(^/a|^/b)',
    ];
    const subjects = fc.stringMatching(/^\/[a-zA-Z0-9/.\-_ ]{0,20}$/);
    fc.assert(
      fc.property(fc.subarray(pool, { minLength: 1 }), subjects, (rules, subject) => {
        const expected = rules.findIndex((rule) => RE2JS.compile(rule).test(subject));
        const match = compile(rules).match(subject);
        assert.equal(match === null ? -1 : match.line - 1, expected);
      }),
      { numRuns: 300 },
    );
  });
});
