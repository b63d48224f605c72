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
  /** Loads the file's new text with the same flags and environment as at start. */
  load: (text: string) => Promise<OutpostConfig>;
  /** Serves the loaded configuration. */
  apply: (config: OutpostConfig) => Promise<Reconfigured>;
  /** Says that the file was reloaded and what changed. */
  notice: (message: string) => void;
  /** Told the text of each version that is now served. */
  onApplied?: (text: string) => void;
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
  const watcher = new ConfigFileWatcher(options);
  watcher.start();
  return { close: () => watcher.close() };
}

class ConfigFileWatcher {
  private readonly name: string;
  private current: OutpostConfig;
  /** Digest of the version last read; starts as the one serve was started with. */
  private lastDigest: string | null;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private watcher: FSWatcher | null = null;

  constructor(private readonly options: ConfigReloadOptions) {
    this.name = basename(options.path);
    this.current = options.current;
    this.lastDigest = options.current.file_digest ?? null;
  }

  start(): void {
    try {
      this.watcher = watch(dirname(this.options.path), { persistent: false }, (_event, name) => {
        if (name === null || name === this.name) this.schedule();
      });
      this.watcher.on('error', () => this.close());
    } catch (error) {
      this.options.warn(
        `cannot watch ${this.options.path} for changes (${describe(error)}): restart serve after editing it`,
      );
      return;
    }
    // an edit saved while serve was starting has no event of its own
    this.enqueue();
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = null;
  }

  /** Editors save in steps (write, rename); the file is read once it has settled. */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.enqueue(), this.options.settleMs ?? 150);
  }

  private enqueue(): void {
    this.queue = this.queue.then(() =>
      this.reload().catch((error: unknown) =>
        this.options.warn(
          `cannot read ${this.options.path} (${describe(error)}): still serving as before`,
        ),
      ),
    );
  }

  private async reload(): Promise<void> {
    const text = await textOfFile(this.options.path);
    const digest = text === null ? null : digestOf(text);
    if (digest === this.lastDigest) return;
    this.lastDigest = digest;
    if (text === null) {
      const file = this.current.file;
      if (file)
        this.options.warn(`${file} was removed: still serving with the configuration it had`);
      return;
    }
    let next: OutpostConfig;
    let outcome: Reconfigured;
    try {
      next = await this.options.load(text);
      outcome = await this.options.apply(next);
    } catch (error) {
      this.options.warn(`${describeRefusal(error)}\nstill serving with the previous configuration`);
      return;
    }
    this.report(next, outcome);
    this.current = next;
    this.options.onApplied?.(text);
  }

  private report(next: OutpostConfig, outcome: Reconfigured): void {
    const changed = changedSettings(this.current, next);
    const what = changed.length > 0 ? `${changed.join(', ')} changed` : 'no setting changed';
    this.options.notice(`${next.file ?? this.name} reloaded: ${what}`);
    for (const warning of next.warnings) this.options.warn(warning);
    if (outcome.needRestart.length > 0) {
      const keys = outcome.needRestart.join(', ');
      this.options.warn(`${keys} changed: restart serve to use the new value`);
    }
  }
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

async function textOfFile(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
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
