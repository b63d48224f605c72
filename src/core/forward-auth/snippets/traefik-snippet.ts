import type { SnippetPlan } from './snippet-plan.js';

/**
 * Traefik v3's `forwardAuth` middleware, as dynamic configuration for the file provider. Traefik
 * deletes every request header that `authResponseHeaders` lists or the regex matches before it
 * copies outpost's, so a client's forged identity header never reaches the app.
 */
export function renderTraefikSnippet(plan: SnippetPlan): string {
  return `# outpost forward auth for Traefik v3 (${plan.mode}), from \`outpost serve --print-config traefik\`
# Dynamic configuration for the file provider; the entry point listens on :${plan.listenPort}.
# ${plan.external.origin} -> ${plan.appUrl}; outpost at ${plan.outpostUrl}
http:
${middleware(plan)}

${routers(plan)}

  services:
    outpost-app:
      loadBalancer:
        servers:
          - url: ${plan.appUrl}
    outpost:
      loadBalancer:
        servers:
          - url: ${plan.outpostUrl}
`;
}

function middleware(plan: SnippetPlan): string {
  const headers = plan.headers.map((name) => `          - ${name}`).join('\n');
  return `  middlewares:
    outpost:
      forwardAuth:
        address: ${plan.outpostUrl}/outpost.goauthentik.io/auth/traefik
        # Traefik writes X-Forwarded-Proto/-Host/-Uri itself instead of passing the client's
        trustForwardHeader: false
        authResponseHeaders:
${headers}
        # also drop whatever else the client sent as X-Authentik-* or with "_" in its name
        authResponseHeadersRegex: "(?i)^x-authentik-|_"
        # a stale session cookie is cleared on answers that let the request through too
        addAuthCookiesToResponse:
          - ${plan.cookieName}`;
}

/** The app behind the middleware; outpost's own paths (forward_domain: its whole host) not. */
function routers(plan: SnippetPlan): string {
  const rule = hostRule(plan);
  const endpointRule =
    plan.mode === 'forward_domain'
      ? `Host(\`${plan.external.hostname}\`) || (${rule} && PathPrefix(\`/outpost.goauthentik.io/\`))`
      : `${rule} && PathPrefix(\`/outpost.goauthentik.io/\`)`;
  return `  routers:
    outpost-app:
      rule: "${rule}"
      middlewares:
        - outpost
      service: outpost-app
    # outpost's sign-in, callback and sign-out on the app's host, so the session cookie is set there
    outpost-endpoints:
      rule: "${endpointRule}"
      priority: 10000
      service: outpost`;
}

function hostRule(plan: SnippetPlan): string {
  if (plan.mode === 'forward_single') return `Host(\`${plan.appDomain}\`)`;
  const escaped = plan.appDomain.replaceAll('.', '\\\\.');
  return `HostRegexp(\`^.+\\\\.${escaped}$\`)`;
}
