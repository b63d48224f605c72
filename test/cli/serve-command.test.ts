import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { isolatedEnv, runCli, startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { request } from '../helpers/http-client.js';
import { until } from '../helpers/until.js';

describe('outpost serve, the built CLI', () => {
  const sandbox = isolatedEnv();
  after(() => sandbox.cleanup());

  it('starts with no config, shows akadmin on the echo app, logs one line, and exits 0 on SIGTERM', async () => {
    const [port, httpsPort] = [await freePort(), await freePort()];
    const serve = await startCli(
      ['serve', '--port', String(port), '--https-port', String(httpsPort)],
      {
        cwd: sandbox.dir,
        env: sandbox.env,
        ready: /sign-in: dev users akadmin/,
      },
    );
    try {
      const signIn = await request(
        `http://127.0.0.1:${port}/outpost.goauthentik.io/start?user=akadmin`,
      );
      const cookie = signIn.headers['set-cookie']![0]!.split(';')[0]!;
      const echo = await request(`http://127.0.0.1:${port}/hello`, {
        headers: { cookie, accept: 'application/json' },
      });
      const report = JSON.parse(echo.body) as { headers: [string, string][] };
      const headers = Object.fromEntries(report.headers);
      assert.equal(headers['X-Authentik-Username'], 'akadmin');
      assert.equal(headers['X-Authentik-Name'], 'authentik Default Admin');
      assert.equal(headers['X-Authentik-Email'], 'root@localhost');
      assert.equal(headers['X-Authentik-Groups'], 'authentik Admins');
      await until('the access log line', () =>
        /GET \/hello 200 akadmin/.test(serve.output()) ? true : undefined,
      );
      assert.doesNotMatch(
        serve.output(),
        new RegExp(cookie.split('=')[1]!),
        'the cookie is never printed',
      );
    } finally {
      serve.child.kill('SIGTERM');
    }
    assert.equal(await serve.exited, 0);
  });

  it('says which port is in use and how to change it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(['serve', '--port', String(port), '--https-port', '0'], {
        cwd: sandbox.dir,
        env: sandbox.env,
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.match(result.stderr, /--port/);
      assert.doesNotMatch(result.stderr, /at .*\.js:\d+/, 'no stack trace');
    } finally {
      blocker.close();
    }
  });

  it('refuses an unknown --user, listing the known users', async () => {
    const result = await runCli(['serve', '--user', 'carol', '--port', '0', '--https-port', '0'], {
      cwd: sandbox.dir,
      env: sandbox.env,
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /there is no dev user "carol"/);
    assert.match(result.stderr, /known users: akadmin/);
  });

  it('reports every config problem at once with file, line, key and value, before listening', async () => {
    const dir = isolatedEnv();
    try {
      writeFileSync(
        join(dir.dir, 'outpost.yaml'),
        [
          'mode: proxi',
          'port: 99999',
          'skip_path_regexp: x',
          'users:',
          '  - username: bob',
          '    groups: nope',
          '',
        ].join('\n'),
      );
      const result = await runCli(['serve'], { cwd: dir.dir, env: dir.env });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /outpost\.yaml has 4 problems/);
      assert.match(
        result.stderr,
        /outpost\.yaml:1: mode: "proxi": is not a mode: use proxy, forward_single or forward_domain/,
      );
      assert.match(result.stderr, /outpost\.yaml:2: port: 99999: is not a port/);
      assert.match(
        result.stderr,
        /outpost\.yaml:3: skip_path_regexp: is not a known key: did you mean `skip_path_regex`\?/,
      );
      assert.match(result.stderr, /outpost\.yaml:6: users\[0\]\.groups: "nope": is not a list/);
    } finally {
      dir.cleanup();
    }
  });

  it('stops with the line and reason of a rule that does not compile', async () => {
    const dir = isolatedEnv();
    try {
      writeFileSync(join(dir.dir, 'outpost.yaml'), 'skip_path_regex: |\n  ^/ok$\n  ^/(?=bad)\n');
      const result = await runCli(['serve', '--port', '0', '--https-port', '0'], {
        cwd: dir.dir,
        env: dir.env,
      });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /line 2/);
      assert.doesNotMatch(result.stdout, /sign-in:/, 'nothing listened');
    } finally {
      dir.cleanup();
    }
  });

  it('takes flags over environment over the file', async () => {
    const dir = isolatedEnv({ OUTPOST_PORT: 'not-a-port' });
    try {
      const result = await runCli(['serve'], { cwd: dir.dir, env: dir.env });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /OUTPOST_PORT: "not-a-port": is not a port/);
    } finally {
      dir.cleanup();
    }
  });

  it('has help with examples', async () => {
    const result = await runCli(['serve', '--help'], { cwd: sandbox.dir, env: sandbox.env });
    assert.equal(result.code, 0);
    assert.match(result.stdout, /EXAMPLES/);
    assert.match(result.stdout, /--upstream/);
  });
});
