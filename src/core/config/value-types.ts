import { availableParallelism } from 'node:os';

/**
 * The value types a config key can have. Each parses a value from YAML or, when `fromText` is
 * set, from the text of an environment variable or flag, and says what is allowed when it fails.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export interface ValueType<T> {
  parse(value: unknown, fromText: boolean): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string): Parsed<T> => ({ ok: false, message });

export const text: ValueType<string> = {
  parse: (value) =>
    typeof value === 'string'
      ? ok(value)
      : typeof value === 'number'
        ? ok(String(value))
        : fail('is not text: write a string'),
};

export const boolean: ValueType<boolean> = {
  parse(value, fromText) {
    if (typeof value === 'boolean') return ok(value);
    if (fromText && typeof value === 'string') {
      const lower = value.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return ok(true);
      if (['false', '0', 'no', 'off'].includes(lower)) return ok(false);
    }
    return fail('is not a boolean: use true or false');
  },
};

export function integer(min: number, max: number, what = 'a whole number'): ValueType<number> {
  return {
    parse(value, fromText) {
      const number =
        fromText && typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)
          ? Number(value)
          : value;
      if (
        typeof number === 'number' &&
        Number.isInteger(number) &&
        number >= min &&
        number <= max
      ) {
        return ok(number);
      }
      return fail(`is not ${what}: use a whole number from ${min} to ${max}`);
    },
  };
}

export const port = integer(0, 65535, 'a port');

const MAX_WORKERS = 64;

/** How many processes serve requests: a whole number, or `auto` for one per CPU core. */
export const workerCount: ValueType<number> = {
  parse(value, fromText) {
    if (value === 'auto') return ok(Math.min(availableParallelism(), MAX_WORKERS));
    const parsed = integer(1, MAX_WORKERS, 'a number of workers').parse(value, fromText);
    return parsed.ok ? parsed : fail(`${parsed.message}, or auto for one per CPU core`);
  },
};

export function oneOf<T extends string>(choices: readonly T[], what: string): ValueType<T> {
  return {
    parse: (value) =>
      typeof value === 'string' && (choices as readonly string[]).includes(value)
        ? ok(value as T)
        : fail(`is not ${what}: use ${listChoices(choices)}`),
  };
}

/** An absolute http(s) URL; its trailing slash is removed. */
export const httpUrl: ValueType<string> = {
  parse(value) {
    if (typeof value !== 'string') return fail('is not a URL: write an http:// or https:// URL');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail('is not a URL: write an http:// or https:// URL such as http://localhost:3000');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return fail('is not an http(s) URL: use http:// or https://');
    }
    if (url.username || url.password) return fail('has credentials in it: remove user:password@');
    return ok(value.replace(/\/+$/, ''));
  },
};

/** A list of strings; from text, a comma or space separated list. */
export const textList: ValueType<string[]> = {
  parse(value, fromText) {
    if (fromText && typeof value === 'string') return ok(value.split(/[\s,]+/).filter(Boolean));
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return ok(value);
    return fail('is not a list of strings: write a YAML list such as [a, b]');
  },
};

/** `skip_path_regex`: authentik's newline-separated string, or a YAML list of strings. */
export const ruleSource: ValueType<string | string[]> = {
  parse(value) {
    if (typeof value === 'string') return ok(value);
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return ok(value);
    return fail('is not a rule list: write one regular expression per line, or a YAML list');
  },
};

/**
 * Seconds, as a number or in authentik's timedelta form (`hours=24`, `days=1;minutes=30`), which
 * is what its API shows, so values can be pasted from an authentik instance.
 */
export const duration: ValueType<number> = {
  parse(value, fromText) {
    if (typeof value === 'number' || (fromText && /^\s*\d+\s*$/.test(String(value)))) {
      const seconds = Number(value);
      if (Number.isInteger(seconds) && seconds > 0) return ok(seconds);
    }
    if (typeof value === 'string') {
      const seconds = parseTimedelta(value);
      if (seconds !== null && seconds > 0) return ok(seconds);
    }
    return fail('is not a duration: use seconds (86400) or authentik\'s form ("hours=24")');
  },
};

const UNIT_SECONDS: Record<string, number> = {
  weeks: 604800,
  days: 86400,
  hours: 3600,
  minutes: 60,
  seconds: 1,
};

function parseTimedelta(value: string): number | null {
  let total = 0;
  for (const part of value.split(';')) {
    const match = /^\s*(weeks|days|hours|minutes|seconds)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!match) return null;
    total += Number(match[2]) * UNIT_SECONDS[match[1]!]!;
  }
  return Math.round(total);
}

export function listChoices(choices: readonly string[]): string {
  if (choices.length <= 1) return choices.join('');
  return `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
}
