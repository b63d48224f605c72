// `npm run soak`: outpost under steady mixed load for a bounded time (default 300 s), watched for
// failures, memory growth and leaked file descriptors. HTTP comes from wrk (C, so that on a
// 2-core machine the load generator leaves the proxy its core); WebSockets and SSE streams from a
// few modest Node loops. Options: `--seconds N` (or SOAK_SECONDS), `--workers N` (passed to serve),
// `--connections N` (HTTP, default 200), `--json`. Exits 1 when a goal fails, 2 on bad usage.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { WebSocket } from 'ws';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: npm run soak -- [--seconds N] [--workers N] [--connections N] [--json]';
const WS_LOOPS = 8;
const SSE_LOOPS = 8;
const SSE_EVENTS = 5;
const SSE_GAP_MS = 400;
const SESSION_TIMEOUT_MS = 15_000;
const HTTP_TIMEOUT = '5s';
const FD_SLACK = 10;
const RSS_GOAL_PCT = 10;
// longer than the 5 s keep-alive of the proxy and of the app, so idle connections have closed
const FD_QUIET_MS = 6_500;
const FD_SETTLE_MAX_MS = 40_000;

const log = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n, places = 1) => Math.round(n * 10 ** places) / 10 ** places;

class UsageError extends Error {}

/** The options from argv and SOAK_SECONDS; a UsageError names the first bad one. */
function parseOptions(argv, env) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        seconds: { type: 'string' },
        workers: { type: 'string' },
        connections: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(String(error.message).split('. ')[0]);
  }
  const seconds = parsed.seconds ?? env.SOAK_SECONDS ?? '300';
  const secondsFrom =
    parsed.seconds === undefined && env.SOAK_SECONDS ? 'SOAK_SECONDS' : '--seconds';
  return {
    help: parsed.help,
    json: parsed.json,
    seconds: wholeNumber(secondsFrom, seconds, 10, 86_400),
    workers: wholeNumber('--workers', parsed.workers ?? '1', 1, 64),
    connections: wholeNumber('--connections', parsed.connections ?? '200', 2, 20_000),
  };
}

function wholeNumber(name, text, min, max) {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not '${text}'`);
  }
  return value;
}

/** Every child process and the temp dir of this run, and one idempotent way to get rid of them. */
function createRun() {
  const work = mkdtempSync(join(tmpdir(), 'outpost-soak-'));
  const run = { work, children: [], proxy: null, stopping: false, cleaning: null };
  run.cleanUp = () => (run.cleaning ??= cleanUp(run));
  return run;
}

async function cleanUp(run) {
  run.stopping = true;
  const workers = run.proxy ? childPids(run.proxy.child.pid) : [];
  // last started first: the load, then the proxy (it finishes what is in flight), then the app
  for (const child of [...run.children].reverse()) await stopChild(child);
  for (const pid of workers) killIfServe(pid);
  rmSync(run.work, { recursive: true, force: true });
}

async function stopChild(child) {
  if (!child.pid || child.exitCode !== null || child.signalCode) return;
  child.kill('SIGTERM');
  await Promise.race([exited(child), sleep(10_000)]);
  if (child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', resolve));
}

/** A worker outlives its primary only when something went wrong; it must not outlive the run. */
function killIfServe(pid) {
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bin/run.js')) {
      process.kill(pid, 'SIGKILL');
    }
  } catch {
    // already gone
  }
}

/** Fails early, before anything starts, when wrk is not installed. */
function checkWrk() {
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`wrk could not start (${probe.error.code}): install wrk first`);
}

function startChild(run, command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  run.children.push(child);
  return child;
}

/** Resolves with the first match of `pattern` in the child's stdout; rejects if it exits first. */
function waitForLine(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = pattern.exec(output);
      if (!match) return;
      child.stdout.off('data', onData);
      child.stdout.resume();
      resolve(match);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${output.trim()}`)));
  });
}

async function startUpstream(run) {
  const child = startChild(run, process.execPath, [join(root, 'bench/soak-upstream.js')]);
  const match = await waitForLine(child, /ready (\d+)/, 'the soak upstream');
  return { child, port: Number(match[1]) };
}

/** `outpost serve` on free loopback ports, with its own HOME and state dir. */
async function startProxy(run, upstreamPort, workers) {
  writeFileSync(join(run.work, 'outpost.yaml'), 'skip_path_regex: |\n  ^/public/\n');
  const env = {
    ...process.env,
    HOME: run.work,
    OUTPOST_STATE_DIR: join(run.work, 'state'),
    NO_COLOR: '1',
  };
  const args = [
    join(root, 'bin/run.js'),
    'serve',
    '--upstream',
    `http://127.0.0.1:${upstreamPort}`,
  ];
  args.push('--host', '127.0.0.1', '--port', '0', '--https-port', '0', '--log-format', 'json');
  if (workers > 1) args.push('--workers', String(workers));
  const child = startChild(run, process.execPath, args, { cwd: run.work, env });
  const match = await waitForLine(child, /http:\/\/localhost:(\d+)/, 'outpost serve');
  const proxy = { child, port: Number(match[1]), warnings: [], exitedEarly: false };
  watchProxy(run, proxy);
  run.proxy = proxy;
  return proxy;
}

/** Keeps what serve says on stderr (printed as it comes) and notes if it stops on its own. */
function watchProxy(run, proxy) {
  let pending = '';
  proxy.child.stderr.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    for (const line of lines.filter(Boolean)) {
      if (run.stopping) continue;
      proxy.warnings.push(line);
      log(`  outpost: ${line}`);
    }
  });
  proxy.child.once('exit', (code, signal) => {
    if (run.stopping) return;
    proxy.exitedEarly = true;
    log(`outpost serve stopped during the soak (${signal ?? `exit code ${code}`})`);
  });
}

async function signIn(port) {
  const res = await fetch(`http://127.0.0.1:${port}/outpost.goauthentik.io/start?user=akadmin`, {
    redirect: 'manual',
  });
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  if (!cookie) throw new Error(`sign-in answered ${res.status} without a session cookie`);
  return cookie;
}

/** The routes the load relies on answer as expected before any load starts. */
async function checkRoutes(port, cookie) {
  const base = `http://127.0.0.1:${port}`;
  const probes = [
    ['/app/items', { Cookie: cookie }, 200],
    ['/public/x', {}, 200],
    ['/app/items', {}, 302],
  ];
  for (const [path, headers, expected] of probes) {
    const res = await fetch(base + path, { headers, redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status !== expected) {
      throw new Error(`${path} answered ${res.status}, not ${expected}: is the config right?`);
    }
  }
}

/** Failures by kind, and what went right. */
function createTally() {
  return {
    failures: new Map(),
    ws: { sessions: 0, messages: 0 },
    sse: { streams: 0, events: 0 },
    fail(kind, count = 1) {
      if (count > 0) this.failures.set(kind, (this.failures.get(kind) ?? 0) + count);
    },
  };
}

const STATUS_MEANING = {
  302: 'a signed-in request sent to sign-in',
  409: 'the app saw the wrong identity',
  502: 'upstream error',
  504: 'upstream timeout',
};

/** wrk with the Lua mix for `seconds`; a run that will not stop is killed and counted. */
async function runWrk(run, ctx, seconds, tally) {
  const threads = Math.min(2, ctx.connections);
  const limit = String(Math.ceil((seconds * 200_000) / threads));
  const args = ['-t', String(threads), '-c', String(ctx.connections), '-d', `${seconds}s`];
  args.push('--timeout', HTTP_TIMEOUT, '-s', join(root, 'bench/soak-mix.lua'));
  args.push(`http://127.0.0.1:${ctx.port}/`, '--', ctx.cookie, limit);
  const child = startChild(run, 'wrk', args);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
  const failedToStart = new Promise((resolve) => child.once('error', resolve));
  const error = await Promise.race([exited(child).then(() => null), failedToStart]);
  clearTimeout(guard);
  if (error) throw new Error(`wrk could not start (${error.code}): install wrk to run the soak`);
  return countWrk(run, output, tally);
}

function countWrk(run, output, tally) {
  const line = /SOAK_RESULT (.*)/.exec(output);
  if (!line) {
    if (run.stopping) return { responses: 0, statuses: {}, duration_us: 0 };
    tally.fail('wrk gave no result');
    log(`wrk: ${output.trim()}`);
    return { responses: 0, statuses: {}, duration_us: 0 };
  }
  const result = JSON.parse(line[1]);
  for (const [status, count] of Object.entries(result.statuses)) {
    if (status === '200') continue;
    const meaning = STATUS_MEANING[status] ? ` (${STATUS_MEANING[status]})` : '';
    tally.fail(`http status ${status}${meaning}`, count);
  }
  tally.fail('http connect error', result.connect);
  tally.fail('http read error', result.read);
  tally.fail('http write error', result.write);
  tally.fail(`http timeout (> ${HTTP_TIMEOUT})`, result.timeout);
  return result;
}

const isHalted = (run) => run.stopping || Boolean(run.proxy?.exitedEarly);

/** `loops` sessions side by side, each loop bounded by a count and by the deadline. */
async function runLoops(run, loops, deadline, maxPerLoop, session) {
  const loop = async () => {
    for (let i = 0; i < maxPerLoop && Date.now() < deadline && !isHalted(run); i++) {
      await session();
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
}

/** One WebSocket: open, three messages (text, binary, text) each echoed in order, close. */
function webSocketSession(ctx, tally) {
  const messages = [`hello ${Math.random()}`, randomBytes(1024), `bye ${Date.now()}`];
  return new Promise((resolve) => {
    let echoed = 0;
    let settled = false;
    const socket = new WebSocket(`ws://127.0.0.1:${ctx.port}/app/ws`, {
      headers: { Cookie: ctx.cookie },
      perMessageDeflate: false,
      handshakeTimeout: SESSION_TIMEOUT_MS,
    });
    const finish = (failure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (failure) {
        tally.fail(failure);
        socket.terminate();
      } else tally.ws.sessions += 1;
      resolve();
    };
    const timer = setTimeout(() => finish('ws timeout (no echo or close)'), SESSION_TIMEOUT_MS);
    socket.on('unexpected-response', (req, res) => {
      req.destroy();
      finish(`ws handshake answered ${res.statusCode}`);
    });
    socket.on('error', (error) => finish(`ws error (${error.code ?? error.message})`));
    socket.on('open', () => socket.send(messages[0]));
    socket.on('message', (data, isBinary) => {
      if (!sameMessage(data, isBinary, messages[echoed])) return finish('ws wrong echo');
      echoed += 1;
      tally.ws.messages += 1;
      if (echoed < messages.length) socket.send(messages[echoed]);
      else socket.close(1000, 'done');
    });
    socket.on('close', (code) => {
      if (echoed < messages.length) finish('ws closed before every echo');
      else finish(code === 1000 ? null : `ws closed with code ${code}`);
    });
  });
}

function sameMessage(data, isBinary, sent) {
  if (typeof sent === 'string') return !isBinary && data.toString('utf8') === sent;
  return isBinary && Buffer.compare(data, sent) === 0;
}

function randomBytes(length) {
  return Buffer.from(Array.from({ length }, () => Math.floor(Math.random() * 256)));
}

/**
 * One SSE stream read to its end: every event in order, then `done`. Events that all arrive at
 * once mean the proxy held the stream back, which counts as a failure too.
 */
function sseSession(ctx, tally) {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (failure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (failure) {
        tally.fail(failure);
        req.destroy();
      } else tally.sse.streams += 1;
      resolve();
    };
    const timer = setTimeout(() => finish('sse timeout'), SESSION_TIMEOUT_MS);
    const req = httpGet({
      host: '127.0.0.1',
      port: ctx.port,
      path: `/app/events?events=${SSE_EVENTS}&gap_ms=${SSE_GAP_MS}`,
      headers: { Cookie: ctx.cookie, Accept: 'text/event-stream' },
      agent: ctx.sseAgent,
    });
    req.on('error', (error) => finish(`sse error (${error.code ?? error.message})`));
    req.on('response', (res) => readEvents(res, tally, finish));
  });
}

function readEvents(res, tally, finish) {
  if (res.statusCode !== 200 || !/^text\/event-stream/.test(res.headers['content-type'] ?? '')) {
    res.resume();
    return finish(`sse answered ${res.statusCode} ${res.headers['content-type'] ?? ''}`.trim());
  }
  const arrivals = [];
  let buffered = '';
  let isDone = false;
  res.setEncoding('utf8');
  res.on('data', (chunk) => {
    const blocks = (buffered + chunk).split('\n\n');
    buffered = blocks.pop();
    for (const block of blocks) {
      if (block.startsWith('event: done')) isDone = true;
      else if (/^id: \d+\ndata: (\d+)$/.test(block)) arrivals.push(performance.now());
    }
  });
  res.on('error', (error) => finish(`sse error (${error.code ?? error.message})`));
  res.on('end', () => finish(judgeStream(arrivals, isDone, tally)));
}

/** null when the stream was whole and streamed, else the kind of failure. */
function judgeStream(arrivals, isDone, tally) {
  tally.sse.events += arrivals.length;
  if (!isDone || arrivals.length !== SSE_EVENTS) return 'sse ended early';
  const spreadMs = arrivals.at(-1) - arrivals[0];
  // sent (SSE_EVENTS - 1) gaps apart; half of that allows for a loaded machine
  if (spreadMs < ((SSE_EVENTS - 1) * SSE_GAP_MS) / 2) return 'sse not streamed (events bunched)';
  return null;
}

/** One phase of load: wrk and the Node loops side by side, all bounded by `seconds`. */
async function runLoad(run, ctx, seconds, tally) {
  const deadline = Date.now() + seconds * 1000;
  const [http] = await Promise.all([
    runWrk(run, ctx, seconds, tally),
    runLoops(run, WS_LOOPS, deadline, seconds * 100, () => webSocketSession(ctx, tally)),
    runLoops(run, SSE_LOOPS, deadline, seconds, () => sseSession(ctx, tally)),
  ]);
  return http;
}

/** The proxy's pid and its workers' (children of any of its threads). */
function childPids(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(/\s+/).filter(Boolean),
    );
  } catch {
    return [];
  }
}

function rssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
  } catch {
    return 0;
  }
}

function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** RSS and fds of the primary and of its workers (with --workers), summed per role. */
function sampleProxy(pid, workers) {
  const workerPids = workers > 1 ? childPids(pid).map(Number) : [];
  const workerRss = workerPids.reduce((sum, worker) => sum + rssMb(worker), 0);
  const fds = workerPids.reduce((sum, worker) => sum + fdCount(worker), fdCount(pid));
  const primary = rssMb(pid);
  return { primaryMb: primary, workersMb: workerRss, rssMb: primary + workerRss, fds, workerPids };
}

/** Samples every `everyMs` from now until stop(); logs a line now and then. */
function startSampler(ctx, everyMs) {
  const started = performance.now();
  const samples = [];
  const seenWorkers = new Set();
  const take = () => {
    const sample = {
      t: (performance.now() - started) / 1000,
      ...sampleProxy(ctx.pid, ctx.workers),
    };
    for (const pid of sample.workerPids) seenWorkers.add(pid);
    samples.push(sample);
    if (samples.length % Math.max(1, Math.round(30_000 / everyMs)) === 0) {
      log(`  ${Math.round(sample.t)} s: RSS ${round(sample.rssMb)} MB, ${sample.fds} fds`);
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return { samples, seenWorkers };
    },
  };
}

/** The proxy's fd count once it has stayed the same for FD_QUIET_MS (idle connections closed). */
async function settledFds(ctx) {
  const started = Date.now();
  let last = sampleProxy(ctx.pid, ctx.workers).fds;
  let since = Date.now();
  while (Date.now() - started < FD_SETTLE_MAX_MS) {
    await sleep(250);
    const now = sampleProxy(ctx.pid, ctx.workers).fds;
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since >= FD_QUIET_MS) return { fds: last, isSettled: true };
  }
  return { fds: last, isSettled: false };
}

function mean(values) {
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : NaN;
}

/** Mean RSS (total, primary, workers) of the first and the last window of the soak. */
function rssWindows(samples, seconds) {
  const windowS = Math.min(60, seconds / 5);
  const first = samples.filter((sample) => sample.t <= windowS);
  const last = samples.filter((sample) => sample.t >= seconds - windowS);
  const of = (set, key) => round(mean(set.map((sample) => sample[key])));
  const firstMb = of(first, 'rssMb');
  const lastMb = of(last, 'rssMb');
  return {
    window_s: round(windowS),
    first: firstMb,
    last: lastMb,
    change_pct: round(((lastMb - firstMb) / firstMb) * 100),
    peak: round(Math.max(...samples.map((sample) => sample.rssMb))),
    primary: { first: of(first, 'primaryMb'), last: of(last, 'primaryMb') },
    workers: { first: of(first, 'workersMb'), last: of(last, 'workersMb') },
  };
}

/** The figures and the goals, as one plain object (what --json prints). */
function summarize({ options, http, tally, rss, fds, samples, warmUp, proxy, seenWorkers }) {
  if (proxy.exitedEarly) tally.fail('outpost serve stopped');
  const replaced = Math.max(0, seenWorkers.size - (options.workers > 1 ? options.workers : 0));
  tally.fail('worker replaced', replaced);
  const failures = Object.fromEntries([...tally.failures].sort(([a], [b]) => a.localeCompare(b)));
  const totalFailures = Object.values(failures).reduce((sum, count) => sum + count, 0);
  const goals = judgeGoals(totalFailures, rss, fds);
  const durationS = http.duration_us / 1e6;
  return {
    seconds: options.seconds,
    workers: options.workers,
    load: loadDescription(options),
    warm_up: warmUp,
    http: {
      connections: options.connections,
      requests: http.responses,
      rps: Math.round(http.responses / (durationS || 1)),
      p50_ms: round(http.p50_us / 1000, 2),
      p99_ms: round(http.p99_us / 1000, 2),
      max_ms: round(http.max_us / 1000, 2),
      statuses: http.statuses,
    },
    ws: { ...tally.ws, loops: WS_LOOPS },
    sse: { ...tally.sse, loops: SSE_LOOPS },
    failures: { total: totalFailures, by_kind: failures },
    rss_mb: rss,
    fds: { before: fds.before.fds, after: fds.after.fds, slack: FD_SLACK },
    proxy_stderr: proxy.warnings,
    goals,
    pass: goals.every((goal) => goal.pass),
    samples: samples.map((s) => ({ t: round(s.t), rss_mb: round(s.rssMb), fds: s.fds })),
  };
}

/** One verdict per goal: no failures, RSS flat, no fds left over once idle. */
function judgeGoals(totalFailures, rss, fds) {
  const settled = fds.after.isSettled ? '' : ', never settled';
  return [
    { goal: 'zero failures', pass: totalFailures === 0, detail: `${totalFailures} failures` },
    {
      goal: `RSS flat within ${RSS_GOAL_PCT} %`,
      pass: Number.isFinite(rss.change_pct) && rss.change_pct <= RSS_GOAL_PCT,
      detail: `${rss.first} -> ${rss.last} MB (${signed(rss.change_pct)} %)`,
    },
    {
      goal: 'no fd growth',
      pass: fds.after.isSettled && fds.after.fds <= fds.before.fds + FD_SLACK,
      detail: `${fds.before.fds} -> ${fds.after.fds} fds (slack ${FD_SLACK}${settled})`,
    },
  ];
}

function loadDescription(options) {
  return (
    `HTTP: wrk, 2 threads, ${options.connections} connections, bench/soak-mix.lua cycling ` +
    `signed-in GET, signed-in POST, public GET; WebSocket: ${WS_LOOPS} Node loops (open, ` +
    `3 echoes, close); SSE: ${SSE_LOOPS} Node loops (${SSE_EVENTS} events over ` +
    `${((SSE_EVENTS - 1) * SSE_GAP_MS) / 1000} s, read to the end)`
  );
}

const signed = (n) => (n > 0 ? `+${n}` : String(n));

function printTable(result) {
  const rows = [
    ['duration', `${result.seconds} s (after ${result.warm_up.seconds} s warm-up)`],
    ['serve workers', result.workers === 1 ? '1 (single process)' : String(result.workers)],
    ['HTTP requests', String(result.http.requests)],
    ['HTTP req/s', String(result.http.rps)],
    [
      'HTTP latency p50/p99/max',
      `${result.http.p50_ms} / ${result.http.p99_ms} / ${result.http.max_ms} ms`,
    ],
    ['WebSocket sessions', `${result.ws.sessions} (${result.ws.messages} messages echoed)`],
    ['SSE streams read to end', `${result.sse.streams} (${result.sse.events} events)`],
    ['failures (warm-up included)', String(result.failures.total)],
    ...Object.entries(result.failures.by_kind).map(([kind, count]) => [`  ${kind}`, String(count)]),
    [`RSS first ${result.rss_mb.window_s} s (mean)`, `${result.rss_mb.first} MB`],
    [`RSS last ${result.rss_mb.window_s} s (mean)`, `${result.rss_mb.last} MB`],
    ['RSS change', `${signed(result.rss_mb.change_pct)} %`],
    ['RSS peak', `${result.rss_mb.peak} MB`],
    ...workerRows(result),
    ['fds before (idle, after warm-up)', String(result.fds.before)],
    ['fds after (idle, after load)', String(result.fds.after)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  console.log(`load: ${result.load}`);
  console.log('');
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}${value}`);
  console.log('');
  for (const goal of result.goals) {
    console.log(`${goal.pass ? 'PASS' : 'FAIL'}  ${goal.goal}: ${goal.detail}`);
  }
}

function workerRows(result) {
  if (result.workers === 1) return [];
  const { primary, workers } = result.rss_mb;
  return [
    ['  primary first/last', `${primary.first} / ${primary.last} MB`],
    [`  ${result.workers} workers first/last`, `${workers.first} / ${workers.last} MB`],
  ];
}

/** Warm-up, idle baseline, the soak itself under the sampler, idle again: the whole recipe. */
async function soak(run, options) {
  const upstream = await startUpstream(run);
  const proxy = await startProxy(run, upstream.port, options.workers);
  const cookie = await signIn(proxy.port);
  await checkRoutes(proxy.port, cookie);
  const sseAgent = new Agent({ keepAlive: true, maxSockets: SSE_LOOPS });
  const ctx = { ...options, port: proxy.port, pid: proxy.child.pid, cookie, sseAgent };
  const tally = createTally();

  const warmSeconds = Math.min(10, Math.max(3, Math.round(options.seconds / 10)));
  log(`warm-up: ${warmSeconds} s of the same load ...`);
  const warm = await runLoad(run, ctx, warmSeconds, tally);
  const before = await settledFds(ctx);
  log(
    `soak: ${options.seconds} s, ${options.connections} HTTP connections; idle fds ${before.fds}`,
  );

  const sampler = startSampler(ctx, options.seconds < 60 ? 1000 : 2000);
  const http = await runLoad(run, ctx, options.seconds, tally);
  const { samples, seenWorkers } = sampler.stop();
  if (!run.stopping) log('load stopped; waiting for idle connections to close ...');
  sseAgent.destroy();
  const after = await settledFds(ctx);
  const rss = rssWindows(samples, options.seconds);
  const warmUp = { seconds: warmSeconds, requests: warm.responses };
  return summarize({
    options,
    http,
    tally,
    rss,
    fds: { before, after },
    samples,
    warmUp,
    proxy,
    seenWorkers,
  });
}

/** The options, or a one-line message and exit 2; wrk missing: a one-line message and exit 1. */
function optionsOrExit() {
  try {
    const options = parseOptions(process.argv.slice(2), process.env);
    if (!options.help) checkWrk();
    return options;
  } catch (error) {
    const isUsage = error instanceof UsageError;
    process.stderr.write(`soak: ${error.message}${isUsage ? ` (${USAGE})` : ''}\n`);
    process.exit(isUsage ? 2 : 1);
  }
}

async function main() {
  const options = optionsOrExit();
  if (options.help) {
    console.log(`${USAGE}\ndefaults: 300 s (or SOAK_SECONDS), 1 worker, 200 HTTP connections`);
    return;
  }

  const run = createRun();
  const interrupt = (signal) => {
    log(`${signal}: stopping the soak and cleaning up ...`);
    void run.cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const result = await soak(run, options);
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else printTable(result);
    process.exitCode = result.pass ? 0 : 1;
  } catch (error) {
    if (!run.stopping) log(`soak: ${error.message}`);
    process.exitCode = 1;
  } finally {
    await run.cleanUp();
  }
  process.exit();
}

await main();
