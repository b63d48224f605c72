// `npm run bench`: outpost beside the direct upstream, nginx and its own engine, measured in one
// run with the same load generator, so that ratios hold on a shared machine. `-- --json` prints
// one JSON object instead of tables; `-- --memory` adds three runs of 200k requests at 200
// connections and the RSS after each. BENCH_SECONDS sets the length of each run (default 5).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const json = process.argv.includes('--json');
const duration = process.env.BENCH_SECONDS ?? '5';
const work = mkdtempSync(join(tmpdir(), 'outpost-bench-'));
const children = [];
const log = (line) => process.stderr.write(`${line}\n`);

function startProcess(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = /ready (\d+)/.exec(output) ?? /http:\/\/localhost:(\d+)/.exec(output);
      if (match) resolve({ child, port: Number(match[1]) });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${command} exited (${code}): ${output}`)));
  });
}

function freePort() {
  const out = execFileSync(process.execPath, [
    '-e',
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})",
  ]);
  return Number(String(out).trim());
}

function wrk(url, connections, headers = []) {
  const args = [
    '-t',
    connections > 1 ? '2' : '1',
    '-c',
    String(connections),
    '-d',
    `${duration}s`,
    '--latency',
  ];
  for (const header of headers) args.push('-H', header);
  const out = execFileSync('wrk', [...args, url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  // wrk counts only statuses from 400 as errors; the scenarios check their status up front
  const errors = [...out.matchAll(/Non-2xx or 3xx responses: \d+|Socket errors: .*/g)].join('; ');
  if (errors) log(`  ${url}: ${errors}`);
  return { rps, p50_ms: latency(out, '50%'), p99_ms: latency(out, '99%'), errors };
}

function latency(out, percentile) {
  const match = new RegExp(`${percentile}\\s+([\\d.]+)(us|ms|s)`).exec(out);
  if (!match) return NaN;
  const scale = { us: 0.001, ms: 1, s: 1000 }[match[2]];
  return Number(match[1]) * scale;
}

/** The process's RSS in MB, with its workers' when it has any (`serve --workers`). */
function peakRssMb(pid, field = 'VmHWM') {
  try {
    const kb = [pid, ...childrenOf(pid)].map((one) => {
      const status = readFileSync(`/proc/${one}/status`, 'utf8');
      return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)[1]);
    });
    return round(kb.reduce((sum, one) => sum + one, 0) / 1024);
  } catch {
    return NaN;
  }
}

function childrenOf(pid) {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(' ').map(Number);
}

/**
 * The proxy's memory under sustained load: three runs of about `requests` signed-in requests at
 * 200 connections, RSS read after each. Flat across runs means nothing accumulates per request.
 */
function rssAcrossRuns(outpost, requests) {
  const rate = Math.max(
    1000,
    wrk(`http://127.0.0.1:${outpost.port}/`, 200, [`Cookie: ${outpost.cookie}`]).rps,
  );
  const seconds = Math.max(1, Math.round(requests / rate));
  const runs = [];
  for (let run = 0; run < 3; run++) {
    log(`memory run ${run + 1}/3: ${seconds}s at 200 connections ...`);
    const args = ['-t', '2', '-c', '200', '-d', `${seconds}s`, '-H', `Cookie: ${outpost.cookie}`];
    execFileSync('wrk', [...args, `http://127.0.0.1:${outpost.port}/`], { encoding: 'utf8' });
    runs.push(peakRssMb(outpost.child.pid, 'VmRSS'));
  }
  return runs;
}

async function startNginx(upstreamPort) {
  const which = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], {
    encoding: 'utf8',
  });
  const nginx = which.stdout.trim().split('\n')[0];
  if (!nginx) return null;
  const port = freePort();
  const conf = join(work, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1; daemon off; master_process off; pid ${work}/nginx.pid; error_log ${work}/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${work}; proxy_temp_path ${work}; fastcgi_temp_path ${work};
  uwsgi_temp_path ${work}; scgi_temp_path ${work};
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Authentik-Username alice; proxy_set_header X-Authentik-Uid fixed;
    }
  }
}
`,
  );
  const child = spawn(nginx, ['-c', conf, '-p', work], { stdio: 'ignore' });
  children.push(child);
  await waitForPort(port);
  return { child, port };
}

async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    const open = await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(true));
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.destroy());
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function startOutpost(upstreamPort, extraArgs = []) {
  const env = { ...process.env, OUTPOST_STATE_DIR: join(work, 'state'), NO_COLOR: '1', HOME: work };
  const port = freePort();
  writeFileSync(join(work, 'outpost.yaml'), 'skip_path_regex: ^/public/\n');
  const args = [
    join(root, 'bin/run.js'),
    'serve',
    '--upstream',
    `http://127.0.0.1:${upstreamPort}`,
  ];
  args.push('--port', String(port), '--https-port', '0', '--log-format', 'json', ...extraArgs);
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: work,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  await waitForPort(port);
  const readyMs = performance.now() - started;
  const res = await fetch(`http://127.0.0.1:${port}/outpost.goauthentik.io/start?user=akadmin`, {
    redirect: 'manual',
  });
  const cookie = res.headers.get('set-cookie').split(';')[0];
  return { child, port, cookie, readyMs };
}

function timeCommand(command, args, runs = 10) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    spawnSync(command, args, {
      cwd: root,
      stdio: 'ignore',
      env: { ...process.env, HOME: work, OUTPOST_STATE_DIR: join(work, 'state') },
    });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main() {
  const upstream = await startProcess(process.execPath, [join(root, 'bench/upstream.js')]);
  const direct = `http://127.0.0.1:${upstream.port}/`;
  const engine = await startProcess(process.execPath, [join(root, 'bench/engine.js'), direct]);
  const nginx = await startNginx(upstream.port);
  const outpost = await startOutpost(upstream.port);
  const workers = await startOutpost(upstream.port, ['--workers', '2']);
  log(`load generator: wrk, ${duration}s per run; nginx: ${nginx ? 'yes' : 'missing, skipped'}`);
  const probe = await fetch(`http://127.0.0.1:${outpost.port}/public/x`, { redirect: 'manual' });
  if (probe.status !== 200) throw new Error(`the public path answered ${probe.status}, not 200`);

  const scenarios = [];
  const measure = (name, url, headers, pid) => {
    log(`measuring ${name} ...`);
    wrk(url, 50, headers); // warm-up
    const result = wrk(url, 50, headers);
    const single = wrk(url, 1, headers);
    scenarios.push({
      name,
      ...result,
      p50_1conn_ms: single.p50_ms,
      rss_mb: pid ? peakRssMb(pid) : null,
    });
  };
  measure('direct upstream', direct, [], upstream.child.pid);
  if (nginx) measure('nginx', `http://127.0.0.1:${nginx.port}/`, [], null);
  measure('http-proxy-3 engine', `http://127.0.0.1:${engine.port}/`, [], engine.child.pid);
  measure(
    'outpost signed in',
    `http://127.0.0.1:${outpost.port}/`,
    [`Cookie: ${outpost.cookie}`],
    outpost.child.pid,
  );
  measure(
    'outpost 2 workers',
    `http://127.0.0.1:${workers.port}/`,
    [`Cookie: ${workers.cookie}`],
    workers.child.pid,
  );
  measure(
    'outpost public path',
    `http://127.0.0.1:${outpost.port}/public/x`,
    [],
    outpost.child.pid,
  );

  const by = (name) => scenarios.find((scenario) => scenario.name === name);
  const product = by('outpost signed in');
  const ratios = {
    outpost_vs_nginx: nginx ? round(product.rps / by('nginx').rps) : null,
    outpost_vs_engine: round(product.rps / by('http-proxy-3 engine').rps),
    workers_2_vs_1: round(by('outpost 2 workers').rps / product.rps),
    added_p50_us: Math.round((product.p50_1conn_ms - by('direct upstream').p50_1conn_ms) * 1000),
  };
  const node0 = timeCommand(process.execPath, ['-e', '0']);
  const cli = {
    node_e_0_ms: round(node0),
    test_path_ms: round(
      timeCommand(process.execPath, ['bin/run.js', 'test-path', '/x', '--rule', '^/x$']),
    ),
    headers_ms: round(timeCommand(process.execPath, ['bin/run.js', 'headers', '--json'])),
    serve_ready_ms: round(outpost.readyMs),
  };
  cli.test_path_vs_node = round(cli.test_path_ms / node0);
  cli.headers_vs_node = round(cli.headers_ms / node0);
  const memory = process.argv.includes('--memory')
    ? {
        rss_mb_after_each_run: rssAcrossRuns(
          outpost,
          Number(process.env.BENCH_REQUESTS ?? 200_000),
        ),
      }
    : null;
  report({ scenarios, ratios, cli, ...(memory ? { memory } : {}) });
}

function report(result) {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const rows = result.scenarios.map((s) =>
    [
      s.name.padEnd(22),
      String(Math.round(s.rps)).padStart(8),
      fmt(s.p50_ms),
      fmt(s.p99_ms),
      fmt(s.p50_1conn_ms),
      s.rss_mb === null ? '     -' : s.rss_mb.toFixed(1).padStart(6),
    ].join(' '),
  );
  console.log(`${'scenario'.padEnd(22)}    req/s  p50 ms  p99 ms  p50@1c  RSS MB`);
  console.log(rows.join('\n'));
  console.log('');
  for (const [name, value] of Object.entries(result.ratios))
    console.log(`${name.padEnd(22)} ${value}`);
  for (const [name, value] of Object.entries(result.cli))
    console.log(`${name.padEnd(22)} ${value}`);
  if (result.memory) {
    console.log(`${'rss_mb_after_each_run'.padEnd(22)} ${result.memory.rss_mb_after_each_run}`);
  }
}

const fmt = (ms) => ms.toFixed(3).padStart(7);
const round = (n) => Math.round(n * 100) / 100;

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
