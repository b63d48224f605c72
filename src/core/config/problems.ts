import type { ValueOrigin } from './config.js';

/**
 * Collects every configuration problem so that all of them are reported at once, each as
 * `where: key: value: what is wrong: what is allowed`.
 */
export class Problems {
  readonly list: string[] = [];

  add(origin: ValueOrigin, key: string, value: unknown, message: string): void {
    const shown = value === undefined ? '' : ` ${describeValue(value)}:`;
    const named = origin.via && spellsKey(origin.via, key) ? '' : ` ${key}:`;
    this.list.push(`${describeOrigin(origin)}:${named}${shown} ${message}`);
  }

  /** The problems in file order; those from flags and environment first. */
  sortedByLine(): Problems {
    const lineOf = (text: string) => Number(/^[^:]*:(\d+):/.exec(text)?.[1] ?? 0);
    const sorted = new Problems();
    sorted.list.push(...[...this.list].sort((a, b) => lineOf(a) - lineOf(b)));
    return sorted;
  }

  get isEmpty(): boolean {
    return this.list.length === 0;
  }
}

/** `--https-port` and `OUTPOST_HTTPS_PORT` name `https_port`; saying both would be noise. */
function spellsKey(via: string, key: string): boolean {
  const spelled = via
    .replace(/^(--|OUTPOST_)/, '')
    .toLowerCase()
    .replaceAll('-', '_');
  return spelled === key.replaceAll('.', '_');
}

export function describeOrigin(origin: ValueOrigin): string {
  if (origin.via) return origin.via;
  if (origin.file && origin.line) return `${origin.file}:${origin.line}`;
  return origin.file ?? 'config';
}

/** A value as the user would recognise it, shortened; secrets are never passed in here. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text =
      typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Characters that would let a value break out of an HTTP header: CR, LF, NUL and other controls. */
export function findUnsafeHeaderCharacter(value: string): string | null {
  for (const char of value) {
    const code = char.charCodeAt(0);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) {
      return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    }
  }
  return null;
}

/** The closest known key, for "did you mean" hints on typos. */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(unknown.length / 3)) + 1;
  for (const key of known) {
    const distance = editDistance(unknown.toLowerCase(), key);
    if (distance < bestDistance) {
      best = key;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
