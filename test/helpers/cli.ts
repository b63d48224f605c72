import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '../../bin/run.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A temporary HOME and state directory, so that no test touches the real ones. */
export function isolatedEnv(extra: Record<string, string> = {}): {
  env: NodeJS.ProcessEnv;
  dir: string;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-cli-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    OUTPOST_STATE_DIR: join(dir, 'state'),
    NO_COLOR: '1',
    ...extra,
  };
  return { env, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the built CLI to completion. */
export function runCli(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string },
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Starts the built CLI and waits until its output matches `ready`. */
export function startCli(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number },
): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env });
  let output = '';
  const exited = new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready within ${options.timeoutMs ?? 15000} ms:\n${output}`));
    }, options.timeoutMs ?? 15000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.ready.test(output)) {
        clearTimeout(timer);
        resolvePromise({ child, output: () => output, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready:\n${output}`));
    });
  });
}
