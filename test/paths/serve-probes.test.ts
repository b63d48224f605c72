import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { startTestOutpost, type TestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';

/**
 * Sends one request with the target exactly as written: an HTTP client library would resolve the
 * dot segments or drop the fragment before the proxy ever saw them.
 */
function rawRequest(baseUrl: string, target: string): Promise<{ status: number; head: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    });
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => {
      const head = response.split('\r\n\r\n')[0] ?? '';
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head });
    });
  });
}

describe('serve: the classic probes against a public ^/public/, with a real upstream', () => {
  let upstream: RecordingUpstream;
  let outpost: TestOutpost;

  before(async () => {
    upstream = await startRecordingUpstream();
    outpost = await startTestOutpost({
      yaml: [
        `internal_host: ${upstream.url}`,
        'skip_path_regex: |',
        '  ^/public/',
        '  ^/static/',
        '',
      ].join('\n'),
    });
  });
  after(async () => {
    await outpost?.close();
    await upstream?.close();
  });

  const probes = [
    '/public/../admin',
    '/public/%2e%2e/admin',
    '/public%2f..%2fadmin',
    '/public/..;/admin',
    '//admin',
    '/public/%2E%2E/admin',
    '/admin#/public',
    '/admin?x=/public/',
    '/public/%252e%252e/admin',
    '/public/..%5cadmin',
    '/public/%c0%ae%c0%ae/admin',
  ];
  for (const probe of probes) {
    it(`${probe} never reaches the app without a session`, async () => {
      const before = upstream.received.length;
      const { status, head } = await rawRequest(outpost.httpUrl, probe);
      assert.ok(status === 400 || status === 302, `status ${status}:\n${head}`);
      if (status === 302)
        assert.match(head, /\r\nLocation: [^\r]*\/outpost\.goauthentik\.io\/start/i);
      assert.equal(upstream.received.length, before, 'the app received the request');
    });
  }

  it('forwards a public path and its query unchanged', async () => {
    const { status } = await rawRequest(outpost.httpUrl, '/static/app.js?v=1');
    assert.equal(status, 200);
    assert.equal(upstream.last().url, '/static/app.js?v=1');
  });

  it('forwards the canonical form that the rule saw', async () => {
    const { status } = await rawRequest(outpost.httpUrl, '/public/a/./b/../%63?x=%2F');
    assert.equal(status, 200);
    assert.equal(upstream.last().url, '/public/a/c?x=%2F');
  });
});
