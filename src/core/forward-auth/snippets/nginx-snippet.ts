import { SIGN_IN_HEADER } from '../auth-answers.js';
import { isCopiedByNginx } from '../copied-headers.js';
import type { SnippetPlan } from './snippet-plan.js';

/**
 * nginx with `auth_request`: server blocks for the `http { }` context. Every identity header is
 * set with `proxy_set_header`, which replaces whatever the client sent under that name in any
 * casing, and sends nothing when outpost's answer has no value (a public path).
 */
export function renderNginxSnippet(plan: SnippetPlan): string {
  const blocks = [header(plan)];
  if (plan.mode === 'forward_domain') blocks.push(signInServer(plan));
  blocks.push(appServer(plan));
  return `${blocks.join('\n\n')}\n`;
}

function header(plan: SnippetPlan): string {
  const sites =
    plan.mode === 'forward_domain'
      ? `every host under ${plan.appDomain} (sign-in on ${plan.external.host})`
      : plan.external.origin;
  return [
    `# outpost forward auth for nginx (${plan.mode}), from \`outpost serve --print-config nginx\``,
    `# ${sites} -> ${plan.appUrl}; outpost at ${plan.outpostUrl}`,
    '# Put these server blocks in the http { } block of nginx.conf.',
  ].join('\n');
}

function signInServer(plan: SnippetPlan): string {
  return `# external_host: outpost's sign-in pages, whose cookie every host under ${plan.appDomain} shares
server {
${listen(plan)}
    server_name ${plan.external.hostname};

    location / {
${outpostProxy(plan, '        ')}
    }
}`;
}

function appServer(plan: SnippetPlan): string {
  const name = plan.mode === 'forward_domain' ? `.${plan.appDomain}` : plan.appDomain;
  return `server {
${listen(plan)}
    server_name ${name};
    # keep underscores_in_headers off (the default): a name with "_" can alias an identity
    # header in some apps, and nginx drops such names

${outpostLocations(plan)}

${appLocation(plan)}
}`;
}

/** outpost's own pages, the internal auth check, and the sign-in redirect after a 401. */
function outpostLocations(plan: SnippetPlan): string {
  return `    # outpost's sign-in, callback and sign-out on this host, so the session cookie is set here
    location /outpost.goauthentik.io/ {
${outpostProxy(plan, '        ')}
    }

    # the check nginx makes before each request; not reachable from outside
    location = /outpost.goauthentik.io/auth/nginx {
        internal;
${outpostProxy(plan, '        ')}
        proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }

    # no session: outpost answers 401 with the sign-in URL, the original URL encoded in it
    location @outpost_sign_in {
        internal;
        add_header Set-Cookie $outpost_set_cookie;
        return 302 $outpost_sign_in;
    }`;
}

function appLocation(plan: SnippetPlan): string {
  const basicAuth = plan.headers.includes('Authorization')
    ? "\n        # with basic_auth_enabled the app's Authorization comes from outpost only"
    : '';
  return `    location / {
        auth_request /outpost.goauthentik.io/auth/nginx;
        error_page 401 = @outpost_sign_in;
        auth_request_set $outpost_sign_in ${upstreamVariable(SIGN_IN_HEADER)};
        auth_request_set $outpost_set_cookie $upstream_http_set_cookie;
        add_header Set-Cookie $outpost_set_cookie;

        # identity headers only from outpost's answer: each replaces the client's (any casing)${basicAuth}
${identityHeaders(plan)}

        proxy_pass ${plan.appUrl};
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
    }`;
}

function listen(plan: SnippetPlan): string {
  if (plan.external.protocol !== 'https:') return `    listen ${plan.listenPort};`;
  return [
    `    listen ${plan.listenPort} ssl;`,
    `    ssl_certificate     /path/to/${plan.external.hostname}.pem;  # your certificate`,
    `    ssl_certificate_key /path/to/${plan.external.hostname}-key.pem;`,
  ].join('\n');
}

/** `Host` as the browser sent it (port included), so outpost sees the host the cookie is for. */
function outpostProxy(plan: SnippetPlan, indent: string): string {
  return [
    `proxy_pass ${plan.outpostUrl};`,
    'proxy_set_header Host $http_host;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
  ]
    .map((line) => `${indent}${line}`)
    .join('\n');
}

function identityHeaders(plan: SnippetPlan): string {
  return plan.headers
    .filter(isCopiedByNginx)
    .flatMap((name) => {
      const variable = `$outpost_header_${name.toLowerCase().replaceAll('-', '_')}`;
      return [
        `        auth_request_set ${variable} ${upstreamVariable(name)};`,
        `        proxy_set_header ${name} ${variable};`,
      ];
    })
    .join('\n');
}

function upstreamVariable(name: string): string {
  return `$upstream_http_${name.toLowerCase().replaceAll('-', '_')}`;
}
