import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { isolatedEnv, runCli } from '../helpers/cli.js';
import { request } from '../helpers/http-client.js';
import { startTestOutpost } from '../helpers/outpost.js';
import { headerValues } from '../helpers/recording-upstream.js';
import { startOidcStack, type OidcStack } from './oidc-stack.js';

/** A config whose every header-bound value hides a line break or a NUL. */
const HOSTILE_USERS = `users:
  - username: "eve\\r\\nX-Authentik-Username: admin"
    name: "Eve\\u0000Admin"
    groups: ["staff\\nX-Role: root"]
    attributes:
      additionalHeaders:
        X-Tenant: "acme\\r\\nSet-Cookie: owned=1"
`;

describe('header injection through the config is refused at load, by the built CLI', () => {
  for (const command of [['headers'], ['serve', '--port', '0', '--https-port', '0']]) {
    it(`outpost ${command[0]} names every bad value and stops with exit 2`, async () => {
      const cli = isolatedEnv();
      try {
        writeFileSync(join(cli.dir, 'outpost.yaml'), HOSTILE_USERS);
        const result = await runCli(command, { cwd: cli.dir, env: cli.env });
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '', 'nothing printed, nothing listening');
        for (const [key, char] of [
          ['users[0].username', 'U+000D'],
          ['users[0].name', 'U+0000'],
          ['users[0].groups[0]', 'U+000A'],
          ['users[0].attributes.additionalHeaders.X-Tenant', 'U+000D'],
        ]) {
          assert.match(
            result.stderr,
            new RegExp(`${escape(key!)}: .*contains ${escape(char!)}`),
            key,
          );
        }
      } finally {
        cli.cleanup();
      }
    });
  }

  it('an attribute under __proto__ is plain data, never a header', async () => {
    const cli = isolatedEnv();
    try {
      writeFileSync(
        join(cli.dir, 'outpost.yaml'),
        `users:
  - username: eve
    attributes:
      __proto__:
        additionalHeaders:
          X-Evil: "a\\r\\nInjected: 1"
          Bad Name: x
`,
      );
      const result = await runCli(['headers', '--json'], { cwd: cli.dir, env: cli.env });
      assert.equal(result.code, 0, result.stderr);
      const headers = JSON.parse(result.stdout).headers as Record<string, string>;
      assert.equal(headers['X-Authentik-Username'], 'eve');
      assert.deepEqual(
        Object.keys(headers).filter((name) => /evil|bad/i.test(name)),
        [],
      );
    } finally {
      cli.cleanup();
    }
  });
});

/** An app that keeps the raw bytes of each request head, to see exactly what was on the wire. */
async function startRawApp(): Promise<{ url: string; heads: Buffer[]; close(): Promise<void> }> {
  const heads: Buffer[] = [];
  const server: Server = createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      heads.push(pending.subarray(0, end));
      pending = Buffer.alloc(0);
      socket.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('text outside ASCII reaches the app as its UTF-8 bytes', () => {
  it('李雷 as username, name and attribute header', async () => {
    const app = await startRawApp();
    const outpost = await startTestOutpost({
      yaml: `internal_host: ${app.url}
users:
  - username: 李雷
    name: 李雷 Łukasz
    attributes: { additionalHeaders: { X-City: 北京 } }
`,
      presetUser: '李雷',
    });
    try {
      const res = await request(`${outpost.httpUrl}/who`);
      assert.equal(res.status, 204);
      const head = app.heads.at(-1)!;
      for (const line of [
        'X-Authentik-Username: 李雷',
        'X-Authentik-Name: 李雷 Łukasz',
        'X-City: 北京',
      ]) {
        assert.ok(head.includes(Buffer.from(`\r\n${line}\r\n`, 'utf8')), `${line} as UTF-8 bytes`);
      }
    } finally {
      await outpost.close();
      await app.close();
    }
  });
});

describe("a provider's attributes cannot inject or break headers", () => {
  let stack: OidcStack;
  before(async () => {
    stack = await startOidcStack({
      users: [
        {
          username: 'mallory',
          name: 'Mallory\r\nX-Authentik-Username: admin',
          ak_proxy: {
            user_attributes: {
              additionalHeaders: {
                'Bad Name': 'dropped',
                'X-Split\r\nInjected': 'dropped',
                'X-Lines': 'one\r\nInjected: 1',
                'X-Fine': 'fine',
              },
            },
          },
        },
      ],
    });
  });
  after(() => stack.close());

  it('serve sends the good headers, drops names that are not tokens, flattens line breaks', async () => {
    const browser = await stack.signIn('mallory', '/inside');
    const got = stack.app.last();
    assert.equal(got.url, '/inside');
    assert.deepEqual(headerValues(got, 'X-Authentik-Username'), ['mallory']);
    assert.deepEqual(headerValues(got, 'X-Authentik-Name'), [
      'Mallory  X-Authentik-Username: admin',
    ]);
    assert.deepEqual(headerValues(got, 'X-Fine'), ['fine']);
    assert.deepEqual(headerValues(got, 'X-Lines'), ['one  Injected: 1']);
    assert.deepEqual(headerValues(got, 'Injected'), []);
    assert.equal(
      got.headers.filter(([name]) => /bad|split/i.test(name)).length,
      0,
      JSON.stringify(got.headers),
    );
    assert.equal((await browser.get(`${stack.external}/again`)).status, 200);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
