import type { ChalkInstance } from 'chalk';

import type { AccessEntry } from '../core/proxy/access-log.js';

/** One access-log line: `--log-format json` gives one JSON object, otherwise a readable line. */
export function formatAccessEntry(
  entry: AccessEntry,
  format: 'pretty' | 'json',
  color: ChalkInstance,
): string {
  if (format === 'json') return JSON.stringify(entry);
  const time = entry.time.slice(11, 19);
  const status = colorStatus(entry.status, color);
  const who =
    entry.user === 'public'
      ? `${color.cyan('public')}${entry.rule === undefined ? '' : color.dim(` (${entry.rule})`)}`
      : entry.user === '-'
        ? color.dim('-')
        : color.bold(entry.user);
  const error = entry.error ? ` ${color.red(entry.error)}` : '';
  return `${color.dim(time)} ${entry.method} ${entry.path} ${status} ${who} ${color.dim(`${entry.ms}ms`)}${error}`;
}

function colorStatus(status: number, color: ChalkInstance): string {
  const text = String(status);
  if (status >= 500) return color.red(text);
  if (status >= 400) return color.yellow(text);
  if (status >= 300) return color.blue(text);
  return color.green(text);
}
