import type { Mode } from '../config/config.js';
import { escapeHtml } from './html.js';

/** Who is signed in, as the panel shows it. */
export interface PanelIdentity {
  username: string;
  name: string;
  email: string;
  uid: string;
  groups: readonly string[];
  entitlements: readonly string[];
  isSuperuser: boolean;
  source: 'dev' | 'oidc';
}

/** A path tested in the box: the verdict word and one sentence that explains it. */
export interface PathTestView {
  input: string;
  verdict: 'public' | 'protected' | 'refused';
  summary: string;
}

export interface DevPanelModel {
  applicationName: string;
  externalOrigin: string;
  mode: Mode;
  identity: PanelIdentity | null;
  /** The session's expiry (ms since the epoch); null for `serve --user`, which has none. */
  expiresAt: number | null;
  now: number;
  /** Identity headers as the app receives them, secrets shortened. */
  headers: readonly (readonly [string, string])[];
  /** Host and X-Forwarded-* as the app receives them on this browser's requests (proxy mode). */
  forwarding: readonly (readonly [string, string])[];
  rules: readonly { rule: string; line: number }[];
  test: PathTestView | null;
  urls: {
    panel: string;
    app: string;
    signIn: string;
    signOut: string;
    testPath: string;
  };
  /** Whether the switch-user link makes sense (dev users, not `serve --user`). */
  canSwitch: boolean;
}

/**
 * The dev panel: who is signed in, the headers the app gets, the session's expiry, and the
 * unauthenticated-path rules with a box to test a path. Everything works without JavaScript;
 * the panel's script only makes the test box answer while typing.
 */
export function renderDevPanel(model: DevPanelModel): string {
  return `<div class="brand">outpost · dev panel<nav><a href="${escapeHtml(model.urls.app)}">Open the app</a></nav></div>
${identitySection(model)}
${headersSection(model)}
${rulesSection(model)}
<footer><p>${escapeHtml(model.applicationName)} at <code>${escapeHtml(model.externalOrigin)}</code>,
${escapeHtml(model.mode)} mode. This panel is outpost's own page; the app never sees it.</p></footer>`;
}

function identitySection(model: DevPanelModel): string {
  const who = model.identity;
  if (!who) {
    return `<h1>Not signed in</h1>
<p class="lead">This browser has no session: protected paths send it to sign in.</p>
<div class="actions"><a class="button primary" href="${escapeHtml(model.urls.signIn)}">Sign in</a></div>`;
  }
  return `<h1>Signed in as ${escapeHtml(who.name || who.username)}</h1>
<p class="lead">${escapeHtml(who.source === 'dev' ? 'dev user' : 'OpenID Connect user')} <code>${escapeHtml(who.username)}</code></p>
<section class="card" aria-labelledby="identity-title">
<h2 id="identity-title">Identity</h2>
<dl>
${row('Username', who.username)}${row('Name', who.name)}${row('Email', who.email)}${row('Uid', who.uid)}${row('Groups', listText(who.groups))}${row('Entitlements', listText(who.entitlements))}${row('Superuser', who.isSuperuser ? 'yes' : 'no')}<dt>Session</dt><dd>${expiry(model)}</dd>
</dl>
${identityActions(model)}
</section>`;
}

function identityActions(model: DevPanelModel): string {
  const switchLink = model.canSwitch
    ? `<a class="button" href="${escapeHtml(model.urls.signIn)}">Switch user</a>`
    : '';
  const signOut =
    model.expiresAt === null
      ? ''
      : `<form method="post" action="${escapeHtml(model.urls.signOut)}"><button type="submit">Sign out</button></form>`;
  if (!switchLink && !signOut) return '';
  return `<div class="actions">${switchLink}${signOut}</div>`;
}

function row(term: string, value: string): string {
  const shown = value === '' ? '<span class="muted">(empty)</span>' : escapeHtml(value);
  return `<dt>${escapeHtml(term)}</dt><dd>${shown}</dd>\n`;
}

function listText(values: readonly string[]): string {
  return values.join(', ');
}

function expiry(model: DevPanelModel): string {
  if (model.expiresAt === null) {
    return 'none: <code>serve --user</code> signs every request in, so there is nothing to end';
  }
  const when = new Date(model.expiresAt);
  const text = `${when.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `expires <time datetime="${when.toISOString()}">${text}</time> (${escapeHtml(
    relativeTime(model.expiresAt - model.now),
  )})`;
}

/** `in 23 h 59 min`, `in 4 min`, `in 30 s`: precise enough to see a session is about to end. */
export function relativeTime(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `in ${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `in ${hours} h ${minutes % 60} min`;
  return `in ${Math.floor(hours / 24)} days ${hours % 24} h`;
}

function headersSection(model: DevPanelModel): string {
  if (!model.identity) return '';
  const forwarding = model.forwarding.length
    ? `<h2 id="forwarding-title" class="spaced">Forwarding headers on this browser's requests</h2>
${headerTable(model.forwarding, 'forwarding-title')}`
    : '';
  return `<section class="card" aria-labelledby="headers-title">
<h2 id="headers-title">Headers your app receives</h2>
<p class="muted">Built by the same code that adds them to every proxied request. Tokens are shortened here; the app gets them whole.</p>
${headerTable(model.headers, 'headers-title')}
${forwarding}
</section>`;
}

function headerTable(headers: DevPanelModel['headers'], labelledBy: string): string {
  const rows = headers
    .map(
      ([name, value]) =>
        `<tr><th scope="row"><code>${escapeHtml(name)}</code></th><td><code>${escapeHtml(value)}</code></td></tr>`,
    )
    .join('\n');
  return `<table class="headers" aria-labelledby="${labelledBy}" data-headers="${labelledBy}">
<thead><tr><th scope="col">Header</th><th scope="col">Value</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function rulesSection(model: DevPanelModel): string {
  const sees =
    model.mode === 'forward_domain'
      ? 'the full URL (<code>scheme://host/path?query</code>)'
      : 'the path, without its query';
  return `<section class="card" aria-labelledby="rules-title">
<h2 id="rules-title">Unauthenticated paths</h2>
<p class="muted">For a request without a session, the rules of <code>skip_path_regex</code> (Go RE2 syntax) are tried in order against ${sees}. The first match lets it through to the app; with no match the browser is sent to sign in.</p>
${rulesTable(model.rules)}
${testForm(model)}
</section>`;
}

function rulesTable(rules: DevPanelModel['rules']): string {
  if (rules.length === 0) return '<p>There are no rules: every path needs a session.</p>';
  const rows = rules
    .map(({ rule, line }) => `<tr><td>${line}</td><td><code>${escapeHtml(rule)}</code></td></tr>`)
    .join('\n');
  return `<table class="rules">
<thead><tr><th scope="col">Line</th><th scope="col">Rule</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function testForm(model: DevPanelModel): string {
  const test = model.test;
  const verdict = test ? ` data-verdict="${test.verdict}"` : '';
  return `<form id="path-test" class="path-test" method="get" action="${escapeHtml(model.urls.panel)}" data-endpoint="${escapeHtml(model.urls.testPath)}">
<label for="path-input">Test a path</label>
<div class="inline-form">
<input type="text" id="path-input" name="path" value="${escapeHtml(test?.input ?? '')}" placeholder="/api/health" autocomplete="off" spellcheck="false" aria-describedby="path-result">
<button type="submit">Test</button>
</div>
</form>
<p id="path-result" class="result" role="status" aria-live="polite"${verdict}>${escapeHtml(test?.summary ?? '')}</p>`;
}
