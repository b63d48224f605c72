import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CookieJar, request } from '../helpers/http-client.js';
import {
  headerValues,
  startRecordingUpstream,
  type RecordingUpstream,
} from '../helpers/recording-upstream.js';
import { signInWithForm } from '../helpers/sign-in.js';
import { until } from '../helpers/until.js';
import {
  childrenOf,
  socketsTo,
  startServeProcess,
  type ServeProcess,
} from '../hardening/serve-process.js';

interface Setup {
  upstream: string;
  aliceGroups?: string;
  rules?: string;
  extra?: string;
}

function yaml(setup: Setup): string {
  return [
    `internal_host: ${setup.upstream}`,
    ...(setup.rules ? [`skip_path_regex: ${setup.rules}`] : []),
    'users:',
    '  - username: alice',
    `    groups: [${setup.aliceGroups ?? 'staff'}]`,
    '  - username: bob',
    ...(setup.extra ? [setup.extra] : []),
    '',
  ].join('\n');
}

/**
 * Saves outpost.yaml the way many editors do (a new file renamed over the old one), then waits
 * until serve has said something about it, and returns what it said.
 */
async function save(serve: ServeProcess, text: string): Promise<string> {
  const seen = serve.output().length;
  const temporary = join(serve.dir, '.outpost.yaml.swp');
  writeFileSync(temporary, text);
  renameSync(temporary, join(serve.dir, 'outpost.yaml'));
  return until('serve to react to the saved file', () => {
    const said = serve.output().slice(seen);
    return /reloaded: .*\n|previous configuration\n/.test(said) ? said : undefined;
  });
}

async function signedIn(serve: ServeProcess, user: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const first = await request(`${serve.url}/start-here`, { jar });
  assert.equal((await signInWithForm(first.headers.location!, jar, user)).status, 302);
  return jar;
}

describe('serve reloads outpost.yaml when it is saved', () => {
  let app: RecordingUpstream;
  let other: RecordingUpstream;
  let serve: ServeProcess;
  let jar: CookieJar;

  before(async () => {
    [app, other] = [await startRecordingUpstream(), await startRecordingUpstream()];
    serve = await startServeProcess({ yaml: yaml({ upstream: app.url }) });
    jar = await signedIn(serve, 'alice');
  });
  after(async () => {
    await serve?.stop();
    await app?.close();
    await other?.close();
  });

  it('says so in the banner', () => {
    assert.match(serve.output(), /config: outpost\.yaml \(reloaded on save\)/);
  });

  it("gives a signed-in dev user's new groups at the next request, no new sign-in", async () => {
    assert.equal((await request(`${serve.url}/before`, { jar })).status, 200);
    assert.deepEqual(headerValues(app.last(), 'X-Authentik-Groups'), ['staff']);

    const said = await save(serve, yaml({ upstream: app.url, aliceGroups: 'staff, ops' }));

    assert.match(said, /config: outpost\.yaml reloaded: users, groups changed/);
    assert.equal((await request(`${serve.url}/after`, { jar })).status, 200);
    assert.deepEqual(headerValues(app.last(), 'X-Authentik-Groups'), ['staff|ops']);
    assert.deepEqual(headerValues(app.last(), 'X-Authentik-Username'), ['alice']);
  });

  it('applies new unauthenticated paths to the next request', async () => {
    assert.equal((await request(`${serve.url}/health`)).status, 302);
    await save(serve, yaml({ upstream: app.url, rules: '^/health$' }));
    assert.equal((await request(`${serve.url}/health`)).status, 200);
    assert.equal((await request(`${serve.url}/healthz`)).status, 302, 'the rule is anchored');
  });

  it('keeps serving the previous configuration when the saved file has problems', async () => {
    const invalid = await save(serve, yaml({ upstream: app.url, extra: 'mode: proxi' }));
    assert.match(
      invalid,
      /warning: outpost\.yaml has 1 problem:\n {2}outpost\.yaml:6: mode: "proxi"/,
    );
    assert.match(
      invalid,
      /hint: fix them and save the file again\nstill serving with the previous/,
    );

    const badRule = await save(serve, yaml({ upstream: app.url, rules: '"(?=x)"' }));
    assert.match(badRule, /skip_path_regex has 1 rule that cannot be used/);
    assert.match(badRule, /look-ahead is not part of Go's RE2 syntax/);
    assert.match(badRule, /still serving with the previous configuration/);

    assert.equal((await request(`${serve.url}/health`)).status, 200, 'the last good rules hold');
    assert.equal((await request(`${serve.url}/x`, { jar })).status, 200, 'sessions are kept');
  });

  it('sends requests to a new internal_host', async () => {
    const said = await save(serve, yaml({ upstream: other.url, rules: '^/health$' }));
    // compared with the configuration in force, which kept the rule through the failed saves
    assert.match(said, /reloaded: internal_host changed\n/);
    const before = app.received.length;
    assert.equal((await request(`${serve.url}/moved`, { jar })).status, 200);
    assert.equal(other.last().url, '/moved');
    assert.equal(app.received.length, before);
  });

  it('names settings that need a restart and keeps the running value', async () => {
    const said = await save(
      serve,
      yaml({ upstream: other.url, rules: '^/health$', extra: 'log_format: json' }),
    );
    assert.match(said, /reloaded: log_format changed/);
    // the warning goes to stderr, which may arrive after the notice on stdout
    await until('the restart warning', () =>
      /warning: log_format changed: restart serve to use the new value/.test(serve.output())
        ? true
        : undefined,
    );
    await request(`${serve.url}/still-pretty`, { jar });
    await until('the access log line', () =>
      /\d\d:\d\d:\d\d GET \/still-pretty 200 alice/.test(serve.output()) ? true : undefined,
    );
  });

  it('signs out a dev user that was removed, saying so', async () => {
    const withoutAlice = yaml({ upstream: other.url }).replace(
      / {2}- username: alice\n {4}groups: \[staff\]\n/,
      '',
    );
    assert.doesNotMatch(withoutAlice, /alice/);
    await save(serve, withoutAlice);
    const answer = await request(`${serve.url}/gone`, { jar });
    assert.equal(answer.status, 302, 'sent to sign in');
    assert.match(answer.headers['set-cookie']?.join('\n') ?? '', /Max-Age=0/);
    assert.match(serve.output(), /"alice" is no longer a dev user in outpost\.yaml/);
  });
});

describe('serve --workers 2 reloads outpost.yaml in every worker', () => {
  let app: RecordingUpstream;
  let serve: ServeProcess;

  before(async () => {
    app = await startRecordingUpstream();
    serve = await startServeProcess({
      yaml: yaml({ upstream: app.url }),
      args: ['--workers', '2', '--user', 'alice'],
    });
  });
  after(async () => {
    await serve?.stop();
    await app?.close();
  });

  it('says it once, and every worker serves the new configuration', async () => {
    assert.equal(childrenOf(serve.pid).length, 2);
    const said = await save(serve, yaml({ upstream: app.url, aliceGroups: 'staff, ops' }));
    // both workers reload; the second one's identical line is not printed again
    await new Promise((resolve) => setTimeout(resolve, 500));
    const lines =
      serve
        .output()
        .slice(serve.output().indexOf(said))
        .match(/reloaded:/g) ?? [];
    assert.equal(lines.length, 1, serve.output());

    // the workers reload independently, within moments of each other
    await until('every worker to serve the new groups', async () => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => request(`${serve.url}/w/${i}`)),
      );
      assert.ok(answers.every((answer) => answer.status === 200));
      const groups = app.received.slice(-10).map((r) => headerValues(r, 'X-Authentik-Groups')[0]);
      return groups.every((value) => value === 'staff|ops') ? true : undefined;
    });
  });

  it('a --user no longer configured is refused, and the old configuration stays', async () => {
    const said = await save(
      serve,
      yaml({ upstream: app.url }).replace('username: alice', 'username: al'),
    );
    assert.match(said, /there is no dev user "alice"/);
    assert.match(said, /still serving with the previous configuration/);
    assert.equal((await request(`${serve.url}/still`)).status, 200);
    assert.deepEqual(headerValues(app.last(), 'X-Authentik-Username'), ['alice']);
  });
  it('a worker that replaces a dead one starts from the version served, not the broken save', async () => {
    // the previous test left a file that cannot be served (--user alice is gone from it)
    const before = childrenOf(serve.pid);
    process.kill(before[0]!, 'SIGKILL');
    const replacement = await until('a replacement worker', () =>
      childrenOf(serve.pid).find((pid) => !before.includes(pid)),
    );
    assert.match(serve.output(), /worker \d+ stopped \(signal SIGKILL\); starting another/);

    // the replacement is ready once it forwards requests to the app itself
    const appPort = Number(new URL(app.url).port);
    await until('the replacement worker to serve', async () => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => request(`${serve.url}/after-replace/${i}`)),
      );
      assert.ok(answers.every((answer) => answer.status === 200));
      return socketsTo(replacement, appPort) > 0 ? true : undefined;
    });
    const groups = app.received.slice(-10).map((r) => headerValues(r, 'X-Authentik-Groups')[0]);
    assert.deepEqual(groups, Array(10).fill('staff|ops'), 'every worker serves the last good one');
    assert.doesNotMatch(serve.output(), /workers keep stopping|could not start/);
  });
});
