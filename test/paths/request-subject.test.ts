import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import type { Mode } from '../../src/core/config/config.js';
import { canonicalisePath } from '../../src/core/paths/canonical-path.js';
import {
  subjectForInput,
  subjectForRequest,
  subjectForUrl,
} from '../../src/core/paths/request-subject.js';
import { compileUnauthenticatedPaths } from '../../src/core/paths/unauthenticated-paths.js';

const MODES: Mode[] = ['proxy', 'forward_single', 'forward_domain'];

function request(rawTarget: string, host = 'app.localhost') {
  return { scheme: 'http' as const, host, rawTarget };
}

function pathSubject(rawTarget: string) {
  const result = subjectForRequest('proxy', request(rawTarget));
  assert.ok(result.ok, `expected ${rawTarget} to be accepted: ${result.ok ? '' : result.reason}`);
  return result;
}

function refusal(rawTarget: string, mode: Mode = 'proxy'): string {
  const result = subjectForRequest(mode, request(rawTarget));
  assert.ok(!result.ok, `expected ${rawTarget} to be refused, got ${JSON.stringify(result)}`);
  assert.equal(result.status, 400);
  return result.reason;
}

describe('the classic bypass probes against a public ^/public/', () => {
  const probes = [
    '/public/../admin',
    '/public/%2e%2e/admin',
    '/public%2f..%2fadmin',
    '/public/..;/admin',
    '//admin',
    '/public/%2E%2E/admin',
    '/admin#/public',
    '/admin?x=/public/',
    '/public/.%2e/admin',
    '/public/%2e%2e%2fadmin',
    '/public/..%5cadmin',
    '/public/..\\admin',
    '/public/%252e%252e/admin',
    '/public/%c0%ae%c0%ae/admin',
    '/public/%ef%bc%8e%ef%bc%8e/admin',
    '/public/..%3b/admin',
    '/public/.. /admin',
    '/public/..%20/admin',
    '/public/%00/../admin',
    '/public/..%00/admin',
    '/admin%23/public/',
    '/admin%3f/public/',
  ];
  for (const mode of MODES) {
    const rule = mode === 'forward_domain' ? '^http://app\\.localhost/public/' : '^/public/';
    const { paths } = compileUnauthenticatedPaths(rule, { mode });
    for (const probe of probes) {
      it(`${mode}: ${probe} is refused or protected, never public`, () => {
        const result = subjectForRequest(mode, request(probe));
        if (!result.ok) {
          assert.equal(result.status, 400);
          return;
        }
        assert.equal(paths.match(result.subject), null, `public as ${result.subject}`);
        assert.ok(!result.path.startsWith('/public/'), `forwarded as ${result.path}`);
      });
    }
  }

  it('resolves the dot segments to the path the app will act on', () => {
    for (const probe of ['/public/../admin', '/public/%2e%2e/admin', '/public/%2E%2E/admin']) {
      assert.deepEqual(pathSubject(probe), { ok: true, subject: '/admin', path: '/admin' });
    }
    assert.deepEqual(pathSubject('//admin'), { ok: true, subject: '/admin', path: '/admin' });
  });

  it('refuses the ambiguous ones with a reason', () => {
    assert.match(refusal('/public%2f..%2fadmin'), /encoded \/ \(%2F\)/);
    assert.match(refusal('/public/..;/admin'), /; path parameter/);
    assert.match(refusal('/admin#/public'), /literal #/);
    assert.match(refusal('/public/..%5cadmin'), /encoded \\/);
    assert.match(refusal('/public/%00/x'), /NUL/);
    assert.match(refusal('/public/%252e%252e/admin'), /double percent-encoding/);
    assert.match(refusal('/public/%c0%ae%c0%ae/admin'), /not UTF-8/);
    assert.match(refusal('/public/%ef%bc%8f'), /U\+FF0F, which some servers fold into \//);
    assert.match(refusal('/public/..%20/admin'), /Windows/);
    assert.match(refusal('/a%zz'), /malformed % escape/);
  });

  it('keeps the query out of the path-mode subject', () => {
    assert.deepEqual(pathSubject('/admin?x=/public/'), {
      ok: true,
      subject: '/admin',
      path: '/admin?x=/public/',
    });
  });
});

describe('ordinary requests', () => {
  it('forwards a normal path and query unchanged', () => {
    for (const target of [
      '/static/app.js?v=1',
      '/',
      '/api/v1/users/42?sort=name&dir=asc&q=%2Fhome%3Bx',
      '/files/my%20file.txt',
      '/a/b/',
      '/search?q=a+b&empty=',
      '/x?',
    ]) {
      assert.equal(pathSubject(target).path, target);
    }
  });

  it('gives path-mode rules the decoded path, as Go’s URL.Path', () => {
    assert.equal(pathSubject('/files/my%20file.txt').subject, '/files/my file.txt');
    assert.equal(pathSubject('/caf%C3%A9').subject, '/café');
    assert.equal(pathSubject('/100%25').subject, '/100%');
  });

  it('decodes escaped unreserved characters and upper-cases the other escapes', () => {
    assert.equal(pathSubject('/%7Euser/%41b%2dc').path, '/~user/Ab-c');
    assert.equal(pathSubject('/caf%c3%a9').path, '/caf%C3%A9');
  });

  it('keeps a trailing slash the way RFC 3986 resolves dot segments', () => {
    assert.equal(pathSubject('/a/b/.').path, '/a/b/');
    assert.equal(pathSubject('/a/b/..').path, '/a/');
    assert.equal(pathSubject('/a//').path, '/a/');
    assert.equal(pathSubject('/..').path, '/');
    assert.equal(pathSubject('/../../etc').path, '/etc');
  });

  it('refuses targets that are not a path', () => {
    assert.match(refusal('*'), /asterisk-form/);
    assert.match(refusal('admin'), /must start with \//);
    assert.match(refusal(''), /must start with \//);
  });

  it('takes an absolute-form target only when it names the Host header’s host', () => {
    const same = subjectForRequest(
      'proxy',
      request('http://APP.localhost:80/x?y', 'app.localhost'),
    );
    assert.deepEqual(same, { ok: true, subject: '/x', path: '/x?y' });
    assert.match(refusal('http://other.localhost/x'), /another scheme or host/);
    assert.match(refusal('https://app.localhost/x'), /another scheme or host/);
  });
});

describe('forward_domain subjects', () => {
  it('is scheme://host/path?query with the canonical host', () => {
    const result = subjectForRequest('forward_domain', {
      scheme: 'https',
      host: 'App.Localhost:443',
      rawTarget: '/public/../admin?x=1',
    });
    assert.deepEqual(result, {
      ok: true,
      subject: 'https://app.localhost/admin?x=1',
      path: '/admin?x=1',
    });
  });

  it('keeps the encoded path, as Go’s URL.String does', () => {
    const result = subjectForUrl('forward_domain', 'http://h:8080/my%20file?q');
    assert.deepEqual(result, {
      ok: true,
      subject: 'http://h:8080/my%20file?q',
      path: '/my%20file?q',
    });
  });

  it('refuses a host that is not a host', () => {
    for (const host of ['app.localhost/public', 'user@app.localhost', 'app localhost', '']) {
      const result = subjectForRequest('forward_domain', request('/x', host));
      assert.ok(!result.ok, host);
    }
  });

  it('reads full URLs from forward-auth headers with the same rules', () => {
    assert.deepEqual(subjectForUrl('proxy', 'https://h/public/%2e%2e/admin'), {
      ok: true,
      subject: '/admin',
      path: '/admin',
    });
    assert.deepEqual(subjectForUrl('forward_domain', 'https://h'), {
      ok: true,
      subject: 'https://h/',
      path: '/',
    });
    for (const url of ['https://h/a#b', 'https://h\\admin', 'https://u:p@h/', 'ftp://h/', '/x']) {
      assert.equal(subjectForUrl('forward_domain', url).ok, false, url);
    }
  });
});

describe('what a person types (test-path)', () => {
  it('sends non-ASCII text as UTF-8 escapes, as a browser would', () => {
    assert.deepEqual(subjectForInput('proxy', '/café', 'http://localhost:9000'), {
      ok: true,
      subject: '/café',
      path: '/caf%C3%A9',
    });
  });

  it('takes a bare path relative to the base URL in forward_domain', () => {
    const result = subjectForInput('forward_domain', '/x?y', 'https://app.localhost:9443/');
    assert.deepEqual(result, { ok: true, subject: 'https://app.localhost:9443/x?y', path: '/x?y' });
  });

  it('refuses what is neither a path nor a URL', () => {
    const result = subjectForInput('proxy', 'admin', 'http://localhost:9000');
    assert.ok(!result.ok);
    assert.match(result.reason, /neither a path/);
  });
});

describe('the canonical form (properties)', () => {
  const piece = fc.constantFrom(
    '/',
    '//',
    '.',
    '..',
    '%2e',
    '%2E',
    'public',
    'admin',
    'a',
    '%41',
    '%20',
    ' ',
    ';',
    '%3b',
    '%2f',
    '\\',
    '%5c',
    '%25',
    '%252e',
    '%c3%a9',
    '%c0%ae',
    '%ff',
    '#',
    '%23',
    '?',
    '~',
    '-',
    '%7e',
    '%',
    'é',
  );
  const rawPath = fc.array(piece, { maxLength: 12 }).map((pieces) => `/${pieces.join('')}`);

  it('is a fixed point: canonicalising the canonical form changes nothing', () => {
    fc.assert(
      fc.property(rawPath, (path) => {
        const once = canonicalisePath(path);
        if (!once.ok) return;
        assert.deepEqual(canonicalisePath(once.encoded), once);
      }),
      { numRuns: 2000 },
    );
  });

  it('has no dot segments or doubled slashes, whoever normalises it', () => {
    fc.assert(
      fc.property(rawPath, (path) => {
        const result = canonicalisePath(path);
        if (!result.ok) return;
        assert.equal(posix.normalize(result.decoded), result.decoded);
        // an app built on the WHATWG URL parser acts on exactly the subject
        const appPath = decodeURIComponent(
          new URL(result.encoded, 'http://app.localhost').pathname,
        );
        assert.equal(appPath, result.decoded);
      }),
      { numRuns: 2000 },
    );
  });

  it('never lets a subject under /public/ lead somewhere else', () => {
    fc.assert(
      fc.property(rawPath, (path) => {
        const result = canonicalisePath(path);
        if (!result.ok || !result.decoded.startsWith('/public/')) return;
        assert.ok(result.encoded.startsWith('/public/'));
        assert.ok(!/[\\;#?]/.test(result.decoded));
      }),
      { numRuns: 2000 },
    );
  });
});
