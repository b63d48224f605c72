import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { compileTrustedProxies } from '../../src/core/forward-auth/trusted-proxies.js';

describe('trusted_proxies', () => {
  test('the default list trusts loopback, as each socket family reports it', () => {
    const trusted = compileTrustedProxies(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.1']) {
      assert.equal(trusted.trusts(address), true, address);
    }
    for (const address of ['127.0.0.2', '10.0.0.1', '::2', '::ffff:10.0.0.1', '', undefined]) {
      assert.equal(trusted.trusts(address), false, String(address));
    }
  });

  test('CIDR ranges, IPv4 and IPv6', () => {
    const trusted = compileTrustedProxies(['10.0.0.0/8', 'fd00::/8', '192.168.1.7']);
    assert.equal(trusted.trusts('10.200.3.4'), true);
    assert.equal(trusted.trusts('::ffff:10.200.3.4'), true);
    assert.equal(trusted.trusts('11.0.0.1'), false);
    assert.equal(trusted.trusts('fd12:3456::1'), true);
    assert.equal(trusted.trusts('fe80::1'), false);
    assert.equal(trusted.trusts('192.168.1.7'), true);
    assert.equal(trusted.trusts('192.168.1.8'), false);
  });

  test('an IPv4-mapped range also covers the plain IPv4 addresses', () => {
    const trusted = compileTrustedProxies(['::ffff:172.16.0.0/108']);
    assert.equal(trusted.trusts('172.16.9.9'), true);
    assert.equal(trusted.trusts('172.32.0.1'), false);
  });

  test('entries that are not addresses trust nobody and are reported', () => {
    const trusted = compileTrustedProxies(['localhost', '10.0.0.0/33', '1.2.3.4/8/9', ' ::1 ']);
    assert.deepEqual(trusted.ignored, ['localhost', '10.0.0.0/33', '1.2.3.4/8/9']);
    assert.equal(trusted.trusts('127.0.0.1'), false);
    assert.equal(trusted.trusts('::1'), true);
  });

  test('an empty list trusts no one', () => {
    assert.equal(compileTrustedProxies([]).trusts('127.0.0.1'), false);
  });
});
