import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadTlsMaterial } from '../../src/core/tls/certificate.js';
import { request } from '../helpers/http-client.js';
import { startTestOutpost } from '../helpers/outpost.js';

describe('serve: an https app', () => {
  it('verifies its certificate unless internal_host_ssl_validation is false', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-upstream-tls-'));
    const tls = await loadTlsMaterial({ stateDir: dir, cert: null, key: null });
    const app = createServer({ cert: tls.cert, key: tls.key }, (_req, res) =>
      res.end('secure app'),
    );
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const url = `https://localhost:${(app.address() as AddressInfo).port}`;
    const config = (verify: boolean) =>
      `internal_host: ${url}\ninternal_host_ssl_validation: ${verify}\nusers: [{username: alice}]\n`;
    try {
      const strict = await startTestOutpost({ yaml: config(true), presetUser: 'alice' });
      try {
        const refused = await request(`${strict.httpUrl}/`);
        assert.equal(refused.status, 502);
        assert.match(refused.body, /certificate/i);
        assert.ok(
          strict.warnings.some((line) => /use the https port/.test(line)),
          strict.warnings.join('\n'),
        );
      } finally {
        await strict.close();
      }
      const lax = await startTestOutpost({ yaml: config(false), presetUser: 'alice' });
      try {
        const served = await request(`${lax.httpUrl}/`);
        assert.equal(served.status, 200);
        assert.equal(served.body, 'secure app');
      } finally {
        await lax.close();
      }
    } finally {
      app.closeAllConnections();
      app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
