import type { Mode } from '../config/config.js';
import { subjectForInput } from './request-subject.js';
import type { PathWarning, RuleVerdict, UnauthenticatedPaths } from './unauthenticated-paths.js';

/** What `serve` would decide for one path or URL without a session, and why. */
export interface PathDecision {
  input: string;
  /** The exact string the rules were tested against; null when the request is refused first. */
  subject: string | null;
  public: boolean;
  /** The first rule that matched, or null. */
  rule: string | null;
  /** Its 1-based line within `skip_path_regex`, or null. */
  line: number | null;
  /** Why `serve` answers 400 before any rule is tried (an ambiguous encoding), or null. */
  refused: string | null;
  /** The path and query the app would receive, or null when refused. */
  forwarded: string | null;
  /** Every rule's verdict, when asked for. */
  verdicts?: RuleVerdict[];
}

export interface DecidePathsOptions {
  mode: Mode;
  /** The origin a bare path is taken relative to in `forward_domain` (the external host). */
  baseUrl: string;
  /** Also report every rule's verdict. */
  explain?: boolean;
}

/**
 * Decides each input (a path or a full URL) exactly as `serve` would for a request without a
 * session: the same subject, the same rules, the same first match.
 */
export function decidePaths(
  paths: UnauthenticatedPaths,
  inputs: readonly string[],
  options: DecidePathsOptions,
): PathDecision[] {
  return inputs.map((input) => decidePath(paths, input, options));
}

function decidePath(
  paths: UnauthenticatedPaths,
  input: string,
  options: DecidePathsOptions,
): PathDecision {
  const subject = subjectForInput(options.mode, input, options.baseUrl);
  if (!subject.ok) {
    const refused = { subject: null, public: false, rule: null, line: null, forwarded: null };
    return { input, ...refused, refused: subject.reason, ...(options.explain && { verdicts: [] }) };
  }
  const match = paths.match(subject.subject);
  const decision: PathDecision = {
    input,
    subject: subject.subject,
    public: match !== null,
    rule: match?.rule ?? null,
    line: match?.line ?? null,
    refused: null,
    forwarded: subject.path,
  };
  if (options.explain) decision.verdicts = paths.explain(subject.subject);
  return decision;
}

/** The warning when there are no rules at all, so that "everything is protected" is never a surprise. */
export function noRulesWarning(hasConfigFile: boolean): PathWarning {
  const why = hasConfigFile
    ? 'skip_path_regex is empty'
    : 'no config file was found and no --rule was given';
  return {
    line: null,
    rule: null,
    message: `${why}: there are no unauthenticated paths, so every path needs a session`,
  };
}
