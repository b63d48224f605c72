import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { request } from '../helpers/http-client.js';
import { startTestOutpost } from '../helpers/outpost.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { freePort } from '../helpers/free-port.js';

describe('serve: when the app is down or slow', () => {
  it('answers 502 naming the upstream while it is down, then 200 once it is up', async () => {
    const port = await freePort();
    const outpost = await startTestOutpost({
      yaml: `internal_host: http://127.0.0.1:${port}\nusers: [{username: alice}]\n`,
      presetUser: 'alice',
    });
    try {
      const down = await request(`${outpost.httpUrl}/page`);
      assert.equal(down.status, 502);
      assert.match(down.body, new RegExp(`http://127\\.0\\.0\\.1:${port}`));
      assert.match(down.body, /ECONNREFUSED/);
      assert.equal(outpost.access.at(-1)?.error, 'ECONNREFUSED');

      const upstream = await startRecordingUpstream(port);
      try {
        const up = await request(`${outpost.httpUrl}/page`);
        assert.equal(up.status, 200);
      } finally {
        await upstream.close();
      }
    } finally {
      await outpost.close();
    }
  });

  it('answers 504 when the app is slower than upstream_timeout, and keeps serving', async () => {
    const upstream = await startRecordingUpstream();
    const outpost = await startTestOutpost({
      yaml: `internal_host: ${upstream.url}\nupstream_timeout: 200\nusers: [{username: alice}]\n`,
      presetUser: 'alice',
    });
    try {
      const slow = await request(`${outpost.httpUrl}/slow?ms=1000`);
      assert.equal(slow.status, 504);
      assert.match(slow.body, /did not answer in time/);
      const fast = await request(`${outpost.httpUrl}/fast`);
      assert.equal(fast.status, 200);
    } finally {
      await outpost.close();
      await upstream.close();
    }
  });
});
