import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { cgiVariable } from '../../src/core/headers/header-formats.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { assertSameToken, headersJson, runHeaders } from './support.js';

const run = promisify(execFile);
const ESC = '\u001b';

// values a shell would mangle if they were not quoted: quotes of both kinds, runs of spaces,
// $, backticks, a backslash, a glob, and text outside ASCII
const TRICKY = `it's "quoted"  twice $HOME \`id\` a\\b *`;

const YAML = `
basic_auth_enabled: true
basic_auth_user_attribute: user
basic_auth_password_attribute: pass
users:
  - username: quoter
    name: O'Brien "Bob"  Smith
    email: o'brien@example.com
    groups: [it's, "a \\"b\\""]
    attributes:
      user: foo
      pass: baz
      additionalHeaders:
        X-Tricky: '${TRICKY.replaceAll("'", "''")}'
        X-Name: Łukasz 李雷
  - username: plain
    groups: [foo, bar]
  - username: 李雷
    name: 李雷
    email: lilei@example.cn
`;

describe('outpost headers: every format says the same as --json', () => {
  let dir: string;
  let stateDir: string;
  let reference: Record<string, string>;
  let secret: string;
  const opts = () => ({ cwd: dir, stateDir });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-headers-'));
    stateDir = join(dir, 'state');
    writeFileSync(join(dir, 'outpost.yaml'), YAML);
    reference = (await headersJson(['--user', 'quoter'], opts())).headers;
    secret = readFileSync(join(stateDir, 'client-secret'), 'utf8').trim();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Every header but the freshly signed token equals the reference; the token says the same. */
  function assertMatchesReference(headers: Record<string, string>): void {
    const { 'X-Authentik-Jwt': token, ...rest } = headers;
    const { 'X-Authentik-Jwt': referenceToken, ...referenceRest } = reference;
    assert.deepEqual(rest, referenceRest);
    assertSameToken(token!, referenceToken!, secret);
  }

  it('--json has the documented shape, and --format json is the same', async () => {
    assert.equal(reference['X-Authentik-Name'], `O'Brien "Bob"  Smith`);
    assert.equal(reference['X-Tricky'], TRICKY);
    assert.equal(reference['X-Name'], 'Łukasz 李雷');
    assert.equal(reference.Authorization, 'Basic Zm9vOmJheg==');
    assert.equal(reference['X-Authentik-Groups'], `it's|a "b"`);
    const result = await runHeaders(['--user', 'quoter', '--format', 'json'], opts());
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(parsed), ['user', 'mode', 'headers']);
    assert.deepEqual([parsed.user, parsed.mode], ['quoter', 'proxy']);
    assertMatchesReference(parsed.headers);
  });

  it('table: one aligned line per header, empty values marked, no colour off a terminal', async () => {
    const result = await runHeaders(['--user', 'plain'], opts());
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.ok(!result.stdout.includes(ESC));
    const lines = result.stdout.trimEnd().split('\n');
    const json = (await headersJson(['--user', 'plain'], opts())).headers;
    assert.equal(lines.length, Object.keys(json).length);
    const valueColumn = lines[0]!.indexOf('plain');
    for (const [index, [name, value]] of Object.entries(json).entries()) {
      const line = lines[index]!;
      assert.ok(line.startsWith(`${name} `), line);
      if (name === 'X-Authentik-Jwt') continue;
      assert.equal(line.slice(valueColumn), value === '' ? '(empty)' : value, name);
    }
    assert.ok(lines.includes(`X-Authentik-Groups${' '.repeat(valueColumn - 18)}foo|bar`));
  });

  it('table: coloured on request (FORCE_COLOR), never in --json', async () => {
    const env = { FORCE_COLOR: '1', NO_COLOR: '' };
    const table = await runHeaders(['--user', 'plain'], { ...opts(), env });
    assert.ok(table.stdout.includes(`${ESC}[36mX-Authentik-Username`));
    const json = await runHeaders(['--user', 'plain', '--json'], { ...opts(), env });
    assert.ok(!json.stdout.includes(ESC));
    assert.equal(JSON.parse(json.stdout).user, 'plain');
  });

  it('http: "Name: value" lines as the app receives them', async () => {
    const result = await runHeaders(['--user', 'quoter', '--format', 'http'], opts());
    assert.equal(result.code, 0, result.stderr);
    const headers: Record<string, string> = {};
    for (const line of result.stdout.split('\n').filter(Boolean)) {
      const at = line.indexOf(': ');
      headers[line.slice(0, at)] = line.slice(at + 2);
    }
    assertMatchesReference(headers);
  });

  it('env: CGI variables that bash reads back exactly', async () => {
    const result = await runHeaders(['--user', 'quoter', '--format', 'env'], opts());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^HTTP_X_AUTHENTIK_USERNAME='quoter'$/m);
    const names = Object.keys(reference).map(cgiVariable);
    assert.deepEqual(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.slice(0, line.indexOf('='))),
      names,
    );
    // eval the printed lines in a clean bash and print each variable back, NUL-separated
    const script = 'eval "$1"; shift; for name in "$@"; do printf "%s\\0" "${!name}"; done';
    const { stdout } = await run('bash', ['-c', script, 'bash', result.stdout, ...names], {
      env: { PATH: process.env.PATH, HOME: '/nonexistent', LC_ALL: 'C.UTF-8' },
    });
    const values = stdout.split('\0').slice(0, -1);
    assertMatchesReference(
      Object.fromEntries(Object.keys(reference).map((n, i) => [n, values[i]!])),
    );
  });

  it('curl: -H arguments that bash splits into exactly the header lines', async () => {
    const result = await runHeaders(['--user', 'quoter', '--format', 'curl'], opts());
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.split('\n').length, 2, 'one line');
    const words = await shellWords(result.stdout);
    const headers: Record<string, string> = {};
    for (let i = 0; i < words.length; i += 2) {
      assert.equal(words[i], '-H');
      const line = words[i + 1]!;
      // curl's spelling of an empty value is `Name;`
      const empty = /^([^:;]+);$/.exec(line);
      const at = line.indexOf(': ');
      if (empty) headers[empty[1]!] = '';
      else headers[line.slice(0, at)] = line.slice(at + 2);
    }
    assert.ok(words.includes('X-Authentik-Entitlements;'));
    assertMatchesReference(headers);
  });

  it('all-users: headers down, users across, long values cut, absent ones marked', async () => {
    const result = await runHeaders(['--all-users'], opts());
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^\s+quoter\s+plain\s+李雷$/);
    const row = (name: string) => lines.find((line) => line.startsWith(`${name} `))!;
    assert.match(row('X-Authentik-Username'), /quoter\s+plain\s+李雷$/);
    assert.match(row('Authorization'), /Basic Zm9vOmJheg==\s+-\s+-$/);
    assert.match(row('X-Authentik-Entitlements'), /\(empty\)\s+\(empty\)\s+\(empty\)$/);
    assert.match(row('X-Authentik-Jwt'), /eyJ[\w-]+…/);
    // columns line up: each user's value starts where the heading names them, wide text counted twice
    const plainColumn = lines[0]!.indexOf('plain');
    assert.equal(row('X-Authentik-Username').indexOf('plain'), plainColumn);
    assert.ok(
      lines.every((line) => line === line.trimEnd()),
      'no trailing blanks',
    );
  });

  it('all-users --json lists every dev user in config order', async () => {
    const result = await runHeaders(['--all-users', '--json'], opts());
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(parsed), ['users']);
    assert.deepEqual(
      parsed.users.map((entry: { user: string }) => entry.user),
      ['quoter', 'plain', '李雷'],
    );
    assert.equal(parsed.users[2].headers['X-Authentik-Name'], '李雷');
  });

  it('all-users in a paste format: one block per user, headed by a comment', async () => {
    const result = await runHeaders(['--all-users', '--format', 'env'], opts());
    assert.equal(result.code, 0, result.stderr);
    const headings = result.stdout.split('\n').filter((line) => line.startsWith('# '));
    assert.deepEqual(headings, ['# quoter', '# plain', '# 李雷']);
  });

  it('an unknown user: exit 2, naming every known user, nothing on stdout', async () => {
    const result = await runHeaders(['--user', 'nobody'], opts());
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /no dev user "nobody"/);
    assert.match(result.stderr, /known users: quoter, plain, 李雷/);
  });

  it('bad usage: exit 2 for --json with another format, a bad --host, --user with --all-users', async () => {
    for (const args of [
      ['--json', '--format', 'curl'],
      ['--host', 'not a host/'],
      ['--host', 'https://localhost/path'],
      ['--user', 'plain', '--all-users'],
    ]) {
      const result = await runHeaders(args, opts());
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stdout, '');
    }
  });

  it('--help documents every flag and format with examples', async () => {
    const result = await runHeaders(['--help'], opts());
    assert.equal(result.code, 0);
    for (const text of [
      '--user',
      '--all-users',
      '--format',
      '--mode',
      '--host',
      '--show-secrets',
      '--json',
      'X-Forwarded-Host',
      'EXAMPLES',
    ]) {
      assert.ok(result.stdout.includes(text), text);
    }
  });
});

describe('outpost headers --format curl: curl sends exactly the headers serve would', () => {
  let upstream: RecordingUpstream;
  let dir: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    dir = mkdtempSync(join(tmpdir(), 'outpost-headers-'));
    writeFileSync(join(dir, 'outpost.yaml'), YAML);
  });
  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('for a user with quotes, spaces, an empty header and text outside ASCII', async (t) => {
    const curl = await run('curl', ['--version']).catch(() => null);
    if (!curl) return t.skip('curl is not installed');
    const stateDir = join(dir, 'state');
    const printed = await runHeaders(['--user', 'quoter', '--format', 'curl'], {
      cwd: dir,
      stateDir,
    });
    assert.equal(printed.code, 0, printed.stderr);
    const reference = (await headersJson(['--user', 'quoter'], { cwd: dir, stateDir })).headers;

    const script = 'eval "curl -sS --fail $1 \\"\\$2\\"" >/dev/null';
    await run('bash', ['-c', script, 'bash', printed.stdout.trim(), `${upstream.url}/`]);
    const arrived = upstream.last().headers;
    const ours = new Set(Object.keys(reference));
    const received = Object.fromEntries(arrived.filter(([name]) => ours.has(name)));
    const { 'X-Authentik-Jwt': token, ...rest } = received;
    const { 'X-Authentik-Jwt': referenceToken, ...referenceRest } = reference;
    assert.deepEqual(rest, referenceRest);
    assert.equal(received['X-Authentik-Entitlements'], '');
    const secret = readFileSync(join(stateDir, 'client-secret'), 'utf8').trim();
    assertSameToken(token!, referenceToken!, secret);
  });
});

/** How bash splits a line into words (quotes removed), read back NUL-separated. */
async function shellWords(line: string): Promise<string[]> {
  const script = 'eval "set -- $1"; for word in "$@"; do printf "%s\\0" "$word"; done';
  const { stdout } = await run('bash', ['-c', script, 'bash', line]);
  return stdout.split('\0').slice(0, -1);
}
