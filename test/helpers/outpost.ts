import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadConfig } from '../../src/core/config/load-config.js';
import {
  startOutpost,
  type OutpostHandle,
  type StartOutpostOptions,
} from '../../src/core/proxy/outpost-server.js';
import type { AccessEntry } from '../../src/core/proxy/access-log.js';
import { loadTlsMaterial } from '../../src/core/tls/certificate.js';

export interface TestOutpost extends OutpostHandle {
  dir: string;
  stateDir: string;
  access: AccessEntry[];
  warnings: string[];
  /** The generated certificate, when started with https. */
  ca: string | null;
}

export interface TestOutpostOptions {
  /** The YAML config file's text. */
  yaml?: string;
  /** Reuse a state directory (to restart with the same sessions). */
  stateDir?: string;
  https?: boolean;
  presetUser?: string;
  env?: Record<string, string>;
  /** The HTTP port; 0 (any free port) by default. */
  port?: number;
}

/** Starts a real outpost in this process on ports 0, from a YAML config written to a temp dir. */
export async function startTestOutpost(options: TestOutpostOptions = {}): Promise<TestOutpost> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-test-'));
  const stateDir = options.stateDir ?? join(dir, 'state');
  if (options.yaml !== undefined) writeFileSync(join(dir, 'outpost.yaml'), options.yaml);
  const config = await loadConfig({
    cwd: dir,
    env: options.env ?? {},
    flags: { port: options.port ?? 0, https_port: 0 },
  });
  const tls = options.https ? await loadTlsMaterial({ stateDir, cert: null, key: null }) : null;
  const access: AccessEntry[] = [];
  const warnings: string[] = [];
  const startOptions: StartOutpostOptions = {
    config,
    stateDir,
    version: '0.0.0-test',
    tls,
    gracePeriod: 500,
    onAccess: (entry) => access.push(entry),
    onWarning: (message) => warnings.push(message),
  };
  if (options.presetUser !== undefined) startOptions.presetUser = options.presetUser;
  const handle = await startOutpost(startOptions);
  return {
    ...handle,
    dir,
    stateDir,
    access,
    warnings,
    ca: tls?.cert ?? null,
    close: async () => {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
