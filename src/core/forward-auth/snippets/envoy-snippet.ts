import type { SnippetPlan } from './snippet-plan.js';

const HCM =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const EXT_AUTHZ = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const EXT_AUTHZ_ROUTE =
  'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/**
 * Envoy's `ext_authz` HTTP filter, as a static bootstrap. Envoy sends the original path after
 * the `auth/envoy` prefix; it copies outpost's identity headers over the client's, and removes
 * the forged ones outpost names in `x-envoy-auth-headers-to-remove` (so the check request must
 * carry the client's `x-authentik-*` headers for outpost to see them).
 */
export function renderEnvoySnippet(plan: SnippetPlan): string {
  const outpost = new URL(plan.outpostUrl);
  const app = new URL(plan.appUrl);
  return `# outpost forward auth for Envoy (${plan.mode}), from \`outpost serve --print-config envoy\`
# ${plan.external.origin} -> ${plan.appUrl}; outpost at ${plan.outpostUrl}
# A static bootstrap: envoy -c envoy.yaml
static_resources:
  listeners:
    - name: outpost_app
      address:
        socket_address: { address: 127.0.0.1, port_value: ${plan.listenPort} }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": ${HCM}
                stat_prefix: outpost_app
                # a name with "_" can alias an identity header in some apps
                common_http_protocol_options:
                  headers_with_underscores_action: DROP_HEADER
${routeConfig(plan)}
${httpFilters(plan)}
  clusters:
${cluster('outpost', outpost)}
${cluster('outpost_app', app)}
`;
}

function routeConfig(plan: SnippetPlan): string {
  const domains =
    plan.mode === 'forward_domain'
      ? `["*.${plan.appDomain}", "*.${plan.appDomain}:${plan.listenPort}"]`
      : `["${plan.appDomain}", "${plan.appDomain}:${plan.listenPort}"]`;
  return `                route_config:
                  virtual_hosts:${plan.mode === 'forward_domain' ? signInHost(plan) : ''}
                    - name: outpost_app
                      domains: ${domains}
                      routes:
                        # outpost's sign-in, callback and sign-out, without the check
                        - match: { prefix: /outpost.goauthentik.io/ }
                          route: { cluster: outpost }
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": ${EXT_AUTHZ_ROUTE}
                              disabled: true
                        - match: { prefix: / }
                          route: { cluster: outpost_app }`;
}

/** forward_domain: external_host is outpost's own sign-in site, with no check in front. */
function signInHost(plan: SnippetPlan): string {
  const host = plan.external.hostname;
  return `
                    - name: outpost_sign_in
                      domains: ["${host}", "${host}:${plan.listenPort}"]
                      routes:
                        - match: { prefix: / }
                          route: { cluster: outpost }
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": ${EXT_AUTHZ_ROUTE}
                              disabled: true`;
}

function httpFilters(plan: SnippetPlan): string {
  const upstream = plan.headers
    .map((name) => `${' '.repeat(30)}- { exact: ${name.toLowerCase()}, ignore_case: true }`)
    .join('\n');
  return `                http_filters:
                  - name: envoy.filters.http.ext_authz
                    typed_config:
                      "@type": ${EXT_AUTHZ}
                      transport_api_version: V3
                      http_service:
                        server_uri: { uri: ${plan.outpostUrl}, cluster: outpost, timeout: 5s }
                        path_prefix: /outpost.goauthentik.io/auth/envoy
                        authorization_request:
                          allowed_headers:
                            patterns:
                              - { exact: cookie }
                              - { exact: x-forwarded-proto }
                              - { prefix: x-authentik-, ignore_case: true }
                        authorization_response:
                          allowed_upstream_headers:
                            patterns:
${upstream}
                          allowed_client_headers:
                            patterns:
                              - { exact: set-cookie }
                              - { exact: location }
                          allowed_client_headers_on_success:
                            patterns:
                              - { exact: set-cookie }
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": ${ROUTER}`;
}

function cluster(name: string, url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `    - name: ${name}
      type: STRICT_DNS
      load_assignment:
        cluster_name: ${name}
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: ${url.hostname.replace(/^\[|\]$/g, '')}, port_value: ${port} }${url.protocol === 'https:' ? upstreamTls(url) : ''}`;
}

function upstreamTls(url: URL): string {
  return `
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
          sni: ${url.hostname}`;
}
