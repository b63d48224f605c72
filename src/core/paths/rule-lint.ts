import { RE2JS } from 're2js';

import type { Mode } from '../config/config.js';
import { tokenizeRule, topLevelAlternatives, type RuleToken } from './rule-tokens.js';
import type { PathWarning } from './unauthenticated-paths.js';

/**
 * Subjects that differ in every way a rule might care about; a rule that matches all of them
 * matches every request in practice (`.*`, `^/` in a path mode, an empty alternative).
 */
const EVERYTHING_PROBES: Readonly<Record<'path' | 'url', readonly string[]>> = {
  path: ['/', '/outpost-lint-probe/ADMIN/x.y', "/ü~!$&'()*+,=:@ 0/_"],
  url: ['http://probe.invalid/', 'https://outpost-lint-probe.invalid:8443/ADMIN/x.y?q=1'],
};

/**
 * The warnings for one compiled rule: things that are legal RE2 but almost never what the author
 * meant, each said with what the rule also lets through.
 */
export function lintRule(rule: string, line: number, mode: Mode, compiled: RE2JS): PathWarning[] {
  const tokens = tokenizeRule(rule);
  const everything = matchesEverything(compiled, mode);
  const messages = [
    everything,
    everything ? null : anchorProblem(tokens, mode),
    whitespaceProblem(rule),
    looseDotProblem(tokens),
    mode === 'forward_domain' ? queryRunProblem(tokens) : null,
    modeMismatch(tokens, mode),
  ];
  return messages
    .filter((message): message is string => message !== null)
    .map((message) => ({ line, rule, message }));
}

/** The warning for a blank line, which is ignored. */
export function blankLineWarning(line: number): PathWarning {
  return {
    line,
    rule: '',
    message:
      'blank line ignored (authentik compiles it as an empty pattern, which makes every URL public)',
  };
}

function matchesEverything(compiled: RE2JS, mode: Mode): string | null {
  const probes = mode === 'forward_domain' ? EVERYTHING_PROBES.url : EVERYTHING_PROBES.path;
  if (!probes.every((probe) => compiled.test(probe))) return null;
  const what = mode === 'forward_domain' ? 'URL' : 'path';
  return `matches every ${what}, so no ${what} needs a session`;
}

/** A rule (or one of its top-level alternatives) that does not start with `^` matches anywhere. */
function anchorProblem(tokens: readonly RuleToken[], mode: Mode): string | null {
  const alternatives = topLevelAlternatives(tokens);
  const loose = alternatives.filter((alternative) => !isStartAnchored(alternative));
  if (loose.length === 0) return null;
  const where =
    mode === 'forward_domain'
      ? 'anywhere in the URL, the query included'
      : 'anywhere in the path (/evil/… too)';
  if (loose.length === alternatives.length) return `has no leading ^, so it matches ${where}`;
  return `only some alternatives start with ^ (^a|b means (^a)|b), so the others match ${where}: write ^(?:a|b)`;
}

function isStartAnchored(alternative: readonly RuleToken[]): boolean {
  const first = alternative.find((token) => token.kind !== 'flags' && token.kind !== 'open');
  return first?.kind === 'anchor' && (first.text === '^' || first.text === '\\A');
}

function whitespaceProblem(rule: string): string | null {
  if (rule === rule.trim()) return null;
  return 'starts or ends with whitespace, which is part of the pattern: remove it';
}

/** A bare `.` between letters or digits is almost always meant as a literal dot. */
function looseDotProblem(tokens: readonly RuleToken[]): string | null {
  const isText = (token: RuleToken | undefined) =>
    token?.kind === 'literal' && /^[A-Za-z0-9_-]$/.test(token.text);
  const at = tokens.findIndex(
    (token, index) =>
      token.kind === 'any' &&
      tokens[index + 1]?.kind !== 'repeat' &&
      (isText(tokens[index - 1]) || isText(tokens[index + 1])),
  );
  if (at === -1) return null;
  const before = literalRun(tokens, at, -1);
  const after = literalRun(tokens, at, 1);
  return `the unescaped . in ${before}.${after} matches any character (${before}X${after} too): write \\.`;
}

/** The literal text next to `tokens[at]`, read in `direction`. */
function literalRun(tokens: readonly RuleToken[], at: number, direction: 1 | -1): string {
  let text = '';
  for (let index = at + direction; tokens[index]?.kind === 'literal'; index += direction) {
    const char = tokens[index]?.text ?? '';
    text = direction === 1 ? text + char : char + text;
  }
  return text;
}

/**
 * In forward_domain, a repeated wildcard can run past the path into the query, and whatever the
 * rule wants after it can then come from the query. A wildcard at the very end is harmless.
 */
function queryRunProblem(tokens: readonly RuleToken[]): string | null {
  for (const alternative of topLevelAlternatives(tokens)) {
    const at = alternative.findIndex(
      (token, index) =>
        isWildcard(token) &&
        alternative[index + 1]?.kind === 'repeat' &&
        !alternative.slice(index + 2).every(isEnd),
    );
    if (at === -1) continue;
    const wildcard = `${alternative[at]?.text ?? ''}${alternative[at + 1]?.text ?? ''}`;
    return `${wildcard} can run on into the query, so query text alone (…/admin?x=…) can satisfy the rule: use [^?]* instead`;
  }
  return null;
}

function isWildcard(token: RuleToken): boolean {
  return token.kind === 'any' || (token.kind === 'class' && classMatchesQuestionMark(token.text));
}

function isEnd(token: RuleToken): boolean {
  return (
    token.kind === 'close' ||
    (token.kind === 'anchor' && (token.text === '$' || token.text === '\\z'))
  );
}

function classMatchesQuestionMark(text: string): boolean {
  try {
    return RE2JS.compile(text).testExact('?');
  } catch {
    return false;
  }
}

/** A rule written for the other kind of subject never matches. */
function modeMismatch(tokens: readonly RuleToken[], mode: Mode): string | null {
  const first = tokens.findIndex((token) => token.kind !== 'flags' && token.kind !== 'open');
  if (tokens[first]?.kind !== 'anchor' || tokens[first]?.text !== '^') return null;
  const start = tokens
    .slice(first + 1, first + 5)
    .map((token) => (token.kind === 'literal' ? token.text : ' '))
    .join('')
    .toLowerCase();
  if (mode === 'forward_domain' && start.startsWith('/')) {
    return 'starts with ^/, but in forward_domain rules see the full URL (scheme://host/path?query), so it never matches';
  }
  if (mode !== 'forward_domain' && start === 'http') {
    return `starts with ^http, but in ${mode} mode rules see only the path, so it never matches`;
  }
  return null;
}
