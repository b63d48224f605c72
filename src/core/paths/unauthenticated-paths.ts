import { RE2JS, RE2Set } from 're2js';

import type { Mode } from '../config/config.js';
import { OutpostError } from '../errors.js';
import { blankLineWarning, lintRule } from './rule-lint.js';
import { splitRuleSource, type SourceRule } from './rule-source.js';

/** The first rule that matched a subject; `line` is 1-based within `skip_path_regex`. */
export interface RuleMatch {
  rule: string;
  line: number;
}

/** A rule that compiles but is probably not what its author meant, or an ignored blank line. */
export interface PathWarning {
  line: number | null;
  rule: string | null;
  message: string;
}

/** One rule's verdict on one subject, for `outpost test-path --explain`. */
export interface RuleVerdict {
  rule: string;
  line: number;
  matches: boolean;
  /** The text the rule matched (leftmost-first, as Go reports it), or null. */
  matched: string | null;
}

/** The compiled `skip_path_regex`: which requests without a session are let through (SPEC §5). */
export interface UnauthenticatedPaths {
  readonly rules: readonly { rule: string; line: number }[];
  /** First matching rule (unanchored search, first wins), or null. All rules in one pass with re2js RE2Set. */
  match(subject: string): RuleMatch | null;
  /** Every rule's verdict on `subject`, in order. Slower than `match`: one search per rule. */
  explain(subject: string): RuleVerdict[];
}

/** Where rules came from, to name a line in messages. */
export interface RuleLocation {
  /** What the rules are called (default `skip_path_regex`; `--rule` for flags). */
  source?: string;
  /** The config file. */
  file?: string | null;
  /** The file line of each line of `skip_path_regex` (index = line - 1). */
  fileLines?: readonly number[] | undefined;
}

export interface CompileRulesOptions extends RuleLocation {
  /** Which subject the rules will see (default `proxy`: the path). */
  mode?: Mode;
}

/**
 * Compiles `skip_path_regex` (a newline-separated string, authentik's form, or a YAML list) with
 * Go's RE2 syntax and semantics. Throws RULE_INVALID naming every bad line with Go's reason; lint
 * warnings (blank lines, unanchored rules, ...) come back beside the matcher.
 */
export function compileUnauthenticatedPaths(
  source: string | readonly string[],
  options: CompileRulesOptions = {},
): { paths: UnauthenticatedPaths; warnings: PathWarning[] } {
  const mode = options.mode ?? 'proxy';
  const split = splitRuleSource(source);
  const problems = [...split.problems];
  const compiled: RE2JS[] = [];
  for (const { rule, line } of split.rules) {
    const result = compileRule(rule);
    if (result.ok) compiled.push(result.pattern);
    else problems.push({ line, message: `${JSON.stringify(rule)}: ${result.reason}` });
  }
  if (problems.length > 0) throw invalidRules(problems, options);

  const warnings = [
    ...split.blankLines.map(blankLineWarning),
    ...split.rules.flatMap(({ rule, line }, index) =>
      lintRule(rule, line, mode, compiled[index] as RE2JS),
    ),
  ].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { paths: new CompiledRules(split.rules, compiled), warnings };
}

/** Compiles one rule, with Go's own message and, for syntax from other engines, what to do. */
export function compileRule(
  rule: string,
): { ok: true; pattern: RE2JS } | { ok: false; reason: string } {
  try {
    return { ok: true, pattern: RE2JS.compile(rule) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const why = unsupportedSyntax(rule);
    return { ok: false, reason: why ? `${message} (${why})` : message };
  }
}

/** Go's messages name the token, not the feature; say which feature from another engine it was. */
function unsupportedSyntax(rule: string): string | null {
  if (/\(\?[=!]/.test(rule)) return "look-ahead is not part of Go's RE2 syntax";
  if (/\(\?<[=!]/.test(rule)) return "look-behind is not part of Go's RE2 syntax";
  if (/(?:^|[^\\])(?:\\\\)*\\[1-9]/.test(rule))
    return "back-references are not part of Go's RE2 syntax";
  if (/\(\?>/.test(rule)) return "atomic groups are not part of Go's RE2 syntax";
  if (/[*+?}]\+/.test(rule)) return "possessive repeats are not part of Go's RE2 syntax";
  if (/(?:^|[^\\])(?:\\\\)*\\Z/.test(rule)) return 'Go has no \\Z: use \\z for the end of the text';
  return null;
}

function invalidRules(
  problems: readonly { line: number; message: string }[],
  options: CompileRulesOptions,
): OutpostError {
  const listed = [...problems]
    .sort((a, b) => a.line - b.line)
    .map(({ line, message }) => `${describeRuleLine(line, options)}: ${message}`);
  const count = listed.length;
  return new OutpostError(
    'RULE_INVALID',
    `${options.source ?? 'skip_path_regex'} has ${count} rule${count === 1 ? '' : 's'} that cannot be used:\n  ${listed.join('\n  ')}`,
    {
      hint: "rules use Go's RE2 syntax (https://github.com/google/re2/wiki/Syntax): no look-around, no back-references",
      problems: listed,
    },
  );
}

/** `outpost.yaml:14: skip_path_regex line 3`, or just the rule line when the file line is unknown. */
export function describeRuleLine(line: number, where: RuleLocation): string {
  const fileLine = where.fileLines?.[line - 1];
  const inFile = where.file && fileLine !== undefined ? `${where.file}:${fileLine}: ` : '';
  return `${inFile}${where.source ?? 'skip_path_regex'} line ${line}`;
}

/** RE2's start condition bit meaning "every match begins at the start of the text". */
const EMPTY_BEGIN_TEXT = 4;

/**
 * Matches every rule in one pass. Rules that can only match at the start of the subject (`^/api/`)
 * go into an RE2Set anchored there, which stops at the first byte no rule can take; the others go
 * into an unanchored one. The lowest matching index over both is the first rule.
 */
class CompiledRules implements UnauthenticatedPaths {
  readonly rules: readonly SourceRule[];
  readonly #patterns: readonly RE2JS[];
  readonly #sets: readonly { set: RE2Set; indexes: number[] }[];

  constructor(rules: readonly SourceRule[], patterns: readonly RE2JS[]) {
    this.rules = rules.map(({ rule, line }) => ({ rule, line }));
    this.#patterns = patterns;
    const anchored = { set: new RE2Set(RE2Set.ANCHOR_START), indexes: [] as number[] };
    const loose = { set: new RE2Set(RE2Set.UNANCHORED), indexes: [] as number[] };
    patterns.forEach((pattern, index) => {
      const target = isStartAnchored(pattern) ? anchored : loose;
      target.set.add(pattern.pattern());
      target.indexes.push(index);
    });
    this.#sets = [anchored, loose].filter(({ indexes }) => indexes.length > 0);
    for (const { set } of this.#sets) set.compile();
  }

  match(subject: string): RuleMatch | null {
    let first = Infinity;
    for (const { set, indexes } of this.#sets) {
      for (const id of set.match(subject)) first = Math.min(first, indexes[id] ?? Infinity);
    }
    const rule = this.rules[first];
    return rule ? { rule: rule.rule, line: rule.line } : null;
  }

  explain(subject: string): RuleVerdict[] {
    return this.rules.map(({ rule, line }, index) => {
      const found = this.#patterns[index]?.exec(subject) ?? null;
      const matched = found ? String(found[0] ?? '') : null;
      return { rule, line, matches: found !== null, matched };
    });
  }
}

/** Whether RE2 proved that every match begins at the start of the text (`^`, `\\A`, not `(?m)^`). */
function isStartAnchored(pattern: RE2JS): boolean {
  const cond: unknown = pattern.re2().cond;
  // an unknown shape (another re2js) only costs speed: the unanchored set is always correct
  return typeof cond === 'number' && (cond & EMPTY_BEGIN_TEXT) !== 0;
}
