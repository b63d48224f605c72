import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

import type { OutpostConfig } from '../core/config/config.js';
import { digestOf } from '../core/config/load-config.js';
import { isOutpostError, systemErrorCode } from '../core/errors.js';
import type { Reconfigured } from '../core/proxy/outpost-server.js';

/** Keys that say where the configuration came from rather than what it is. */
const NOT_SETTINGS = new Set(['file', 'file_digest', 'warnings', 'skip_path_regex_lines']);

export interface ConfigReloadOptions {
  /** The config file's path: the one serve read, or the outpost.yaml it would read. */
  path: string;
  /** The configuration serve runs with now. */
  current: OutpostConfig;
  /** Loads the configuration again, with the same flags and environment as at start. */
  load: () => Promise<OutpostConfig>;
  /** Serves the loaded configuration. */
  apply: (config: OutpostConfig) => Promise<Reconfigured>;
  /** Says that the file was reloaded and what changed. */
  notice: (message: string) => void;
  /** Says why the file could not be used, or what needs a restart. */
  warn: (message: string) => void;
  /** How long the file must stay unchanged before it is read (editors write in steps). */
  settleMs?: number;
}

/**
 * Watches the config file while serve runs and serves each saved version that is valid: dev
 * users, rules, headers settings, the app and the provider change without a restart. A version
 * with problems is reported and the previous configuration stays in force; settings that need
 * new listeners (ports, TLS, workers) are named as needing a restart.
 */
export function watchConfigFile(options: ConfigReloadOptions): { close(): void } {
  const name = basename(options.path);
  let current = options.current;
  // the version serve runs with; an edit made while serve was starting is picked up below
  let lastText: string | null = options.current.file_digest ?? null;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const reload = async () => {
    const text = await readText(options.path);
    if (text === lastText) return;
    const shown = current.file ?? name;
    if (text === null) {
      lastText = null;
      if (current.file) {
        options.warn(`${shown} was removed: still serving with the configuration it had`);
      }
      return;
    }
    lastText = text;
    let next: OutpostConfig;
    let outcome: Reconfigured;
    try {
      next = await options.load();
      outcome = await options.apply(next);
    } catch (error) {
      options.warn(`${describeRefusal(error)}\nstill serving with the previous configuration`);
      return;
    }
    const changed = changedSettings(current, next);
    current = next;
    options.notice(
      `${next.file ?? shown} reloaded: ${changed.length > 0 ? `${changed.join(', ')} changed` : 'no setting changed'}`,
    );
    for (const warning of next.warnings) options.warn(warning);
    if (outcome.needRestart.length > 0) {
      const keys = outcome.needRestart.join(', ');
      options.warn(`${keys} changed: restart serve to use the new value`);
    }
  };

  const guarded = () =>
    reload().catch((error: unknown) =>
      options.warn(`cannot read ${options.path} (${describe(error)}): still serving as before`),
    );

  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(options.path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        running = running.then(guarded);
      }, options.settleMs ?? 150);
    });
    watcher.on('error', () => watcher?.close());
    running = running.then(guarded);
  } catch (error) {
    options.warn(
      `cannot watch ${options.path} for changes (${describe(error)}): restart serve after editing it`,
    );
  }
  return {
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

/** The top-level settings whose values differ, in the configuration's own order. */
export function changedSettings(before: OutpostConfig, after: OutpostConfig): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter(
    (key) =>
      !NOT_SETTINGS.has(key) &&
      JSON.stringify(before[key as keyof OutpostConfig]) !==
        JSON.stringify(after[key as keyof OutpostConfig]),
  );
}

async function readText(path: string): Promise<string | null> {
  try {
    return digestOf(await readFile(path, 'utf8'));
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** Why a saved version cannot be served, with what to do about it in a running serve. */
function describeRefusal(error: unknown): string {
  if (isOutpostError(error) && error.code === 'CONFIG_INVALID') {
    return `${error.message}\nhint: fix them and save the file again`;
  }
  return describe(error);
}

function describe(error: unknown): string {
  if (!isOutpostError(error)) return error instanceof Error ? error.message : String(error);
  return error.hint ? `${error.message}\nhint: ${error.hint}` : error.message;
}
