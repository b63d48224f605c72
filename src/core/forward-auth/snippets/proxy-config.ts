import type { OutpostConfig } from '../../config/config.js';
import type { ProxyKind } from '../original-url.js';
import { renderCaddySnippet } from './caddy-snippet.js';
import { renderEnvoySnippet } from './envoy-snippet.js';
import { renderNginxSnippet } from './nginx-snippet.js';
import { planSnippet, outpostUrlFor, type SnippetPlan } from './snippet-plan.js';
import { renderTraefikSnippet } from './traefik-snippet.js';

const RENDERERS: Record<ProxyKind, (plan: SnippetPlan) => string> = {
  nginx: renderNginxSnippet,
  traefik: renderTraefikSnippet,
  caddy: renderCaddySnippet,
  envoy: renderEnvoySnippet,
};

/**
 * The reverse-proxy configuration for `outpost serve --print-config <kind>`: the auth request,
 * the sign-in redirect, the identity headers to copy (and the client's to drop), and the
 * `/outpost.goauthentik.io/` route to outpost. `outpostUrl` defaults to where `serve` listens.
 * @throws OutpostError USAGE when the config lacks a forward mode or the URLs the snippet joins.
 */
export function renderProxyConfig(
  kind: ProxyKind,
  config: OutpostConfig,
  outpostUrl = outpostUrlFor(config),
): string {
  return RENDERERS[kind](planSnippet(config, outpostUrl));
}
