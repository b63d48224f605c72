import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from './free-port.js';

/** A reverse proxy (nginx, Caddy) running as a child process on a loopback port. */
export interface ProxyProcess {
  port: number;
  /** Its temp directory (config, logs). */
  dir: string;
  /** What it wrote to stdout and stderr so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface ProxyLaunch {
  name: string;
  /** Writes the config for `port` into `dir`; returns the command and arguments to run. */
  prepare(dir: string, port: number): { command: string; args: string[]; env?: NodeJS.ProcessEnv };
}

const ATTEMPTS = 5;
const READY_TIMEOUT_MS = 15_000;

/** The port was taken between asking the OS for a free one and binding it: try another. */
export class PortTakenError extends Error {}

/**
 * Starts a reverse proxy on a port the OS just reported free. Another process can take that port
 * before the proxy binds it, so a start that fails on the address is retried with a new port;
 * with a fixed `port` (the caller has put it in other configs) it throws PortTakenError instead.
 */
export async function startProxyProcess(launch: ProxyLaunch, port?: number): Promise<ProxyProcess> {
  const failures: string[] = [];
  for (let attempt = 0; attempt < (port === undefined ? ATTEMPTS : 1); attempt += 1) {
    const dir = mkdtempSync(join(tmpdir(), `outpost-${launch.name}-`));
    const started = await startOnce(launch, dir, port ?? (await freePort()));
    if (started.ok) return started.proxy;
    rmSync(dir, { recursive: true, force: true });
    failures.push(started.output);
    if (!isAddressInUse(started.output)) break;
  }
  const message = `${launch.name} did not start:\n${failures.join('\n---\n')}`;
  throw port !== undefined && isAddressInUse(failures.at(-1) ?? '')
    ? new PortTakenError(message)
    : new Error(message);
}

function isAddressInUse(output: string): boolean {
  return /address already in use/i.test(output);
}

type StartResult = { ok: true; proxy: ProxyProcess } | { ok: false; output: string };

async function startOnce(launch: ProxyLaunch, dir: string, port: number): Promise<StartResult> {
  const { command, args, env } = launch.prepare(dir, port);
  const child = spawn(command, args, { cwd: dir, env: env ?? process.env, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += String(error)));
  const ready = await waitUntilListening(port, exited);
  if (!ready) {
    await stopChild(child, exited);
    return { ok: false, output };
  }
  let stopping: Promise<void> | undefined;
  return {
    ok: true,
    proxy: {
      port,
      dir,
      output: () => output,
      stop: () =>
        (stopping ??= stopChild(child, exited).then(() =>
          rmSync(dir, { recursive: true, force: true }),
        )),
    },
  };
}

/** True once the port accepts connections; false when the process exits or time runs out. */
async function waitUntilListening(port: number, exited: Promise<void>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!gone && Date.now() < deadline) {
    if (await accepts(port)) {
      // a process that lost the port to someone else exits right after trying to bind it
      await new Promise((resolve) => setTimeout(resolve, 100));
      return !gone;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** SIGTERM to the process we started (by its pid), SIGKILL if it lingers. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
