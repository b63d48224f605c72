import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { OutpostConfig } from '../../src/core/config/config.js';
import { loadConfig } from '../../src/core/config/load-config.js';
import { isOutpostError } from '../../src/core/errors.js';
import {
  cgiVariable,
  displayWidth,
  formatHeaders,
  shellQuote,
} from '../../src/core/headers/header-formats.js';
import { buildHeaderReport, parseHostTarget } from '../../src/core/headers/header-report.js';
import type { Identity } from '../../src/core/identity/identity.js';

const REAL_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWFsIn0.real-provider-signature-0123456789';

/** What a real provider's login gives: attributes the config never validated. */
function providerIdentity(): Identity {
  return {
    sub: 'real-sub',
    preferred_username: 'rita',
    name: 'Rita Real',
    email: 'rita@example.com',
    groups: ['ops'],
    entitlements: [],
    user_attributes: {
      user: 'rita',
      pass: 'hunter2',
      additionalHeaders: {
        'X-Object': { nested: true },
        'X-List': ['a'],
        'X-Null': null,
        'Bad Name': 'x',
        'X-Lines': 'one\ntwo',
        'X-Fine': 'fine',
      },
    },
    is_superuser: false,
    access_token: REAL_TOKEN,
    source: 'oidc',
  };
}

describe('buildHeaderReport', () => {
  let dir: string;
  let config: OutpostConfig;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-report-'));
    writeFileSync(
      join(dir, 'outpost.yaml'),
      [
        'basic_auth_enabled: true',
        'basic_auth_user_attribute: user',
        'basic_auth_password_attribute: pass',
        'oidc: { issuer: "https://id.example.com/application/o/app/", client_id: app }',
        'users: [{ username: dev }]',
      ].join('\n'),
    );
    config = await loadConfig({ cwd: dir, env: {} });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = () => ({ config, stateDir: join(dir, 'state'), version: '9.9.9' });

  it("uses the logged-in identity, shortening a real provider's secrets", async () => {
    const report = await buildHeaderReport({ ...base(), loggedIn: async () => providerIdentity() });
    const [rita] = report.users;
    assert.equal(rita!.user, 'rita');
    assert.equal(rita!.headers['X-Authentik-Jwt'], `eyJhbGciOi…(${REAL_TOKEN.length} characters)`);
    assert.match(rita!.headers.Authorization!, /^Basic cml0…\(\d+ characters\)$/);
    assert.ok(!JSON.stringify(report).includes(REAL_TOKEN));
    assert.ok(!JSON.stringify(report).includes(Buffer.from('rita:hunter2').toString('base64')));
    assert.deepEqual(report.notes, [
      "rita's token from the real provider is shortened: add --show-secrets to print it in full",
    ]);
  });

  it('--show-secrets prints them in full', async () => {
    const report = await buildHeaderReport({
      ...base(),
      showSecrets: true,
      loggedIn: async () => providerIdentity(),
    });
    assert.equal(report.users[0]!.headers['X-Authentik-Jwt'], REAL_TOKEN);
    assert.equal(
      report.users[0]!.headers.Authorization,
      `Basic ${Buffer.from('rita:hunter2').toString('base64')}`,
    );
    assert.deepEqual(report.notes, []);
  });

  it('reports attribute values that cannot be headers, with user, key and why', async () => {
    const report = await buildHeaderReport({ ...base(), loggedIn: async () => providerIdentity() });
    assert.deepEqual(report.problems, [
      'rita: additionalHeaders.X-Object: is a map, which cannot be a header value, so it is not sent',
      'rita: additionalHeaders.X-List: is a list, which cannot be a header value, so it is not sent',
      'rita: additionalHeaders.X-Null: is null, which cannot be a header value, so it is not sent',
      'rita: additionalHeaders.Bad Name: is not a header name, so it is not sent',
      'rita: additionalHeaders.X-Lines: contains a control character, which is sent as a space',
    ]);
    const headers = report.users[0]!.headers;
    assert.equal(headers['X-Lines'], 'one two');
    assert.equal(headers['X-Fine'], 'fine');
    for (const name of ['X-Object', 'X-List', 'X-Null', 'Bad Name', 'Bad name']) {
      assert.equal(headers[name], undefined, name);
    }
  });

  it('not logged in: the first dev user, with a note that says so', async () => {
    const report = await buildHeaderReport({ ...base(), loggedIn: async () => null });
    assert.equal(report.users[0]!.user, 'dev');
    assert.match(
      report.notes[0]!,
      /^not logged in to https:\/\/id\.example\.com\/.*: showing the dev user dev/,
    );
  });

  it('--user wins over the login; an unknown one is UNKNOWN_USER listing the known', async () => {
    let asked = false;
    const loggedIn = async () => {
      asked = true;
      return providerIdentity();
    };
    const report = await buildHeaderReport({ ...base(), user: 'dev', loggedIn });
    assert.equal(report.users[0]!.user, 'dev');
    assert.equal(asked, false);
    await assert.rejects(
      buildHeaderReport({ ...base(), user: 'zed' }),
      (error) => isOutpostError(error) && error.code === 'UNKNOWN_USER' && /dev/.test(error.hint!),
    );
  });

  it('with external_host, --host changes X-Forwarded-Host only, as a request Host would', async () => {
    const external = { ...config, external_host: 'https://auth.example.test' };
    const [plain] = (await buildHeaderReport({ ...base(), config: external, user: 'dev' })).users;
    assert.equal(plain!.headers['X-Forwarded-Host'], 'auth.example.test');
    const [hosted] = (
      await buildHeaderReport({ ...base(), config: external, user: 'dev', host: 'app.test:8443' })
    ).users;
    assert.equal(hosted!.headers['X-Forwarded-Host'], 'app.test:8443');
    for (const entry of [plain!, hosted!]) {
      assert.equal(
        entry.headers['X-Authentik-Meta-Jwks'],
        'https://auth.example.test/application/o/outpost/jwks/',
      );
    }
  });

  it('forward modes carry no X-Forwarded-Host', async () => {
    const forward = { ...config, mode: 'forward_domain' as const };
    const report = await buildHeaderReport({ ...base(), config: forward, user: 'dev' });
    assert.equal(report.users[0]!.mode, 'forward_domain');
    assert.equal(report.users[0]!.headers['X-Forwarded-Host'], undefined);
    assert.equal(report.users[0]!.headers['X-Authentik-Username'], 'dev');
  });
});

describe('parseHostTarget', () => {
  it('takes a Host as a browser sends it, https unless a URL says otherwise', () => {
    assert.deepEqual(parseHostTarget('app.localhost:9443'), {
      origin: 'https://app.localhost:9443',
      host: 'app.localhost:9443',
    });
    assert.deepEqual(parseHostTarget('http://Localhost:80/'), {
      origin: 'http://localhost',
      host: 'localhost',
    });
    assert.deepEqual(parseHostTarget('[::1]:9443').host, '[::1]:9443');
  });

  it('refuses anything that is not a plain host as USAGE', () => {
    for (const bad of [
      '',
      'a b',
      'host/path',
      'https://h/x',
      'https://h/?q',
      'user@host',
      'ftp://h',
    ]) {
      assert.throws(
        () => parseHostTarget(bad),
        (error) => isOutpostError(error) && error.code === 'USAGE',
        bad,
      );
    }
  });
});

describe('header formats', () => {
  it('shellQuote keeps every character literal', () => {
    assert.equal(shellQuote(`it's`), `'it'\\''s'`);
    assert.equal(shellQuote('$HOME "x"'), `'$HOME "x"'`);
    assert.equal(shellQuote(''), `''`);
  });

  it('cgiVariable follows CGI: HTTP_, upper case, - as _', () => {
    assert.equal(cgiVariable('X-Authentik-Username'), 'HTTP_X_AUTHENTIK_USERNAME');
    assert.equal(cgiVariable('Authorization'), 'HTTP_AUTHORIZATION');
    assert.equal(cgiVariable('X.Odd~Name'), 'HTTP_X_ODD_NAME');
  });

  it('counts East Asian wide characters as two columns', () => {
    assert.equal(displayWidth('李雷'), 4);
    assert.equal(displayWidth('Łukasz'), 6);
  });

  it('--all-users table cuts long values to the cell width with an ellipsis', () => {
    const long = 'x'.repeat(100);
    const text = formatHeaders(
      [
        { user: 'a', mode: 'proxy', headers: { 'X-Long': long } },
        { user: 'b', mode: 'proxy', headers: { 'X-Long': 'short' } },
      ],
      'table',
    );
    assert.equal(
      text,
      `        a                             b\nX-Long  ${'x'.repeat(27)}…  short\n`,
    );
  });
});
