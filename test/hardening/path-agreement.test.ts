import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';

import { decidePaths, type PathDecision } from '../../src/core/paths/path-decisions.js';
import { compileUnauthenticatedPaths } from '../../src/core/paths/unauthenticated-paths.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { request } from '../helpers/http-client.js';
import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { exchangeRaw, rawGet } from './raw-http.js';

/** Rules that exercise case folding, anchors, dots, encoded spaces and per-segment classes. */
const RULES = [
  '^/public/',
  '^/static/[^/]+\\.js$',
  '(?i)^/api/health$',
  '\\.css$',
  '^/files/[^/]*/raw$',
  '^/docs/read me$',
];
const PROXY_YAML = (upstream: string) =>
  [`internal_host: ${upstream}`, 'skip_path_regex:', ...RULES.map((r) => `  - '${r}'`), ''].join(
    '\n',
  );

/** Plain segments, which the rules are about, and what attackers and confused clients send. */
const PLAIN = ['public', 'static', 'admin', 'api', 'API', 'health', 'Health', 'files', 'raw'];
const MORE_PLAIN = ['docs', 'read%20me', 'app.js', 'a.css', 'x', '', '.', '..', '~', '@', '!'];
// one per space: dot tricks, escapes of separators and controls, overlong and broken escapes
const TRICKY = (
  '... .%2e %2e %2E %2e%2e %2f %2F %5c %3b %23 %3f %00 %25 %252e %41 %7e %c3%a9 %ff %C0%AE % ' +
  '%z1 ..; ;x \\ # : * %20 .%20'
).split(' ');
const QUERY_PARTS = ['a=1', '/public/', '%2f', '#', '?', '&', '%', 'x', '..', '%23', ''];
const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...PLAIN, ...MORE_PLAIN) },
  { weight: 1, arbitrary: fc.constantFrom(...TRICKY) },
);

/** `arbitrary`'s value once in `times` runs, else undefined. */
function rarely<T>(arbitrary: fc.Arbitrary<T>, times: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { weight: times - 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary },
  );
}

type Verdict = 'public' | 'protected' | 'refused';

const target = fc
  .tuple(
    fc.constantFrom('public', 'static', 'files', 'docs', 'api', 'API', 'admin'),
    fc.array(segment, { maxLength: 4 }),
    rarely(fc.array(fc.constantFrom(...QUERY_PARTS), { maxLength: 3 }), 3),
    rarely(fc.constantFrom('#/public/', '#', '#x'), 8),
  )
  .map(([first, segments, query, fragment]) => {
    const path = `/${[first, ...segments].join('/')}`;
    return `${path}${query === undefined ? '' : `?${query.join('')}`}${fragment ?? ''}`;
  });

/** A rule's prefix, then printable ASCII without space: any byte a request line may carry. */
const anyTarget = fc
  .tuple(
    fc.constantFrom('/public/', '/static/', '/api/', '/files/', '/docs/', '/'),
    fc.string({
      unit: fc.constantFrom(...'abjs/._-~%2Ee5cfF;#?&=\\@:!*09A'.split('')),
      maxLength: 20,
    }),
  )
  .map(([prefix, rest]) => `${prefix}${rest}`);

function verdictOf(decision: PathDecision): Verdict {
  if (decision.refused !== null) return 'refused';
  return decision.public ? 'public' : 'protected';
}

describe('serve and test-path take the same decision for every path', () => {
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;
  const paths = compileUnauthenticatedPaths(RULES, { mode: 'proxy' }).paths;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({ yaml: PROXY_YAML(upstream.url) });
  });
  after(async () => {
    await outpost.close();
    await upstream.close();
  });

  /** What serve did with one raw request target, and what the app received for it. */
  async function serveVerdict(raw: string): Promise<{ verdict: Verdict; forwarded?: string }> {
    const before = upstream.received.length;
    const { statuses, text } = await exchangeRaw(outpost.httpUrl, rawGet(raw));
    const status = statuses[0];
    const reached = upstream.received.slice(before);
    if (status === 200 && reached.length === 1)
      return { verdict: 'public', forwarded: reached[0]!.url };
    assert.equal(reached.length, 0, `the app received ${raw} although serve answered ${status}`);
    if (status === 302 && /\r\nLocation: [^\r]*\/outpost\.goauthentik\.io\/start/i.test(text))
      return { verdict: 'protected' };
    assert.equal(status, 400, `unexpected answer to ${raw}:\n${text.slice(0, 300)}`);
    // outpost's own refusal comes as a page; Node's parser refusal would have no body
    assert.match(text, /text\/html/, `${raw} was refused by the HTTP parser, not by outpost`);
    return { verdict: 'refused' };
  }

  async function agree(raw: string): Promise<void> {
    const [decision] = decidePaths(paths, [raw], { mode: 'proxy', baseUrl: 'http://localhost' });
    const served = await serveVerdict(raw);
    assert.equal(served.verdict, verdictOf(decision!), `verdicts differ for ${raw}`);
    if (served.forwarded !== undefined) assert.equal(served.forwarded, decision!.forwarded, raw);
  }

  it('for paths built from dots, escapes and separators', async () => {
    await fc.assert(fc.asyncProperty(target, agree), { numRuns: 150 });
  });

  it('for any short printable target', async () => {
    await fc.assert(fc.asyncProperty(anyTarget, agree), { numRuns: 150 });
  });

  it('including the known probes, as the built CLI reports them', async () => {
    const sample = [
      '/public/../admin',
      '/public/%2e%2e/admin',
      '/public%2f..%2fadmin',
      '/public/..;/admin',
      '//public/x',
      '/API/HEALTH',
      '/docs/read%20me',
      '/static/a/b.js',
      '/x/y.css?z',
      ...fc.sample(target, { numRuns: 25, seed: 8 }),
    ];
    const cli = isolatedEnv();
    try {
      const rules = RULES.flatMap((rule) => ['--rule', rule]);
      const result = await runCli(['test-path', '-', ...rules, '--json'], {
        cwd: cli.dir,
        env: cli.env,
        input: sample.join('\n'),
      });
      const reported = JSON.parse(result.stdout).results as PathDecision[];
      assert.equal(reported.length, sample.length, result.stderr);
      for (const [index, raw] of sample.entries()) {
        const served = await serveVerdict(raw);
        assert.equal(served.verdict, verdictOf(reported[index]!), `CLI and serve differ on ${raw}`);
      }
    } finally {
      cli.cleanup();
    }
  });

  it('keeps serving normal requests afterwards', async () => {
    assert.equal((await request(`${outpost.httpUrl}/public/ok`)).status, 200);
  });
});

/** Domain-mode rules see the whole URL: scheme, host (port), path and query. */
const DOMAIN_RULES = [
  '^https?://public\\.example\\.test/',
  '^https://app\\.example\\.test/static/',
  '(?i)^https://app\\.example\\.test/api/health$',
  '\\?preview=1$',
  '^http://app\\.example\\.test:8080/',
];
const HOSTS = [
  'app.example.test',
  'APP.Example.test',
  'public.example.test',
  'app.example.test:443',
  'app.example.test:80',
  'app.example.test:8080',
  'public.example.test.evil.test',
  'evil.test',
];

const url = fc
  .tuple(fc.constantFrom('http', 'https', 'HTTPS'), fc.constantFrom(...HOSTS), target)
  .map(([scheme, host, rest]) => `${scheme}://${host}${rest.replace('?', '?preview=1&')}`);

describe('forward_domain: the auth endpoint and test-path agree for every URL', () => {
  let outpost: TestOutpost;
  const external = 'https://auth.example.test';
  const paths = compileUnauthenticatedPaths(DOMAIN_RULES, { mode: 'forward_domain' }).paths;

  before(async () => {
    outpost = await startTestOutpost({
      yaml: [
        'mode: forward_domain',
        `external_host: ${external}`,
        'cookie_domain: example.test',
        'skip_path_regex:',
        ...DOMAIN_RULES.map((rule) => `  - '${rule}'`),
        '',
      ].join('\n'),
    });
  });
  after(() => outpost.close());

  async function agree(original: string): Promise<void> {
    const [decision] = decidePaths(paths, [original], {
      mode: 'forward_domain',
      baseUrl: external,
    });
    const res = await request(`${outpost.httpUrl}/outpost.goauthentik.io/auth/nginx`, {
      headers: { 'x-original-url': original },
    });
    const verdict = { 200: 'public', 401: 'protected', 400: 'refused' }[res.status];
    assert.ok(verdict, `answer ${res.status} to ${original}: ${res.body}`);
    assert.equal(verdict, verdictOf(decision!), `verdicts differ for ${original}`);
  }

  it('for URLs on the app, a public host, other ports and look-alike hosts', async () => {
    await fc.assert(fc.asyncProperty(url, agree), { numRuns: 150 });
  });
});
