import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';

import { loadConfig } from '../../src/core/config/load-config.js';
import { isOutpostError, type OutpostError } from '../../src/core/errors.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function withFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'outpost.yaml'), yaml);
  return dir;
}

async function problemsOf(promise: Promise<unknown>): Promise<OutpostError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isOutpostError(error), String(error));
    return error;
  }
  throw new Error('expected the config to be refused');
}

describe('loadConfig', () => {
  it('runs with no file: akadmin, proxy mode, ports 9000/9443 on loopback', async () => {
    const config = await loadConfig({ cwd: withFile(''), env: {}, configPath: undefined });
    assert.equal(config.mode, 'proxy');
    assert.equal(config.port, 9000);
    assert.equal(config.https_port, 9443);
    assert.equal(config.host, '127.0.0.1');
    assert.deepEqual(
      config.users.map((user) => [user.username, user.name, user.email, user.groups]),
      [['akadmin', 'authentik Default Admin', 'root@localhost', ['authentik Admins']]],
    );
  });

  it('takes flags over environment over the file over defaults', async () => {
    const cwd = withFile('port: 1000\nhttps_port: 1001\nmode: forward_single\n');
    const config = await loadConfig({
      cwd,
      env: {
        OUTPOST_PORT: '2000',
        OUTPOST_HTTPS_PORT: '2001',
        OUTPOST_UPSTREAM: 'http://localhost:3000/',
      },
      flags: { port: 3000 },
    });
    assert.equal(config.port, 3000);
    assert.equal(config.https_port, 2001);
    assert.equal(config.mode, 'forward_single');
    assert.equal(config.internal_host, 'http://localhost:3000');
  });

  it('takes the timeouts in ms, client_header_timeout from the environment too', async () => {
    const defaults = await loadConfig({ cwd: withFile(''), env: {} });
    assert.deepEqual([defaults.upstream_timeout, defaults.client_header_timeout], [30_000, 20_000]);
    const cwd = withFile('client_header_timeout: 3000\n');
    const fromFile = await loadConfig({ cwd, env: {} });
    assert.equal(fromFile.client_header_timeout, 3000);
    const fromEnv = await loadConfig({ cwd, env: { OUTPOST_CLIENT_HEADER_TIMEOUT: '1500' } });
    assert.equal(fromEnv.client_header_timeout, 1500);
    const refused = await problemsOf(
      loadConfig({ cwd: withFile('client_header_timeout: 0\n'), env: {} }),
    );
    assert.match(refused.message, /client_header_timeout: 0: .*a timeout in ms/);
  });

  it('names the file as the culprit only when every problem is in it', async () => {
    const cwd = withFile('port: 99999\n');
    const fileOnly = await problemsOf(loadConfig({ cwd, env: {} }));
    assert.match(fileOnly.message, /^outpost\.yaml has 1 problem:/);
    const mixed = await problemsOf(loadConfig({ cwd, env: {}, flags: { https_port: 70000 } }));
    assert.match(mixed.message, /^the configuration has 2 problems:/);
    assert.match(mixed.message, /--https-port: 70000: /);
    assert.match(mixed.message, /outpost\.yaml:1: port: 99999: /);
    const oidc = await problemsOf(
      loadConfig({ cwd: withFile(''), env: { OUTPOST_OIDC_ISSUER: 'not a url' } }),
    );
    assert.match(oidc.message, /OUTPOST_OIDC_ISSUER: "not a url": /);
    assert.match(oidc.message, /OUTPOST_OIDC_ISSUER: oidc\.client_id: is missing/);
  });

  it("accepts authentik's timedelta form and pasted API keys", async () => {
    const cwd = withFile(
      'access_token_validity: "hours=1;minutes=30"\npk: 4\nauthorization_flow: abc\n',
    );
    const config = await loadConfig({ cwd, env: {} });
    assert.equal(config.access_token_validity, 5400);
    assert.equal(config.warnings.length, 2);
  });

  it('knows the file line of each rule, for a block string and for a list', async () => {
    const block = await loadConfig({
      cwd: withFile('name: x\nskip_path_regex: |\n  ^/a$\n  ^/b$\n'),
      env: {},
    });
    assert.deepEqual(block.skip_path_regex_lines, [3, 4, 5]);
    const list = await loadConfig({
      cwd: withFile('skip_path_regex:\n  - ^/a$\n  - ^/b$\n'),
      env: {},
    });
    assert.deepEqual(list.skip_path_regex_lines, [2, 3]);
  });

  it('refuses header values with CR, LF or NUL in usernames and attributes', async () => {
    const cwd = withFile(
      'users:\n  - username: "eve\\r\\nX-Admin: 1"\n  - username: ok\n    attributes:\n      additionalHeaders:\n        X-A: "a\\u0000b"\n',
    );
    const error = await problemsOf(loadConfig({ cwd, env: {} }));
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.equal(error.problems.length, 2);
    assert.match(error.problems[0]!, /users\[0\]\.username: .* contains U\+000D/);
    assert.match(error.problems[1]!, /additionalHeaders\.X-A: .* contains U\+0000/);
  });

  it('refuses additionalHeaders that would frame the message or replace the Host', async () => {
    const cwd = withFile(
      'users:\n  - username: a\n    attributes:\n      additionalHeaders:\n        Host: x\n        content-length: 5\n',
    );
    const error = await problemsOf(loadConfig({ cwd, env: {} }));
    assert.match(
      error.problems[0]!,
      /additionalHeaders\.Host: cannot be set by additionalHeaders: use host_header/,
    );
    assert.match(error.problems[1]!, /additionalHeaders\.content-length: .*it frames the message/);
  });

  it('refuses a parent that does not exist and loops of parents', async () => {
    const cwd = withFile(
      'groups:\n  - {name: a, parent: b}\n  - {name: b, parent: a}\n  - {name: c, parent: zz}\n',
    );
    const error = await problemsOf(loadConfig({ cwd, env: {} }));
    assert.equal(error.problems.length, 3);
    assert.ok(error.problems.some((line) => /names no group/.test(line)));
    assert.ok(error.problems.some((line) => /loop of parents/.test(line)));
  });

  it('never shows the client secret in an error', async () => {
    const cwd = withFile('client_secret: [s3cret-value]\n');
    const error = await problemsOf(loadConfig({ cwd, env: {} }));
    assert.doesNotMatch(error.message, /s3cret/);
  });

  it('reports a YAML syntax error with its line', async () => {
    const error = await problemsOf(loadConfig({ cwd: withFile('name: ok\nusers: [\n'), env: {} }));
    assert.match(error.problems[0]!, /^outpost\.yaml:\d+: /);
  });

  it('says when an explicit config file is missing', async () => {
    const error = await problemsOf(
      loadConfig({ cwd: withFile(''), env: {}, configPath: 'nope.yaml' }),
    );
    assert.equal(error.code, 'CONFIG_NOT_FOUND');
    assert.match(error.hint!, /outpost init/);
  });

  it('reads an oidc section, with environment over file', async () => {
    const cwd = withFile(
      'oidc:\n  issuer: https://auth.example.com/application/o/my-app/\n  client_id: abc\n',
    );
    const config = await loadConfig({ cwd, env: { OUTPOST_OIDC_CLIENT_ID: 'from-env' } });
    assert.deepEqual(config.oidc, {
      issuer: 'https://auth.example.com/application/o/my-app/',
      client_id: 'from-env',
    });
  });
});
