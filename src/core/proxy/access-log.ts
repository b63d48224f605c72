/** One line of the access log: what `serve` prints per request. Never holds a secret. */
export interface AccessEntry {
  time: string;
  method: string;
  /** The path without its query, which may carry codes or tokens. */
  path: string;
  status: number;
  /** The username, `public` for an unauthenticated path, or `-` when nobody was let through. */
  user: string;
  /** For `public`: the rule that matched. */
  rule?: string;
  ms: number;
  /**
   * Set when the app could not answer: the error code (`ECONNREFUSED`, `timeout`); `upstream cut:
   * CODE` when its answer broke off midway; `aborted` when the client went away.
   */
  error?: string;
}

export function pathOf(rawTarget: string | undefined): string {
  if (!rawTarget) return '/';
  const query = rawTarget.indexOf('?');
  return query < 0 ? rawTarget : rawTarget.slice(0, query);
}
