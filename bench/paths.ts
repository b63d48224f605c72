// How long serve takes to decide whether a request without a session is public: 100 rules in one
// RE2Set pass, against a short path and a 2 KB one. Run: node --import tsx bench/paths.ts
import { subjectForRequest } from '../src/core/paths/request-subject.js';
import { compileUnauthenticatedPaths } from '../src/core/paths/unauthenticated-paths.js';

const GOAL_MICROSECONDS = 20;

/**
 * A mix like real configs: prefixes, exact paths, case-insensitive suffixes, optional tails, and
 * (unless `anchoredOnly`) one rule in five without `^`, which forces a scan of the whole path.
 */
function hundredRules(anchoredOnly: boolean): string[] {
  return Array.from({ length: 100 }, (_, index) => {
    switch (index % 5) {
      case 0:
        return `^/api/v${index}/public/`;
      case 1:
        return `^/health${index}$`;
      case 2:
        return `(?i)^/static/app${index}/[^/]+\\.(?:js|css|map)$`;
      case 3:
        return `^/(?:docs|help)/section-${index}(?:/.*)?$`;
      default:
        return `${anchoredOnly ? '^' : ''}/webhooks/hook-${index}/[0-9a-f]{8}$`;
    }
  });
}

/**
 * Microseconds per call of `run`: the best of 15 batches, since other processes on a shared
 * machine only ever make a batch slower.
 */
function measure(run: () => unknown): number {
  for (let index = 0; index < 5_000; index++) run();
  const batches: number[] = [];
  for (let batch = 0; batch < 15; batch++) {
    const calls = 4_000;
    const start = process.hrtime.bigint();
    for (let index = 0; index < calls; index++) run();
    batches.push(Number(process.hrtime.bigint() - start) / calls / 1_000);
  }
  return Math.min(...batches);
}

const TARGETS: Readonly<Record<string, string>> = {
  'short path': '/admin/users/42?tab=profile',
  '2 KB path': `/admin/${'segment-a/b'.repeat(186)}?q=1`,
  '2 KB path, escaped': `/admin/${'caf%C3%A9-%7Ea/b'.repeat(128)}?q=1`,
};

function main(): void {
  const mixed = compileUnauthenticatedPaths(hundredRules(false)).paths;
  const anchored = compileUnauthenticatedPaths(hundredRules(true)).paths;
  const rows: string[][] = [];
  for (const [name, target] of Object.entries(TARGETS)) {
    const subject = subjectOf(target);
    if (mixed.match(subject) || anchored.match(subject)) throw new Error('no rule may match');

    // the reference has to read the whole subject, as the unanchored rules do
    const native = /\/webhooks\/hook-4\/[0-9a-f]{8}$/;
    const reference = measure(() => native.test(subject));
    rows.push(
      row(
        `${name} (${subject.length} chars), 100 rules`,
        measure(() => mixed.match(subject)),
        reference,
      ),
    );
    rows.push(
      row(
        `  same, 100 rules all with ^`,
        measure(() => anchored.match(subject)),
        reference,
      ),
    );
    rows.push(
      row(
        `  same, canonical form + 100 rules`,
        measure(() => mixed.match(subjectOf(target))),
        reference,
      ),
    );
    rows.push(row(`  same, one native RegExp (reference)`, reference, reference));
  }
  printTable(['decision', 'µs each', '× reference', `goal < ${GOAL_MICROSECONDS} µs`], rows);
}

function subjectOf(target: string): string {
  const decided = subjectForRequest('proxy', { scheme: 'http', host: 'h', rawTarget: target });
  if (!decided.ok) throw new Error(`the benchmark path was refused: ${decided.reason}`);
  return decided.subject;
}

function row(name: string, microseconds: number, reference: number): string[] {
  return [
    name,
    microseconds.toFixed(2),
    (microseconds / reference).toFixed(0),
    microseconds < GOAL_MICROSECONDS ? 'ok' : 'OVER',
  ];
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((cells) => cells[column]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const cells of rows) console.log(line(cells));
}

main();
