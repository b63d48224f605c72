import { Args, Flags } from '@oclif/core';
import type { ChalkInstance } from 'chalk';

import { OutpostCommand } from '../cli/base-command.js';
import { colorsFor } from '../cli/output.js';
import { MODES } from '../core/config/config.js';
import { loadConfig } from '../core/config/load-config.js';
import { OutpostError } from '../core/errors.js';
import { decidePaths, noRulesWarning, type PathDecision } from '../core/paths/path-decisions.js';
import {
  compileUnauthenticatedPaths,
  describeRuleLine,
  type RuleLocation,
  type PathWarning,
} from '../core/paths/unauthenticated-paths.js';

/** The `--json` answer. */
export interface TestPathResult {
  results: Omit<PathDecision, 'forwarded' | 'verdicts'>[] | PathDecision[];
  warnings: PathWarning[];
}

export default class TestPath extends OutpostCommand {
  static override summary = 'Tell whether paths or URLs are public, and which rule decided.';

  static override description = `Tests each PATH_OR_URL against skip_path_regex exactly as \`outpost serve\` would for a request without a session: the same canonical form of the path, the same Go (RE2) regular expressions, the same first match.

In proxy and forward_single mode the rules see the path without its query; in forward_domain they see the full URL (scheme://host/path?query), and a bare path is taken relative to external_host. A path that serve refuses with 400 (an encoded /, a ; parameter, a literal #, ...) is reported as refused.

Give - to read one path or URL per line from standard input (blank lines and lines starting with # are skipped).

Exit status, like grep: 0 when every input is public, 1 when any is protected or refused, 2 for bad usage, a missing or invalid config, or a rule that does not compile.`;

  static override examples = [
    {
      description: 'Is the health check public?',
      command: '<%= config.bin %> <%= command.id %> /api/health',
    },
    {
      description: 'Every rule, its verdict and the string it saw',
      command: '<%= config.bin %> <%= command.id %> /api/health /admin --explain',
    },
    {
      description: 'Domain mode tests the whole URL',
      command:
        "<%= config.bin %> <%= command.id %> 'https://app.localhost/x?y' --mode forward_domain",
    },
    {
      description: 'Paths from a file',
      command: 'cat paths.txt | <%= config.bin %> <%= command.id %> -',
    },
    {
      description: 'Try rules without editing the config',
      command: "<%= config.bin %> <%= command.id %> /x --rule '^/x$' --rule '^/y'",
    },
  ];

  static override strict = false;

  static override enableJsonFlag = true;

  static override args = {
    path_or_url: Args.string({
      description: 'A path (/api/health?x=1) or URL (https://app.localhost/x), or - for stdin.',
      required: true,
    }),
  };

  static override flags = {
    explain: Flags.boolean({ summary: 'Show every rule, its verdict and the string it saw.' }),
    mode: Flags.string({
      summary: 'Which subject the rules see (default: the config, else proxy).',
      options: [...MODES],
    }),
    rule: Flags.string({
      summary: "A rule to test instead of the config's skip_path_regex (repeatable).",
      multiple: true,
      multipleNonGreedy: true,
    }),
  };

  async run(): Promise<TestPathResult> {
    const { argv, flags } = await this.parse(TestPath);
    const { config, paths, warnings, where } = await loadRules(flags);
    const inputs = await readInputs(argv as string[]);

    const decisions = decidePaths(paths, inputs, {
      mode: config.mode,
      baseUrl: config.external_host ?? `http://localhost:${config.port}`,
      explain: flags.explain,
    });
    // grep's convention: 0 only when every input is public
    process.exitCode = decisions.every((decision) => decision.public) ? 0 : 1;

    printWarnings(warnings, where);
    if (!this.jsonEnabled()) {
      const color = colorsFor(process.stdout);
      for (const decision of decisions) {
        this.log(flags.explain ? explained(decision, color) : summarised(decision, color));
      }
    }
    return { results: decisions.map((decision) => jsonOf(decision, flags.explain)), warnings };
  }
}

/**
 * The config (for the mode and external host) and the rules: `--rule` values when given, else the
 * config's skip_path_regex. A missing default config is fine; a missing `--config` is not.
 */
async function loadRules(flags: { config?: string; mode?: string; rule?: string[] }) {
  const config = await loadConfig({
    cwd: process.cwd(),
    env: process.env,
    flags: { mode: flags.mode },
    configPath: flags.config,
  });
  const fromFlags = flags.rule !== undefined;
  const where: RuleLocation = fromFlags
    ? { source: '--rule' }
    : { file: config.file, fileLines: config.skip_path_regex_lines };
  const { paths, warnings } = compileUnauthenticatedPaths(flags.rule ?? config.skip_path_regex, {
    mode: config.mode,
    ...where,
  });
  if (paths.rules.length === 0) warnings.push(noRulesWarning(config.file !== null || fromFlags));
  return { config, paths, warnings, where };
}

function printWarnings(warnings: readonly PathWarning[], where: RuleLocation): void {
  const color = colorsFor(process.stderr);
  for (const { line, rule, message } of warnings) {
    const at = line === null ? '' : `${describeRuleLine(line, where)}: `;
    const what = rule ? `${rule}: ` : '';
    process.stderr.write(`${color.yellow('Warning:')} ${at}${what}${message}\n`);
  }
}

/** Arguments, with `-` replaced by the lines of standard input. */
async function readInputs(argv: readonly string[]): Promise<string[]> {
  const inputs: string[] = [];
  for (const arg of argv) {
    if (arg !== '-') {
      inputs.push(arg);
      continue;
    }
    const lines = (await readStdin()).split('\n').map((line) => line.replace(/\r$/, ''));
    inputs.push(...lines.filter((line) => line.trim() !== '' && !line.startsWith('#')));
  }
  if (inputs.length === 0) {
    throw new OutpostError('USAGE', 'no path or URL to test', {
      hint: 'give at least one path, or pipe one per line into `outpost test-path -`',
    });
  }
  return inputs;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function summarised(decision: PathDecision, color: ChalkInstance): string {
  const seen =
    decision.subject !== null && decision.subject !== decision.input
      ? color.dim(` (seen as ${decision.subject})`)
      : '';
  const verdict = paint(verdictOf(decision), color, 'protected'.length);
  return `${verdict}  ${decision.input}${seen}  ${reasonOf(decision)}`;
}

function explained(decision: PathDecision, color: ChalkInstance): string {
  const lines = [decision.input];
  if (decision.refused === null) {
    lines.push(
      `  subject    ${decision.subject ?? ''}`,
      `  forwarded  ${decision.forwarded ?? ''}`,
    );
  }
  const width = Math.max(0, ...(decision.verdicts ?? []).map(({ rule }) => rule.length));
  for (const verdict of decision.verdicts ?? []) {
    const outcome = verdict.matches
      ? color.green(`matches ${JSON.stringify(verdict.matched)}`)
      : color.dim('no match');
    lines.push(`  line ${verdict.line}  ${verdict.rule.padEnd(width)}  ${outcome}`);
  }
  lines.push(`  ${paint(verdictOf(decision), color)}: ${reasonOf(decision)}`);
  return lines.join('\n');
}

function verdictOf(decision: PathDecision): 'public' | 'protected' | 'refused' {
  if (decision.refused !== null) return 'refused';
  return decision.public ? 'public' : 'protected';
}

/** The verdict in its colour, padded before colouring so that columns line up. */
function paint(verdict: ReturnType<typeof verdictOf>, color: ChalkInstance, width = 0): string {
  const text = verdict.padEnd(width);
  if (verdict === 'refused') return color.red(text);
  return verdict === 'public' ? color.green(text) : color.yellow(text);
}

function reasonOf(decision: PathDecision): string {
  if (decision.refused !== null) return `serve answers 400: ${decision.refused}`;
  if (decision.rule === null) return 'no rule matched: a session is needed';
  return `rule ${decision.rule} (line ${decision.line})`;
}

/** The `--json` shape of one decision: `forwarded` and the rules' verdicts only with --explain. */
function jsonOf(decision: PathDecision, explain: boolean) {
  if (explain) return decision;
  const { forwarded: _forwarded, verdicts: _verdicts, ...shown } = decision;
  return shown;
}
