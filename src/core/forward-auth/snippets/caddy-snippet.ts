import type { SnippetPlan } from './snippet-plan.js';

/**
 * Caddy with `forward_auth`: Caddyfile site blocks. `copy_headers` only sets a header that
 * outpost's answer carries, so a client's forged one would survive on a public path: the route
 * first removes every `X-Authentik-*` (and any name with `_`) the client sent.
 */
export function renderCaddySnippet(plan: SnippetPlan): string {
  const blocks = [header(plan)];
  if (plan.mode === 'forward_domain') blocks.push(signInSite(plan));
  blocks.push(appSite(plan));
  return `${blocks.join('\n\n')}\n`;
}

function header(plan: SnippetPlan): string {
  const sites =
    plan.mode === 'forward_domain'
      ? `every host under ${plan.appDomain} (sign-in on ${plan.external.host})`
      : plan.external.origin;
  return [
    `# outpost forward auth for Caddy (${plan.mode}), from \`outpost serve --print-config caddy\``,
    `# ${sites} -> ${plan.appUrl}; outpost at ${plan.outpostUrl}`,
    '# Site blocks for a Caddyfile.',
  ].join('\n');
}

function signInSite(plan: SnippetPlan): string {
  return `# external_host: outpost's sign-in pages, whose cookie every host under ${plan.appDomain} shares
${siteAddress(plan, plan.external.hostname)} {
\treverse_proxy ${plan.outpostAddress}
}`;
}

function appSite(plan: SnippetPlan): string {
  const host = plan.mode === 'forward_domain' ? `*.${plan.appDomain}` : plan.appDomain;
  const copies = plan.headers.map((name) => `\t\t\t\t${name}`).join('\n');
  return `${siteAddress(plan, host)} {
\troute {
\t\t# identity headers come only from outpost: drop any the client sent, in any casing
\t\trequest_header -X-Authentik-*
\t\trequest_header -*_*

\t\t# outpost's sign-in, callback and sign-out on this host, so the session cookie is set here
\t\treverse_proxy /outpost.goauthentik.io/* ${plan.outpostAddress}

\t\tforward_auth ${plan.outpostAddress} {
\t\t\turi /outpost.goauthentik.io/auth/caddy
\t\t\tcopy_headers {
${copies}
\t\t\t}
\t\t}

\t\t# Caddy before 2.7 copies a header outpost did not send as its placeholder text: drop those
${placeholderCleanup(plan)}

\t\treverse_proxy ${plan.appUrl}
\t}
}`;
}

function placeholderCleanup(plan: SnippetPlan): string {
  return plan.headers
    .flatMap((name, index) => [
      `\t\t@outpost_unset_${index} header_regexp ${name} ^\\{http\\.reverse_proxy\\.header\\.`,
      `\t\trequest_header @outpost_unset_${index} -${name}`,
    ])
    .join('\n');
}

/** Caddy takes the scheme from the site address: `http://` serves plain HTTP, no certificate. */
function siteAddress(plan: SnippetPlan, host: string): string {
  return `${plan.external.protocol}//${host}:${plan.listenPort}`;
}
