import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { isolatedEnv, startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';

/** The built CLI's `serve`, running as its own process, so that its memory can be measured. */
export interface ServeProcess {
  url: string;
  pid: number;
  stateDir: string;
  /** The working directory, where outpost.yaml is. */
  dir: string;
  output(): string;
  stop(): Promise<number | null>;
}

export interface ServeProcessOptions {
  /** outpost.yaml's text; none by default. */
  yaml?: string;
  args?: string[];
  /** Share a state directory with another serve. */
  stateDir?: string;
  env?: Record<string, string>;
}

/** Starts `outpost serve` on a free loopback port, HTTP only in practice (HTTPS on another). */
export async function startServeProcess(options: ServeProcessOptions = {}): Promise<ServeProcess> {
  const sandbox = isolatedEnv(options.env);
  const stateDir = options.stateDir ?? join(sandbox.dir, 'state');
  if (options.yaml !== undefined) writeFileSync(join(sandbox.dir, 'outpost.yaml'), options.yaml);
  const [port, httpsPort] = [await freePort(), await freePort()];
  const args = ['serve', '--port', String(port), '--https-port', String(httpsPort)];
  const serve = await startCli([...args, '--state-dir', stateDir, ...(options.args ?? [])], {
    cwd: sandbox.dir,
    env: sandbox.env,
    ready: /sign-in: |every request is signed in as/,
  });
  let stopping: Promise<number | null> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    pid: serve.child.pid!,
    stateDir,
    dir: sandbox.dir,
    output: serve.output,
    stop: () =>
      (stopping ??= (async () => {
        serve.child.kill('SIGTERM');
        const timer = setTimeout(() => serve.child.kill('SIGKILL'), 8000);
        const code = await serve.exited;
        clearTimeout(timer);
        sandbox.cleanup();
        return code;
      })()),
  };
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM, ...). */
export function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** How many file descriptors the process has open. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * How many of the process's open TCP sockets have `port` at the far end (connections it opened to
 * that server), from /proc/net/tcp{,6}: pooled connections to the app are not leaks, others are.
 */
export function socketsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const link = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`));
    if (link) inodes.add(link[1]!);
  }
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const remotePort = Number.parseInt(fields[2]?.split(':')[1] ?? '', 16);
      if (remotePort === port && inodes.has(fields[9] ?? '')) count += 1;
    }
  }
  return count;
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    // the descriptor closed between the listing and this look
    return '';
  }
}

/** The processes `pid` started (the workers of `serve --workers N`). */
export function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(' ').map(Number);
}
