import cluster, { type Worker } from 'node:cluster';

import { OutpostError, isOutpostError, type OutpostErrorCode } from '../core/errors.js';
import type { OutpostHandle } from '../core/proxy/outpost-server.js';

/** Where the workers listen, as the first of them reported it. */
export type ListeningUrls = Pick<OutpostHandle, 'httpUrl' | 'httpsUrl' | 'upstreamUrl'>;

/** What a worker tells the primary. */
type WorkerMessage =
  | ({ type: 'ready' } & ListeningUrls)
  | { type: 'failed'; code: OutpostErrorCode; message: string; hint?: string }
  | { type: 'warning'; message: string }
  | { type: 'notice'; message: string }
  | { type: 'applied'; text: string };

/** The environment variable that hands the primary's built-in echo app to its workers. */
export const WORKER_UPSTREAM_ENV = 'OUTPOST_WORKER_ECHO_APP';

/** The environment variable that hands a new worker the config text the others serve. */
const WORKER_CONFIG_ENV = 'OUTPOST_WORKER_CONFIG';
/** Linux refuses a single environment string over 128 KiB; a bigger file is read from disk. */
const MAX_CONFIG_ENV_BYTES = 100_000;

/** The environment that gives a new worker `text` as its config file's text. */
export function workerConfigEnv(text: string | undefined): Record<string, string> {
  if (text === undefined || Buffer.byteLength(text) > MAX_CONFIG_ENV_BYTES) return {};
  return { [WORKER_CONFIG_ENV]: text };
}

/** In a worker: the config text its primary handed over, if any. */
export function workerConfigText(): string | undefined {
  return cluster.isWorker ? process.env[WORKER_CONFIG_ENV] : undefined;
}

const RESTARTS_PER_MINUTE = 5;
const STOP_TIMEOUT_MS = 10_000;
const REPEAT_WARNING_MS = 10_000;
/** Workers reload a saved config within moments of each other; a later save is news again. */
const REPEAT_NOTICE_MS = 2_000;

/** The running workers of one `serve --workers N`, supervised by this (primary) process. */
export interface WorkerGroup {
  urls: ListeningUrls;
  /** Settles when the workers cannot be kept running (they keep failing). */
  failed: Promise<OutpostError>;
  /** Asks every worker to finish its requests and stop; resolves when all have. */
  close(): Promise<void>;
}

export function isServeWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Starts `count` copies of this command as workers sharing the listening ports (node:cluster
 * hands each new connection to one of them), and waits until every one listens. A worker that
 * fails to start stops them all with its error; one that dies later is replaced. Warnings that
 * every worker reports alike (a rule, the provider being down) are printed once.
 */
export async function startWorkers(options: {
  count: number;
  /** The environment of each worker, asked at each start (a replacement gets today's). */
  env: () => Record<string, string>;
  /** Told the config text a worker now serves after a reload. */
  onApplied: (text: string) => void;
  onWarning: (message: string) => void;
  /** What the workers say that is not a warning (the config file was reloaded). */
  onNotice: (message: string) => void;
}): Promise<WorkerGroup> {
  const warn = onceIn(REPEAT_WARNING_MS, options.onWarning);
  const notice = onceIn(REPEAT_NOTICE_MS, options.onNotice);
  const workers = new Set<Worker>();
  const listening = new WeakSet<Worker>();
  let stopping = false;
  let reportFailure: (error: OutpostError) => void = () => undefined;
  const failed = new Promise<OutpostError>((resolve) => (reportFailure = resolve));
  const restarts: number[] = [];

  const fork = (): Promise<ListeningUrls> => {
    const worker = cluster.fork(options.env());
    workers.add(worker);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'warning') warn(message.message);
      if (message.type === 'notice') notice(message.message);
      if (message.type === 'applied') options.onApplied(message.text);
    });
    const started = untilListening(worker).then((urls) => {
      listening.add(worker);
      return urls;
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      const why = signal ? `signal ${signal}` : `exit code ${code}`;
      if (!withinBudget(restarts)) {
        reportFailure(workersFailing(why));
        return;
      }
      warn(`worker ${worker.process.pid} stopped (${why}); starting another`);
      fork().catch((error: unknown) => {
        if (!stopping) reportFailure(asOutpostError(error));
      });
    });
    return started;
  };

  const close = async () => {
    stopping = true;
    await Promise.all([...workers].map((worker) => stopWorker(worker, listening.has(worker))));
  };
  try {
    const all = await Promise.all(Array.from({ length: options.count }, fork));
    return { urls: all[0]!, failed, close };
  } catch (error) {
    await close();
    throw asOutpostError(error);
  }
}

/** Resolves with the worker's URLs once it listens; rejects with its error if it cannot. */
function untilListening(worker: Worker): Promise<ListeningUrls> {
  return new Promise((resolve, reject) => {
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') resolve(message);
      if (message.type === 'failed') {
        const hint = message.hint === undefined ? {} : { hint: message.hint };
        reject(new OutpostError(message.code, message.message, hint));
      }
    });
    worker.once('exit', (code) =>
      reject(
        new OutpostError('WORKER_FAILED', `a worker stopped while starting (exit code ${code})`, {
          hint: 'run with --workers 1 to see its error',
        }),
      ),
    );
  });
}

/**
 * Asks a worker to finish its requests and stop. One still starting may not listen for the
 * request yet, and serves nothing: a signal stops it either way.
 */
function stopWorker(worker: Worker, isListening: boolean): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (isListening && worker.isConnected()) worker.send({ type: 'shutdown' });
    else worker.process.kill('SIGTERM');
  });
}

/** Records a restart; false once there were too many in the last minute. */
function withinBudget(restarts: number[]): boolean {
  const now = Date.now();
  while (restarts.length > 0 && now - restarts[0]! > 60_000) restarts.shift();
  restarts.push(now);
  return restarts.length <= RESTARTS_PER_MINUTE;
}

function workersFailing(why: string): OutpostError {
  return new OutpostError(
    'WORKER_FAILED',
    `workers keep stopping (${RESTARTS_PER_MINUTE} times in a minute, last: ${why})`,
    { hint: 'run with --workers 1 to see the error' },
  );
}

function asOutpostError(error: unknown): OutpostError {
  if (isOutpostError(error)) return error;
  return new OutpostError('WORKER_FAILED', `a worker could not start: ${String(error)}`, {
    hint: 'run with --workers 1 to see the error',
  });
}

/** `print`, except that a message printed in the last `windowMs` is not printed again. */
function onceIn(windowMs: number, print: (message: string) => void): (message: string) => void {
  const printedAt = new Map<string, number>();
  return (message) => {
    const now = Date.now();
    if (now - (printedAt.get(message) ?? -Infinity) < windowMs) return;
    if (printedAt.size > 1000) printedAt.clear();
    printedAt.set(message, now);
    print(message);
  };
}

/**
 * The worker's side: tells the primary it listens (or why it cannot), passes its warnings on,
 * and stops gracefully when the primary asks, on Ctrl-C (the terminal signals every process of
 * the group) or when the primary is gone.
 */
export const workerChannel = {
  ready(urls: ListeningUrls): void {
    send({ type: 'ready', ...urls });
  },
  failed(error: unknown): void {
    const known = asOutpostError(error);
    send({
      type: 'failed',
      code: known.code,
      message: known.message,
      ...(known.hint ? { hint: known.hint } : {}),
    });
  },
  warning(message: string): void {
    send({ type: 'warning', message });
  },
  notice(message: string): void {
    send({ type: 'notice', message });
  },
  applied(text: string): void {
    send({ type: 'applied', text });
  },
  /**
   * Resolves when this worker is asked to stop. Call it first thing: a request to stop that comes
   * while the worker is still starting must not be missed.
   */
  stopRequested(): Promise<void> {
    return new Promise((resolve) => {
      process.on('message', (message: { type?: string }) => {
        if (message.type === 'shutdown') resolve();
      });
      process.on('disconnect', resolve);
      process.on('SIGINT', resolve);
      process.on('SIGTERM', resolve);
    });
  },
};

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}
