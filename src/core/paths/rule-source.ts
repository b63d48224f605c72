/** One rule of `skip_path_regex` and its 1-based line within it (its index in a YAML list). */
export interface SourceRule {
  rule: string;
  line: number;
}

export interface SplitRules {
  rules: SourceRule[];
  /** Lines that held nothing but whitespace; authentik would compile them as match-everything. */
  blankLines: number[];
  /** Lines that cannot be rules at all. */
  problems: { line: number; message: string }[];
}

/**
 * Splits `skip_path_regex` into rules the way authentik does, on `\n`, with a trailing `\r` (a
 * file written on Windows) removed. The empty piece after a final newline, which a YAML `|` block
 * always leaves, is not a line. A YAML list gives one rule per item.
 */
export function splitRuleSource(source: string | readonly string[]): SplitRules {
  const split: SplitRules = { rules: [], blankLines: [], problems: [] };
  const lines = typeof source === 'string' ? linesOf(source) : source;
  lines.forEach((text, index) => {
    const line = index + 1;
    const rule = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (rule.includes('\n')) {
      split.problems.push({
        line,
        message: 'holds a line break: give each rule its own list item',
      });
    } else if (rule.trim() === '') {
      split.blankLines.push(line);
    } else {
      split.rules.push({ rule, line });
    }
  });
  return split;
}

function linesOf(source: string): string[] {
  const lines = source.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
