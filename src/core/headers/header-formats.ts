import type { UserHeaders } from './header-report.js';

/** The output formats of `outpost headers`. */
export const HEADER_FORMATS = ['table', 'json', 'http', 'env', 'curl'] as const;
export type HeaderFormat = (typeof HEADER_FORMATS)[number];

/** How a table marks names and placeholders; plain text unless the command colours it. */
export interface TableStyle {
  name(text: string): string;
  dim(text: string): string;
}

const PLAIN: TableStyle = { name: (text) => text, dim: (text) => text };

/** A cell of `--all-users` is cut to this many columns; one user's table shows every value. */
const CELL_WIDTH = 28;

/**
 * Renders users' headers in a text format (`json` is the command's): `table` for reading,
 * `http` as header lines, `env` as CGI/WSGI variables and `curl` as `-H` arguments, both quoted
 * for a POSIX shell. Several users come one block each, headed by a `#` comment, except in a
 * table, which puts them side by side.
 */
export function formatHeaders(
  users: readonly UserHeaders[],
  format: Exclude<HeaderFormat, 'json'>,
  style: TableStyle = PLAIN,
): string {
  if (format === 'table') {
    return users.length === 1 ? formatTable(users[0]!, style) : formatMatrix(users, style);
  }
  const render = { http: httpLines, env: envLines, curl: curlLine }[format];
  if (users.length === 1) return render(users[0]!);
  return users.map((user) => `# ${user.user}\n${render(user)}`).join('\n');
}

/** One header a line: the name, then its value; an empty value says so. */
function formatTable(user: UserHeaders, style: TableStyle): string {
  const entries = Object.entries(user.headers);
  const width = Math.max(...entries.map(([name]) => name.length));
  return entries
    .map(([name, value]) => {
      const shown = value === '' ? style.dim('(empty)') : value;
      return `${style.name(name.padEnd(width))}  ${shown}\n`;
    })
    .join('');
}

interface Cell {
  text: string;
  placeholder: boolean;
}

/** Headers down, users across; long values are cut, `-` marks a header a user does not get. */
function formatMatrix(users: readonly UserHeaders[], style: TableStyle): string {
  const names = [...new Set(users.flatMap((user) => Object.keys(user.headers)))];
  const heading = users.map((user): Cell => ({ text: user.user, placeholder: false }));
  const rows = names.map((name) => users.map((user) => cellOf(user.headers[name])));
  const widths = users.map((_, column) =>
    Math.max(...[heading, ...rows].map((row) => displayWidth(row[column]!.text))),
  );
  const nameWidth = Math.max(...names.map((name) => name.length));
  const render = (row: Cell[], paint: (text: string) => string) =>
    row
      .map((cell, column) => {
        // no padding after the last column, so that lines carry no trailing blanks
        const pad = column === row.length - 1 ? 0 : widths[column]! - displayWidth(cell.text);
        const text = cell.text + ' '.repeat(pad);
        return cell.placeholder ? style.dim(text) : paint(text);
      })
      .join('  ');
  const lines = [`${' '.repeat(nameWidth)}  ${render(heading, style.name)}`];
  names.forEach((name, index) => {
    lines.push(`${style.name(name.padEnd(nameWidth))}  ${render(rows[index]!, (text) => text)}`);
  });
  return lines.map((line) => `${line}\n`).join('');
}

function cellOf(value: string | undefined): Cell {
  if (value === undefined) return { text: '-', placeholder: true };
  if (value === '') return { text: '(empty)', placeholder: true };
  return { text: truncate(value, CELL_WIDTH), placeholder: false };
}

/** Header lines as the app receives them. */
function httpLines(user: UserHeaders): string {
  return Object.entries(user.headers)
    .map(([name, value]) => `${name}: ${value}\n`)
    .join('');
}

/**
 * CGI/WSGI variables (`HTTP_` and the name upper case, `-` as `_`), one assignment a line, each
 * value single-quoted so that `eval` or `source` gives back exactly the header's value.
 */
function envLines(user: UserHeaders): string {
  return Object.entries(user.headers)
    .map(([name, value]) => `${cgiVariable(name)}=${shellQuote(value)}\n`)
    .join('');
}

/** The CGI name of a header; any character a shell variable cannot hold becomes `_`. */
export function cgiVariable(name: string): string {
  return `HTTP_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * `-H` arguments for curl on one line. An empty value is written `Name;`, curl's way to send a
 * header with no value (`Name:` alone would remove it).
 */
function curlLine(user: UserHeaders): string {
  const args = Object.entries(user.headers).map(([name, value]) =>
    shellQuote(value === '' ? `${name};` : `${name}: ${value}`),
  );
  return `${args.map((arg) => `-H ${arg}`).join(' ')}\n`;
}

/** POSIX single quoting: everything literal, each `'` closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Columns a terminal gives the text: East Asian wide and full-width characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += isWide(char.codePointAt(0)!) ? 2 : 1;
  return width;
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1faff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let result = '';
  for (const char of text) {
    if (displayWidth(result + char) > width - 1) break;
    result += char;
  }
  return `${result}…`;
}
