import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'run.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let home: string;

/** Runs the built CLI in its own home and working directory, with no OUTPOST_* from outside. */
function outpost(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    OUTPOST_STATE_DIR: join(home, 'state'),
    ...options.env,
  };
  const child = spawn(process.execPath, [BIN, 'test-path', ...args], { cwd: home, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.stdin ?? '');
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

async function writeConfig(text: string): Promise<void> {
  await writeFile(join(home, 'outpost.yaml'), text);
}

function json(run: Run) {
  return JSON.parse(run.stdout) as {
    results: Record<string, unknown>[];
    warnings: { line: number | null; rule: string | null; message: string }[];
  };
}

describe('outpost test-path (the built CLI)', () => {
  before(async () => {
    assert.ok(
      existsSync(join(ROOT, 'dist', 'commands', 'test-path.js')),
      'build first: npm run build',
    );
    home = await mkdtemp(join(tmpdir(), 'outpost-test-path-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('exits 0 when every input is public, naming the rule', async () => {
    const run = await outpost(['/api/health', '--rule', '^/api/health$']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /public\s+\/api\/health\s+rule \^\/api\/health\$ \(line 1\)/);
  });

  it('exits 1 when any input is protected', async () => {
    const run = await outpost(['/api/health', '/admin', '--rule', '^/api/health$']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /protected\s+\/admin\s+no rule matched/);
  });

  it('prints the --json shape', async () => {
    const run = await outpost(['/x/y?z', '/q', '--rule', '^/y', '--rule', '^/x/', '--json']);
    assert.equal(run.code, 1);
    assert.deepEqual(json(run), {
      results: [
        { input: '/x/y?z', subject: '/x/y', public: true, rule: '^/x/', line: 2, refused: null },
        { input: '/q', subject: '/q', public: false, rule: null, line: null, refused: null },
      ],
      warnings: [],
    });
  });

  it('refuses or protects every classic probe', async () => {
    const probes = [
      '/public/../admin',
      '/public/%2e%2e/admin',
      '/public%2f..%2fadmin',
      '/public/..;/admin',
      '//admin',
      '/public/%2E%2E/admin',
      '/admin#/public',
      '/admin?x=/public/',
    ];
    const run = await outpost([...probes, '--rule', '^/public/', '--json']);
    assert.equal(run.code, 1);
    const { results } = json(run);
    assert.deepEqual(
      results.map((result) => result.input),
      probes,
    );
    for (const result of results) {
      assert.equal(result.public, false, JSON.stringify(result));
      assert.ok(result.subject === null || !String(result.subject).startsWith('/public/'));
    }
    assert.equal(results[0]?.subject, '/admin');
    assert.match(String(results[2]?.refused), /encoded \//);
  });

  it('reads one input per line from stdin with -', async () => {
    const stdin = '/public/a\r\n\n# a comment\n/public/b\n';
    const run = await outpost(['-', '--rule', '^/public/', '--json'], { stdin });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      json(run).results.map((result) => [result.input, result.public]),
      [
        ['/public/a', true],
        ['/public/b', true],
      ],
    );
  });

  it('explains every rule and the string it saw', async () => {
    const run = await outpost([
      '/public/../api/health',
      '--explain',
      '--rule',
      '^/public/',
      '--rule',
      'health',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /subject\s+\/api\/health/);
    assert.match(run.stdout, /line 1\s+\^\/public\/\s+no match/);
    assert.match(run.stdout, /line 2\s+health\s+matches "health"/);
    assert.match(run.stdout, /public: rule health \(line 2\)/);
  });

  it('adds every verdict and the forwarded path to --json with --explain', async () => {
    const run = await outpost(['/a/./b', '--explain', '--json', '--rule', '^/a/b$']);
    assert.deepEqual(json(run).results[0], {
      input: '/a/./b',
      subject: '/a/b',
      public: true,
      rule: '^/a/b$',
      line: 1,
      refused: null,
      forwarded: '/a/b',
      verdicts: [{ rule: '^/a/b$', line: 1, matches: true, matched: '/a/b' }],
    });
  });

  it('reads rules and mode from the config, and a bare path is relative to external_host', async () => {
    await writeConfig(
      [
        'mode: forward_domain',
        'external_host: https://app.localhost:9443',
        'skip_path_regex: |',
        '  ^https://app\\.localhost:9443/public/',
        '',
      ].join('\n'),
    );
    try {
      const run = await outpost([
        '/public/x',
        'https://APP.localhost:9443/admin?/public/',
        '--json',
      ]);
      assert.equal(run.code, 1, run.stderr);
      const [first, second] = json(run).results;
      assert.equal(first?.subject, 'https://app.localhost:9443/public/x');
      assert.equal(first?.public, true);
      assert.equal(second?.subject, 'https://app.localhost:9443/admin?/public/');
      assert.equal(second?.public, false);
    } finally {
      await rm(join(home, 'outpost.yaml'));
    }
  });

  it('exits 2 for a config rule that does not compile, naming its line', async () => {
    await writeConfig(
      ['name: app', 'skip_path_regex: |', '  ^/ok$', '  ^/(?!admin)', ''].join('\n'),
    );
    try {
      const run = await outpost(['/ok']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /outpost\.yaml:4: skip_path_regex line 2: "\^\/\(\?!admin\)"/);
      assert.match(run.stderr, /look-ahead/);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      await rm(join(home, 'outpost.yaml'));
    }
  });

  it('exits 2 for a --rule that does not compile', async () => {
    const run = await outpost(['/x', '--rule', '^/x', '--rule', '(a)\\1']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--rule line 2: .*back-references/);
  });

  it('warns on stderr and in --json, stdout staying JSON', async () => {
    const run = await outpost(['/x', '--rule', 'x', '--rule', '', '--json']);
    assert.equal(run.code, 0);
    assert.deepEqual(
      json(run).warnings.map(({ line, rule }) => [line, rule]),
      [
        [1, 'x'],
        [2, ''],
      ],
    );
    assert.match(run.stderr, /Warning: --rule line 1: x: has no leading \^/);
    assert.match(run.stderr, /Warning: --rule line 2: blank line ignored/);
  });

  it('without a config or --rule, protects everything and says so', async () => {
    const run = await outpost(['/', '--json']);
    assert.equal(run.code, 1);
    assert.equal(json(run).results[0]?.public, false);
    assert.match(run.stderr, /no config file was found .* every path needs a session/);
  });

  it('exits 2 for bad usage and a missing --config', async () => {
    assert.equal((await outpost([])).code, 2);
    assert.equal((await outpost(['/x', '--mode', 'nonsense'])).code, 2);
    const missing = await outpost(['/x', '--config', 'missing.yaml']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing\.yaml does not exist/);
  });

  it('uses no colour when the output is not a terminal, and none with NO_COLOR', async () => {
    const plain = await outpost(['/x', '/y', '--rule', '^/x', '--rule', 'y']);
    const forced = await outpost(['/x', '--rule', '^/x'], { env: { FORCE_COLOR: '1' } });
    const none = await outpost(['/x', '--rule', '^/x'], {
      env: { FORCE_COLOR: '1', NO_COLOR: '1' },
    });
    const ansi = '\u001b[';
    assert.ok(!(plain.stdout + plain.stderr).includes(ansi));
    assert.ok(forced.stdout.includes(ansi));
    assert.ok(!none.stdout.includes(ansi));
  });

  it('has help with examples', async () => {
    const child = await new Promise<Run>((done) => {
      const proc = spawn(process.execPath, [BIN, 'test-path', '--help'], {
        cwd: home,
        env: { PATH: process.env.PATH ?? '', HOME: home },
      });
      let stdout = '';
      proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      proc.on('close', (code) => done({ code, stdout, stderr: '' }));
    });
    assert.equal(child.code, 0);
    assert.match(child.stdout, /EXAMPLES/);
    assert.match(child.stdout, /--rule/);
    assert.match(child.stdout, /Exit status, like grep/);
  });
});
