import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';

import { request } from '../helpers/http-client.js';
import { startTestOutpost } from '../helpers/outpost.js';
import { headerValues, startRecordingUpstream } from '../helpers/recording-upstream.js';

describe('serve: HTTPS with the generated certificate', () => {
  it('serves HTTPS for localhost, trusted per client, and marks the cookie Secure', async () => {
    const upstream = await startRecordingUpstream();
    const outpost = await startTestOutpost({
      yaml: `internal_host: ${upstream.url}\nusers: [{username: alice}]\n`,
      https: true,
    });
    try {
      const cert = new X509Certificate(outpost.ca!);
      assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
      assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      const port = new URL(outpost.httpsUrl!).port;
      const base = `https://localhost:${port}`;

      // without the certificate trusted, the client refuses: TLS checks stay on
      await assert.rejects(request(`${base}/x`), /self[- ]signed|certificate/i);

      const start = await request(`${base}/outpost.goauthentik.io/start?user=alice`, {
        ca: outpost.ca!,
      });
      assert.equal(start.status, 302);
      const cookie = start.headers['set-cookie']!.find((line) =>
        line.startsWith('authentik_proxy_'),
      )!;
      assert.match(cookie, /; Secure; SameSite=Lax$/);

      const page = await request(`${base}/secure`, {
        ca: outpost.ca!,
        headers: { cookie: cookie.split(';')[0]! },
      });
      assert.equal(page.status, 200);
      assert.deepEqual(headerValues(upstream.last(), 'X-Forwarded-Proto'), ['https']);
      assert.deepEqual(headerValues(upstream.last(), 'X-Authentik-Username'), ['alice']);
    } finally {
      await outpost.close();
      await upstream.close();
    }
  });
});
