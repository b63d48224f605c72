import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

/**
 * A parsed YAML file as plain values, plus the line of every key path (`users[0].email`), so that
 * validation can work on plain values and still name the line of each problem.
 */
export interface YamlSource {
  value: unknown;
  lineOf(path: string): number | undefined;
  /** Syntax errors, each with its line. */
  errors: { line: number; message: string }[];
}

export function parseYamlSource(text: string): YamlSource {
  const counter = new LineCounter();
  // logLevel: the library's own console warnings (keys that are maps) must not reach our output
  const doc = parseDocument(text, {
    lineCounter: counter,
    prettyErrors: false,
    uniqueKeys: true,
    logLevel: 'error',
  });
  const lines = new Map<string, number>();
  const lineAt = (offset: number) => counter.linePos(offset).line;
  if (doc.contents) recordLines(doc.contents as Node, '', lines, lineAt);

  const errors = doc.errors.map((error) => ({
    line: lineAt(error.pos[0]),
    message: error.message.split('\n')[0] ?? error.message,
  }));
  return {
    value: errors.length > 0 ? undefined : plainValue(doc, errors),
    lineOf: (path) => lines.get(path),
    errors,
  };
}

/** The document as plain values; an alias bomb is reported as an error of the file, not thrown. */
function plainValue(doc: Document, errors: YamlSource['errors']): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    errors.push({ line: 1, message: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}

function recordLines(
  node: Node,
  path: string,
  lines: Map<string, number>,
  lineAt: (offset: number) => number,
): void {
  if (node.range) lines.set(path, lineAt(node.range[0]));
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const childPath = path ? `${path}.${String(pair.key.value)}` : String(pair.key.value);
      if (pair.key.range) lines.set(childPath, lineAt(pair.key.range[0]));
      if (pair.value) recordValueLines(pair.value as Node, childPath, lines, lineAt);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      recordLines(item as Node, `${path}[${index}]`, lines, lineAt);
    });
  }
}

/** The value of a key keeps the key's line; only its children add lines of their own. */
function recordValueLines(
  node: Node,
  path: string,
  lines: Map<string, number>,
  lineAt: (offset: number) => number,
): void {
  if (isMap(node) || isSeq(node)) {
    const keyLine = lines.get(path);
    recordLines(node, path, lines, lineAt);
    if (keyLine !== undefined) lines.set(path, keyLine);
  } else if (node.range) {
    lines.set(`${path}#value`, lineAt(node.range[0]));
  }
}
