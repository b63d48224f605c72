import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { OutpostConfig } from '../../src/core/config/config.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { startOutpost, type OutpostHandle } from '../../src/core/proxy/outpost-server.js';
import { loadTlsMaterial, type TlsMaterial } from '../../src/core/tls/certificate.js';
import { request } from '../helpers/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { assertSameHeaders, headersJson, runHeaders, VERSION } from './support.js';

// what the connection adds, not the user: the test client's Host and serve's per-request headers
const CONNECTION_HEADERS = ['host', 'connection', 'x-forwarded-for', 'x-forwarded-proto'];

const directoryYaml = (upstream: string) => `
name: headers-app
assigned_application_slug: headers-app
outpost_name: laptop
mode: proxy
external_host: https://app.localhost:9443
internal_host: ${upstream}
basic_auth_enabled: true
basic_auth_user_attribute: user
basic_auth_password_attribute: pass
groups:
  - name: staff
    attributes:
      additionalHeaders:
        X-Role: staff
        X-Team: platform
  - name: admins
    parent: staff
    attributes:
      additionalHeaders:
        X-Role: admin
        X-Authentik-Name: set by a group
  - name: auditors
    parent: admins
users:
  - username: alice
    name: Alice Example
    email: alice@example.com
    groups: [auditors, staff]
    entitlements: [billing, reports]
    attributes:
      additionalHeaders:
        X-Tenant: acme
        x-authentik-email: alice@tenant.example
        foo: bar
        X-Level: 3
        X-Beta: true
  - username: basic
    email: basic@example.com
    attributes: { user: foo, pass: baz }
  - username: mailonly
    email: mail@example.com
    attributes: { pass: "s3cret" }
  - username: lukasz
    name: Łukasz Żółkiewski
    email: łukasz@example.pl
    groups: [zespół]
  - username: 李雷
    name: 李雷
    email: lilei@example.cn
  - username: loner
  - username: foobar
    groups: [foo, bar]
  - username: quoter
    name: O'Brien "Bob"  Smith
    attributes:
      additionalHeaders:
        X-Quote: it's a "test" with $HOME, \`ticks\` and a \\ backslash
        X-Forwarded-Proto: gopher
`;

/** authentik's published values and SPEC section 4's rules, per user. */
const EXPECTED: Record<string, Record<string, string | undefined>> = {
  alice: {
    'X-Authentik-Groups': 'auditors|staff',
    'X-Authentik-Entitlements': 'billing|reports',
    'X-Authentik-Email': 'alice@tenant.example',
    'X-Authentik-Name': 'set by a group',
    'X-Role': 'staff',
    'X-Team': 'platform',
    Foo: 'bar',
    'X-Level': '3',
    'X-Beta': 'true',
    Authorization: undefined,
  },
  basic: { Authorization: 'Basic Zm9vOmJheg==', 'X-Authentik-Groups': '' },
  mailonly: {
    Authorization: `Basic ${Buffer.from('mail@example.com:s3cret').toString('base64')}`,
  },
  lukasz: { 'X-Authentik-Name': 'Łukasz Żółkiewski', 'X-Authentik-Groups': 'zespół' },
  李雷: { 'X-Authentik-Username': '李雷', 'X-Authentik-Name': '李雷' },
  loner: { 'X-Authentik-Groups': '', 'X-Authentik-Entitlements': '', 'X-Authentik-Email': '' },
  foobar: { 'X-Authentik-Groups': 'foo|bar' },
  quoter: {
    'X-Authentik-Name': `O'Brien "Bob"  Smith`,
    'X-Quote': 'it\'s a "test" with $HOME, `ticks` and a \\ backslash',
    'X-Forwarded-Proto': undefined,
  },
};

describe('outpost headers --json equals what the app behind serve receives', () => {
  let upstream: RecordingUpstream;
  let dir: string;
  let stateDir: string;
  let config: OutpostConfig;

  before(async () => {
    upstream = await startRecordingUpstream();
    dir = mkdtempSync(join(tmpdir(), 'outpost-headers-'));
    stateDir = join(dir, 'state');
    writeFileSync(join(dir, 'outpost.yaml'), directoryYaml(upstream.url));
    config = await loadConfig({ cwd: dir, env: {}, flags: { port: 0, https_port: 0 } });
  });
  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [username, expected] of Object.entries(EXPECTED)) {
    it(`for ${username}`, async () => {
      const outpost = await startProxy(config, stateDir, username);
      try {
        const answer = await request(`${outpost.httpUrl}/some/page?x=1`, {
          headers: { host: 'app.localhost:9443' },
        });
        assert.equal(answer.status, 200, answer.body);
        const arrived = upstream.last();
        const cli = await headersJson(['--user', username], { cwd: dir, stateDir });

        assert.deepEqual([cli.user, cli.mode], [username, 'proxy']);
        assertSameHeaders(
          cli.headers,
          arrived.headers,
          CONNECTION_HEADERS,
          outpost.context.clientSecret,
        );
        assert.equal(cli.headers['X-Forwarded-Host'], 'app.localhost:9443');
        assert.equal(cli.headers['X-Authentik-Username'], username);
        assert.equal(
          cli.headers['X-Authentik-Meta-Jwks'],
          'https://app.localhost:9443/application/o/headers-app/jwks/',
        );
        for (const [name, value] of Object.entries(expected)) {
          assert.equal(cli.headers[name], value, name);
        }
      } finally {
        await outpost.close();
      }
    });
  }

  it('warns, naming user, key and why, about attribute headers that do not arrive as written', async () => {
    const result = await runHeaders(['--user', 'quoter', '--json'], { cwd: dir, stateDir });
    assert.equal(result.code, 0);
    assert.match(
      result.stderr,
      /quoter: additionalHeaders\.X-Forwarded-Proto: is replaced by serve with the connection's value/,
    );
    assert.equal(JSON.parse(result.stdout).user, 'quoter');
  });
});

describe('outpost headers without external_host: the origin a browser on the HTTPS port uses', () => {
  let upstream: RecordingUpstream;
  let dir: string;
  let stateDir: string;
  let config: OutpostConfig;
  let tls: TlsMaterial;

  before(async () => {
    upstream = await startRecordingUpstream();
    dir = mkdtempSync(join(tmpdir(), 'outpost-headers-'));
    stateDir = join(dir, 'state');
    writeFileSync(
      join(dir, 'outpost.yaml'),
      `internal_host: ${upstream.url}\nusers:\n  - username: first\n    groups: [a, b]\n  - username: second\n`,
    );
    config = await loadConfig({ cwd: dir, env: {}, flags: { port: 0, https_port: 0 } });
    tls = await loadTlsMaterial({ stateDir, cert: null, key: null });
  });
  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: { title: string; args: string[]; host: string; https: boolean }[] = [
    {
      title: 'no --user: the first dev user at https://localhost:9443',
      args: [],
      host: 'localhost:9443',
      https: true,
    },
    {
      title: '--host names the Host and so the origin',
      args: ['--host', 'localhost:8443'],
      host: 'localhost:8443',
      https: true,
    },
    {
      title: '--host as a URL also gives the scheme',
      args: ['--host', 'http://localhost:9000'],
      host: 'localhost:9000',
      https: false,
    },
  ];
  for (const { title, args, host, https } of cases) {
    it(title, async () => {
      const outpost = await startProxy(config, stateDir, 'first', tls);
      try {
        const base = https ? outpost.httpsUrl! : outpost.httpUrl;
        const answer = await request(`${base}/`, { headers: { host }, ca: tls.cert });
        assert.equal(answer.status, 200, answer.body);
        const cli = await headersJson(args, { cwd: dir, stateDir });
        assert.equal(cli.user, 'first');
        assertSameHeaders(
          cli.headers,
          upstream.last().headers,
          CONNECTION_HEADERS,
          outpost.context.clientSecret,
        );
        const scheme = https ? 'https' : 'http';
        assert.equal(
          cli.headers['X-Authentik-Meta-Jwks'],
          `${scheme}://${host}/application/o/outpost/jwks/`,
        );
        assert.equal(cli.headers['X-Forwarded-Host'], host);
        assert.equal(cli.headers['X-Authentik-Groups'], 'a|b');
      } finally {
        await outpost.close();
      }
    });
  }
});

describe('outpost headers --mode forward_single equals the forward-auth answer', () => {
  it('gives the identity headers without X-Forwarded-Host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-headers-'));
    const stateDir = join(dir, 'state');
    writeFileSync(
      join(dir, 'outpost.yaml'),
      [
        'external_host: https://auth.localhost:9443',
        'users:',
        '  - username: alice',
        '    name: Łukasz',
        '    groups: [foo, bar]',
        '    attributes:',
        '      additionalHeaders: { foo: bar, X-Level: 3 }',
      ].join('\n'),
    );
    const config = await loadConfig({
      cwd: dir,
      env: {},
      flags: { port: 0, https_port: 0, mode: 'forward_single' },
    });
    const outpost = await startProxy(config, stateDir, 'alice');
    try {
      const answer = await rawGet(`${outpost.httpUrl}/outpost.goauthentik.io/auth/traefik`, {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'app.localhost:9443',
        'x-forwarded-uri': '/private',
      });
      assert.equal(answer.status, 200);
      const cli = await headersJson(['--mode', 'forward_single'], { cwd: dir, stateDir });
      assert.equal(cli.mode, 'forward_single');
      assert.equal(cli.headers['X-Forwarded-Host'], undefined);
      assert.equal(cli.headers['X-Authentik-Groups'], 'foo|bar');
      assert.equal(cli.headers.Foo, 'bar');
      const arrived = answer.headers;
      const framing = ['date', 'connection', 'keep-alive', 'content-length', 'content-type'];
      // the request's own User-Agent, echoed as authentik's outpost does: not an identity header
      framing.push('user-agent');
      assertSameHeaders(cli.headers, arrived, framing, outpost.context.clientSecret);
    } finally {
      await outpost.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function startProxy(
  config: OutpostConfig,
  stateDir: string,
  presetUser: string,
  tls: TlsMaterial | null = null,
): Promise<OutpostHandle> {
  return startOutpost({ config, stateDir, version: VERSION, tls, presetUser, gracePeriod: 100 });
}

/** A GET whose answer keeps its header lines with their casing, values decoded as UTF-8. */
function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: [string, string][] }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          const value = Buffer.from(res.rawHeaders[i + 1]!, 'latin1').toString('utf8');
          pairs.push([res.rawHeaders[i]!, value]);
        }
        resolve({ status: res.statusCode ?? 0, headers: pairs });
      });
    });
    req.on('error', reject);
  });
}
