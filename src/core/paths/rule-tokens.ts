/**
 * A shallow reading of an RE2 pattern, enough for the lint warnings: which parts are literal text,
 * wildcards, anchors, groups and repeats. It runs only on patterns that already compiled, so it
 * need not report syntax errors.
 */
export type RuleTokenKind =
  'literal' | 'class' | 'any' | 'anchor' | 'open' | 'flags' | 'close' | 'alternation' | 'repeat';

export interface RuleToken {
  kind: RuleTokenKind;
  /** The pattern text of the token; for a literal, the character it stands for. */
  text: string;
}

const SIMPLE: Readonly<Record<string, RuleTokenKind>> = {
  '.': 'any',
  '^': 'anchor',
  $: 'anchor',
  ')': 'close',
  '|': 'alternation',
};
const REPEAT = /^(?:[*+?]|\{\d+(?:,\d*)?\})\??/;
const GROUP = /^\((?:\?(?:P?<[^>]*>|[imsU-]*:))?/;
const FLAGS = /^\(\?[imsU-]+\)/;

/** Reads `rule` into tokens, left to right. */
export function tokenizeRule(rule: string): RuleToken[] {
  const tokens: RuleToken[] = [];
  let index = 0;
  while (index < rule.length) {
    const token = readToken(rule, index);
    tokens.push(...token.tokens);
    index = token.end;
  }
  return tokens;
}

function readToken(rule: string, start: number): { tokens: RuleToken[]; end: number } {
  const rest = rule.slice(start);
  const char = rule.charAt(start);
  const one = (kind: RuleTokenKind, text: string) => ({
    tokens: [{ kind, text }],
    end: start + text.length,
  });

  if (char === '\\') return readEscape(rule, start);
  if (char === '[') return one('class', rule.slice(start, classEnd(rule, start)));
  const repeat = REPEAT.exec(rest);
  if (repeat) return one('repeat', repeat[0]);
  const flags = FLAGS.exec(rest);
  if (flags) return one('flags', flags[0]);
  const group = GROUP.exec(rest);
  if (group) return one('open', group[0]);
  return one(SIMPLE[char] ?? 'literal', char);
}

/** An escape: `\Q...\E` quoting, an assertion (`\A`, `\z`, `\b`), a class or one character. */
function readEscape(rule: string, start: number): { tokens: RuleToken[]; end: number } {
  const next = rule.charAt(start + 1);
  if (next === 'Q') {
    const close = rule.indexOf('\\E', start + 2);
    const end = close === -1 ? rule.length : close;
    const tokens = [...rule.slice(start + 2, end)].map((text) => ({
      kind: 'literal' as const,
      text,
    }));
    return { tokens, end: close === -1 ? end : end + 2 };
  }
  const long = /^\\(?:[pPx]\{[^}]*\}|[pP].|x[0-9A-Fa-f]{2}|[0-7]{1,3}|.)/s.exec(rule.slice(start));
  const text = long?.[0] ?? '\\';
  const end = start + text.length;
  if ('AzbB'.includes(next)) return { tokens: [{ kind: 'anchor', text }], end };
  if (/^[dDsSwWpP]$/.test(next)) return { tokens: [{ kind: 'class', text }], end };
  const literal = /^[A-Za-z0-9]$/.test(next) ? text : next;
  return { tokens: [{ kind: 'literal', text: literal }], end };
}

/** The index after the `]` that closes the class opened at `start`. */
function classEnd(rule: string, start: number): number {
  let index = start + 1;
  if (rule.charAt(index) === '^') index++;
  if (rule.charAt(index) === ']') index++;
  while (index < rule.length && rule.charAt(index) !== ']') {
    if (rule.charAt(index) === '\\') index += 2;
    else if (rule.startsWith('[:', index) && rule.includes(':]', index + 2)) {
      index = rule.indexOf(':]', index + 2) + 2;
    } else index++;
  }
  return Math.min(index + 1, rule.length);
}

/** Splits tokens at each `|` that is outside every group. */
export function topLevelAlternatives(tokens: readonly RuleToken[]): RuleToken[][] {
  const alternatives: RuleToken[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === 'open') depth++;
    if (token.kind === 'close') depth--;
    if (token.kind === 'alternation' && depth === 0) alternatives.push([]);
    else alternatives[alternatives.length - 1]?.push(token);
  }
  return alternatives;
}
