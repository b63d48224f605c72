import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { loadConfig } from '../../src/core/config/load-config.js';
import { openTokenStore } from '../../src/core/credentials/token-store.js';
import { runHeaders } from './support.js';

// an issuer of its own, so that no keychain entry of another run can answer for it
const ISSUER = `https://id-${randomBytes(6).toString('hex')}.example.com/application/o/app/`;
const ACCESS_TOKEN = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyaXRhIn0.${randomBytes(24).toString('base64url')}`;

describe('outpost headers after outpost login', () => {
  let dir: string;
  let stateDir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-headers-'));
    stateDir = join(dir, 'state');
    writeFileSync(
      join(dir, 'outpost.yaml'),
      `oidc: { issuer: "${ISSUER}", client_id: app }\nusers: [{ username: dev }]\n`,
    );
    const config = await loadConfig({ cwd: dir, env: {} });
    // the file store, as `outpost login` uses where no keychain answers
    await openTokenStore({ stateDir, keychain: null }).save({
      issuer: config.oidc!.issuer,
      client_id: config.oidc!.client_id,
      tokens: { access_token: ACCESS_TOKEN, expires_at: Math.floor(Date.now() / 1000) + 3600 },
      identity: {
        sub: 'rita-sub',
        preferred_username: 'rita',
        name: 'Rita Real',
        email: 'rita@example.com',
        groups: ['ops', 'oncall'],
        entitlements: [],
        user_attributes: {},
        is_superuser: false,
        access_token: ACCESS_TOKEN,
        source: 'oidc',
      },
      saved_at: Math.floor(Date.now() / 1000),
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('shows the logged-in identity, its token shortened in every format', async () => {
    for (const args of [[], ['--json'], ['--format', 'curl'], ['--format', 'env']]) {
      const result = await runHeaders(args, { cwd: dir, stateDir });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(result.stdout.includes('rita'), args.join(' '));
      assert.ok(result.stdout.includes('ops|oncall'));
      assert.ok(!result.stdout.includes(ACCESS_TOKEN), `no token in ${args.join(' ')}`);
      assert.ok(!result.stderr.includes(ACCESS_TOKEN));
      assert.match(result.stderr, /shortened: add --show-secrets/);
    }
  });

  it('--show-secrets prints the token as the app gets it', async () => {
    const result = await runHeaders(['--json', '--show-secrets'], { cwd: dir, stateDir });
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout);
    assert.equal(answer.user, 'rita');
    assert.equal(answer.headers['X-Authentik-Jwt'], ACCESS_TOKEN);
    assert.equal(answer.headers['X-Authentik-Uid'], 'rita-sub');
  });

  it('--user still names a dev user', async () => {
    const result = await runHeaders(['--user', 'dev', '--json'], { cwd: dir, stateDir });
    assert.equal(JSON.parse(result.stdout).user, 'dev');
    assert.equal(result.stderr, '');
  });

  it('not logged in: the first dev user, and a note on stderr saying why', async () => {
    const other = join(dir, 'other-state');
    const result = await runHeaders(['--json'], { cwd: dir, stateDir: other });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).user, 'dev');
    assert.match(result.stderr, /not logged in to https:\/\/id-.*: showing the dev user dev/);
  });
});
