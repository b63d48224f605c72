/**
 * Whether a header from the client must be removed before the request reaches the app: every
 * `X-Authentik-*` header in any case, and any name containing `_`, which some app servers turn
 * into the same variable as the `-` spelling (`X_Authentik_Username` becomes
 * HTTP_X_AUTHENTIK_USERNAME in CGI/WSGI). `name` is lower case, as Node gives it.
 */
export function isForgeableHeader(name: string): boolean {
  return name.startsWith('x-authentik-') || name.includes('_');
}
