import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { loadConfig } from '../../src/core/config/load-config.js';
import { decidePaths } from '../../src/core/paths/path-decisions.js';
import { compileUnauthenticatedPaths } from '../../src/core/paths/unauthenticated-paths.js';
import { buildIdentityHeaders } from '../../src/core/headers/identity-headers.js';
import { IdentitySource } from '../../src/core/proxy/identity-source.js';
import { isolatedEnv, runCli, type CliResult } from '../helpers/cli.js';

const BIN = resolve(import.meta.dirname, '../../bin/run.js');

/**
 * Runs `outpost init` on a pseudo-terminal (util-linux `script`), typing each answer once its
 * question is on the screen, as a person would.
 */
function runOnTerminal(cwd: string, env: NodeJS.ProcessEnv, answers: string[]): Promise<CliResult> {
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} init`;
  return new Promise((done, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd, env });
    let output = '';
    let answered = 0;
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const asked = output.match(/\]: /g)?.length ?? 0;
      if (asked > answered && answered < answers.length) child.stdin.write(answers[answered++]!);
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout: output, stderr: '' }));
  });
}

describe('outpost init', () => {
  let sandbox: ReturnType<typeof isolatedEnv>;
  let project: string;

  beforeEach(() => {
    sandbox = isolatedEnv();
    project = join(sandbox.dir, 'shop-front');
    mkdirSync(project);
    const manifest = { name: '@acme/Shop Front', devDependencies: { vite: '^7.0.0' } };
    writeFileSync(join(project, 'package.json'), JSON.stringify(manifest));
  });
  afterEach(() => sandbox.cleanup());

  it('writes a commented file that loadConfig loads, with a public path and two users', async () => {
    const result = await runCli(['init', '--upstream', 'http://localhost:5173/'], {
      cwd: project,
      env: sandbox.env,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Wrote outpost\.yaml for Shop Front: http:\/\/localhost:5173/);
    const text = readFileSync(join(project, 'outpost.yaml'), 'utf8');
    assert.ok(text.split('\n').filter((line) => /^\s*#/.test(line)).length >= 20, 'commented');

    const config = await loadConfig({ cwd: project, env: {} });
    assert.equal(config.file, 'outpost.yaml');
    assert.deepEqual(config.warnings, []);
    assert.equal(config.internal_host, 'http://localhost:5173');
    assert.equal(config.name, 'shop-front');
    assert.equal(config.assigned_application_slug, 'shop-front');
    assert.equal(config.assigned_application_name, 'Shop Front');
    assert.deepEqual(
      config.users.map((user) => [user.username, user.groups]),
      [
        ['alice', ['admins']],
        ['bob', ['users']],
      ],
    );

    const { paths, warnings } = compileUnauthenticatedPaths(config.skip_path_regex);
    assert.deepEqual(warnings, []);
    const [health, admin] = decidePaths(paths, ['/api/health', '/admin'], {
      mode: config.mode,
      baseUrl: 'http://localhost:9000',
    });
    assert.equal(health?.public, true);
    assert.equal(admin?.public, false);

    const source = new IdentitySource(config, join(sandbox.dir, 'state'), '0.0.0-test');
    const headers = buildIdentityHeaders(
      source.devIdentity('alice', 'http://localhost:9000'),
      source.headerContext('http://localhost:9000'),
    );
    assert.equal(headers.get('X-Role'), 'admin', "the admins group's header");
    assert.equal(headers.get('X-Authentik-Groups'), 'admins');
  });

  it('never replaces a file without --force', async () => {
    const file = join(project, 'outpost.yaml');
    writeFileSync(file, 'name: mine\n');
    const refused = await runCli(['init', '--upstream', 'http://localhost:3000'], {
      cwd: project,
      env: sandbox.env,
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /outpost\.yaml already exists; it was left as it is/);
    assert.match(refused.stderr, /--force/);
    assert.equal(readFileSync(file, 'utf8'), 'name: mine\n');

    const forced = await runCli(['init', '--upstream', 'http://localhost:3000', '--force'], {
      cwd: project,
      env: sandbox.env,
    });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(file, 'utf8'), /^internal_host: http:\/\/localhost:3000$/m);
  });

  it('without a terminal and without --upstream, says how to pass it and writes nothing', async () => {
    const result = await runCli(['init'], { cwd: project, env: sandbox.env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /cannot ask for it here/);
    assert.match(result.stderr, /outpost init --upstream http:\/\/localhost:5173/, 'Vite guessed');
    assert.equal(existsSync(join(project, 'outpost.yaml')), false);
  });

  it('refuses an upstream that is not an http(s) URL, with the config rule', async () => {
    const result = await runCli(['init', '--upstream', 'ftp://files'], {
      cwd: project,
      env: sandbox.env,
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /"ftp:\/\/files" is not an http\(s\) URL/);
    assert.equal(existsSync(join(project, 'outpost.yaml')), false);
  });

  it('writes where --config or OUTPOST_CONFIG points, as serve will read it', async () => {
    const byFlag = await runCli(
      ['init', '--upstream', 'http://localhost:4000', '--config', 'dev.yaml', '--name', 'Shop'],
      { cwd: project, env: sandbox.env },
    );
    assert.equal(byFlag.code, 0, byFlag.stderr);
    const config = await loadConfig({ cwd: project, env: {}, configPath: 'dev.yaml' });
    assert.equal(config.assigned_application_name, 'Shop');

    const env = { ...sandbox.env, OUTPOST_CONFIG: 'other.yaml' };
    const byEnv = await runCli(['init', '--upstream', 'http://localhost:4001'], {
      cwd: project,
      env,
    });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    const other = await loadConfig({ cwd: project, env: { OUTPOST_CONFIG: 'other.yaml' } });
    assert.equal(other.internal_host, 'http://localhost:4001');
  });

  it('asks on a terminal, offering the usual URL of the framework, again after a bad answer', async () => {
    const result = await runOnTerminal(project, sandbox.env, ['localhost:5173\r', '\r']);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /Your app's URL \(Vite's usual\) \[http:\/\/localhost:5173\]: /);
    assert.match(result.stdout, /"localhost:5173" is not an http\(s\) URL/, 'refused, asked again');
    const config = await loadConfig({ cwd: project, env: {} });
    assert.equal(config.internal_host, 'http://localhost:5173', 'Enter took the offer');
  });

  it('stops on Ctrl-D at the question, writing nothing', async () => {
    const result = await runOnTerminal(project, sandbox.env, ['\x04']);
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stdout, /no app URL was given; nothing was written/);
    assert.equal(existsSync(join(project, 'outpost.yaml')), false);
  });
});
