import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

import { fromWireValue } from '../headers/wire.js';
import type { Identity } from '../identity/identity.js';
import { DEV_PANEL_SCRIPT } from '../pages/dev-panel-script.js';
import {
  renderDevPanel,
  type DevPanelModel,
  type PanelIdentity,
  type PathTestView,
} from '../pages/dev-panel-page.js';
import { renderPage, SCRIPTED_PAGE_HEADERS } from '../pages/html.js';
import { decidePaths, type PathDecision } from '../paths/path-decisions.js';
import { applyForwardingHeaders, applyIdentityHeaders, forwardingOf } from './forward-headers.js';
import type { OutpostContext } from './outpost-context.js';
import type { RequestState } from './request-state.js';
import { redirect } from './responses.js';

const PREFIX = '/outpost.goauthentik.io/';

/** The panel's endpoints, as paths after `/outpost.goauthentik.io/`. */
export const DEV_PANEL_ENDPOINTS = {
  page: '',
  testPath: 'dev/test-path',
  script: 'dev/panel.js',
} as const;

/** Headers whose values are secrets: the panel shows only their ends. */
const SECRET_HEADERS = new Set(['x-authentik-jwt', 'authorization']);

/** The `--json`-like answer of the path test endpoint. */
export interface PathTestAnswer extends Omit<PathDecision, 'verdicts'> {
  verdict: PathTestView['verdict'];
  summary: string;
}

/**
 * The dev panel at `/outpost.goauthentik.io/`: who this browser is signed in as, the headers the
 * app receives (built by the same functions the proxy uses), the session's expiry, and the
 * unauthenticated-path rules with a live test through the same matcher `serve` uses.
 */
export class DevPanel {
  constructor(private readonly context: OutpostContext) {}

  handle(state: RequestState): void {
    const method = state.req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      return send(state.res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n', {
        Allow: 'GET, HEAD',
      });
    }
    const endpoint = state.path.slice(PREFIX.length);
    if (endpoint === DEV_PANEL_ENDPOINTS.script) {
      return send(state.res, 200, 'text/javascript; charset=utf-8', DEV_PANEL_SCRIPT, {
        'Cache-Control': 'no-cache',
      });
    }
    if (endpoint === DEV_PANEL_ENDPOINTS.testPath) return this.answerPathTest(state);
    this.showPanel(state);
  }

  /** `dev/test-path?path=...`: the decision for one path or URL, as JSON. */
  private answerPathTest(state: RequestState): void {
    const input = state.query.get('path');
    if (input === null || input.trim() === '') {
      const error = 'give the path or URL to test as ?path=';
      return sendJson(state.res, 400, { error }, state.cookies);
    }
    sendJson(state.res, 200, this.testPath(input.trim(), state.external), state.cookies);
  }

  /** One path through the compiled rules `serve` uses, with the subject `serve` would match. */
  testPath(input: string, externalOrigin: string): PathTestAnswer {
    const [decision] = decidePaths(this.context.options.paths, [input], {
      mode: this.context.config.mode,
      baseUrl: externalOrigin,
    });
    return { ...(decision as PathDecision), ...describeDecision(decision as PathDecision) };
  }

  private showPanel(state: RequestState): void {
    // the panel lives on the external host, where the session cookie and sign-out work
    if (state.origin.origin !== state.external) {
      return redirect(
        state.res,
        `${state.external}${PREFIX}${state.rawTarget.slice(PREFIX.length)}`,
      );
    }
    const html = renderPage(
      `outpost · ${this.context.config.name}`,
      renderDevPanel(this.model(state)),
      {
        scripts: [`${PREFIX}${DEV_PANEL_ENDPOINTS.script}`],
      },
    );
    send(state.res, 200, 'text/html; charset=utf-8', html, SCRIPTED_PAGE_HEADERS, state.cookies);
  }

  private model(state: RequestState): DevPanelModel {
    const identity = state.session?.identity ?? this.context.presetIdentity(state.external);
    const input = state.query.get('path')?.trim();
    const base = `${state.external}${PREFIX}`;
    return {
      applicationName: this.context.config.assigned_application_name,
      externalOrigin: state.external,
      mode: this.context.config.mode,
      identity: identity ? panelIdentity(identity) : null,
      expiresAt: state.session?.expires_at ?? null,
      now: Date.now(),
      headers: identity ? this.identityHeaders(identity, state.external) : [],
      forwarding:
        identity && this.context.config.mode === 'proxy'
          ? this.forwardingHeaders(state, identity)
          : [],
      rules: this.context.options.paths.rules,
      test: input ? this.testPath(input, state.external) : null,
      urls: {
        panel: base,
        app: `${state.external}/`,
        signIn: `${base}start?rd=${encodeURIComponent(base)}`,
        signOut: `${base}sign_out`,
        testPath: `${base}${DEV_PANEL_ENDPOINTS.testPath}`,
      },
      canSwitch: identity?.source !== 'oidc' && this.context.options.presetUser === undefined,
    };
  }

  /** Exactly what the proxy writes into a request for this identity, secrets shortened. */
  private identityHeaders(identity: Identity, externalOrigin: string): [string, string][] {
    const headers: IncomingHttpHeaders = {};
    applyIdentityHeaders(
      headers,
      identity,
      this.context.headerContextFor(identity, externalOrigin),
    );
    return shownHeaders(headers);
  }

  /** Host and X-Forwarded-* as the proxy sets them for this browser's requests to the app. */
  private forwardingHeaders(state: RequestState, identity: Identity): [string, string][] {
    const headers: IncomingHttpHeaders = { host: state.req.headers.host };
    const prior = state.req.headers['x-forwarded-for'];
    if (prior !== undefined) headers['x-forwarded-for'] = prior;
    applyForwardingHeaders(headers, forwardingOf(this.context, state, identity));
    return shownHeaders(headers).map(([name, value]) => [name === 'host' ? 'Host' : name, value]);
  }
}

function panelIdentity(identity: Identity): PanelIdentity {
  return {
    username: identity.preferred_username,
    name: identity.name,
    email: identity.email,
    uid: identity.sub,
    groups: identity.groups,
    entitlements: identity.entitlements,
    isSuperuser: identity.is_superuser,
    source: identity.source,
  };
}

/** Header values back from the wire form to text, secrets shortened. */
function shownHeaders(headers: IncomingHttpHeaders): [string, string][] {
  return Object.entries(headers).flatMap(([name, value]): [string, string][] => {
    if (typeof value !== 'string') return [];
    const text = fromWireValue(value);
    return [[name, SECRET_HEADERS.has(name.toLowerCase()) ? shortenSecret(text) : text]];
  });
}

/**
 * Enough of a secret to recognise it (its first 12 and last 6 characters and its length), never
 * enough to use it.
 */
export function shortenSecret(value: string): string {
  if (value.length <= 24) return value === '' ? '' : `… (${value.length} characters)`;
  return `${value.slice(0, 12)}…${value.slice(-6)} (${value.length} characters)`;
}

/** The verdict word and one sentence, shared by the page and the JSON answer. */
export function describeDecision(
  decision: PathDecision,
): Pick<PathTestAnswer, 'verdict' | 'summary'> {
  if (decision.refused !== null) {
    return {
      verdict: 'refused',
      summary: `refused with 400 before any rule is tried: ${decision.refused}`,
    };
  }
  const subject = JSON.stringify(decision.subject);
  if (decision.public) {
    return {
      verdict: 'public',
      summary: `public: line ${decision.line} ${decision.rule} matches ${subject}; without a session the request goes to the app`,
    };
  }
  return {
    verdict: 'protected',
    summary: `protected: no rule matches ${subject}; without a session the browser is sent to sign in`,
  };
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Readonly<Record<string, string>> = {},
  cookies: string[] = [],
): void {
  const all: Record<string, string | string[]> = {
    'X-Content-Type-Options': 'nosniff',
    ...headers,
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
  };
  if (cookies.length > 0) all['Set-Cookie'] = cookies;
  res.writeHead(status, all);
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, cookies: string[]): void {
  const headers = { 'Cache-Control': 'no-store' };
  send(
    res,
    status,
    'application/json; charset=utf-8',
    `${JSON.stringify(value)}\n`,
    headers,
    cookies,
  );
}
