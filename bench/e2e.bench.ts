/**
 * End-to-end benchmark (`npm run bench:e2e`): promfence against the baselines a user compares
 * it with, measured side by side in one run on this machine.
 *
 * Targets, all in front of the same real Prometheus (Debian 2.42) holding only team-fruit's
 * series, so every target answers exactly the same data:
 *   (a) Prometheus directly;
 *   (b) Caddy's `reverse_proxy` (Debian `caddy`), which authenticates and enforces nothing;
 *   (c) promfence, bearer token, enforcement (alice → team-fruit);
 *   (d) promfence, HTTP basic (verified credentials cached);
 *   (e) promfence, bearer, `server.workers: auto` (one worker per core; reported, no target).
 * promfence runs from dist/ (`node dist/cli.js serve`), as in production, one process
 * (`server.workers: 1`) for (c) and (d), logging at its default level (access and audit
 * lines) to a pipe the benchmark drains.
 *
 * Request mix, each measured alone with wrk (16 connections, 2 threads, BENCH_SECONDS each,
 * default 10), after one untimed warm-up run per target and shape (BENCH_WARMUP seconds,
 * default 3: JIT, caches, keep-alive pools), rounds interleaved (BENCH_ROUNDS, default 3; the
 * order of the targets rotates each round; medians reported):
 *   instant  GET /api/v1/query       sum by (job) (rate(http_requests_total[5m]))
 *   range    GET /api/v1/query_range histogram_quantile over 3 h, step 15 s
 *   labels   GET /api/v1/labels      last 6 h
 *   series   GET /api/v1/series      match[]=http_requests_total, last 6 h
 *
 * Per target and request: throughput (req/s), p50/p99 latency (wrk), and the proxy process's
 * CPU time per request (user+system from /proc/<pid>/stat around the run ÷ requests).
 *
 * Memory (promfence): idle RSS; RSS growth while one client streams a ≥ 50 MB query_range
 * answer (a second Prometheus with 4,000 wide series); RSS after 10,000 distinct queries.
 *
 * Prints a table and the targets of issue #10; `--check` exits 1 when a target is missed;
 * `--json FILE` also writes the raw figures. Needs wrk and caddy (apt-get install wrk caddy).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { findFreePort, startPrometheus, type RunningPrometheus } from '../test/kit/prometheus.ts';
import { treeCpuMs, treeRssBytes } from './lib/proc.ts';
import { runWrk, type WrkRequest, type WrkResult } from './lib/wrk.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 3);
/** `server.workers` of target (e); BENCH_WORKERS=1 leaves the target out. */
const WORKERS = process.env['BENCH_WORKERS'] ?? 'auto';
const TOKEN = 'bench-alice-token-0123456789';
const BASIC_PW = 'bench-bob-password';
const args = process.argv.slice(2);
const CHECK = args.includes('--check');
const JSON_OUT = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

async function waitHttp(url: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.status < 500) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${ms} ms`);
    await sleep(100);
  }
}

/** Spawns a long-running child whose output is drained (so pipes never block it). */
function startChild(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout?.resume();
  child.stderr?.resume();
  children.push(child);
  return child;
}

async function startCaddy(upstream: string): Promise<{ url: string; pid: number }> {
  const port = await findFreePort();
  const dir = mkdtempSync(join(tmpdir(), 'promfence-bench-caddy-'));
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, `{\n\tadmin off\n\tauto_https off\n}\nhttp://127.0.0.1:${port} {\n\treverse_proxy ${new URL(upstream).host}\n}\n`);
  const child = startChild('caddy', ['run', '--config', file, '--adapter', 'caddyfile'], { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/-/ready`);
  return { url, pid: child.pid as number };
}

async function startPromfence(upstream: string, workers: string = '1'): Promise<{ url: string; pid: number }> {
  const port = await findFreePort();
  const dir = mkdtempSync(join(tmpdir(), 'promfence-bench-'));
  const file = join(dir, 'promfence.yaml');
  writeFileSync(file, [
    `server: {listen: "127.0.0.1:${port}"${workers === '1' ? '' : `, workers: ${/^\d+$/.test(workers) ? workers : JSON.stringify(workers)}`}}`,
    `upstream: {url: "${upstream}"}`,
    'promql: {syntax: prometheus2}',
    'auth:',
    `  bearer_tokens: [{subject: alice, token: "${TOKEN}"}]`,
    `  basic_users: [{subject: bob, password_hash: "${bcrypt.hashSync(BASIC_PW, 10)}"}]`,
    'access: {subjects: {alice: [team-fruit], bob: [team-fruit]}}',
    '',
  ].join('\n'));
  const child = startChild(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'serve', '--config', file]);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/-/healthy`);
  return { url, pid: child.pid as number };
}

/** OpenMetrics text of `n` wide counters for the streaming-memory measurement. */
function wideData(n: number, end: number, hours: number, step: number): string {
  const lines = ['# TYPE bench_wide counter'];
  const start = end - hours * 3600;
  for (let i = 0; i < n; i++) {
    for (let t = start, v = 0; t <= end; t += step, v += 1 + (i % 7)) {
      lines.push(`bench_wide_total{tenant="team-fruit",instance="host-${i}",pad="${'x'.repeat(40)}"} ${v} ${t}`);
    }
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

type Target = 'direct' | 'caddy' | 'bearer' | 'basic' | 'workers';
type Shape = 'instant' | 'range' | 'labels' | 'series';

interface Run extends WrkResult {
  readonly cpuMsPerRequest: number | undefined;
}

function median(xs: readonly number[]): number {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function memoryFigures(wide: RunningPrometheus): Promise<Record<string, number>> {
  const pf = await startPromfence(wide.url);
  const auth = { Authorization: `Bearer ${TOKEN}` };
  // Idle: after start-up and a few requests (JIT, caches allocated).
  for (let i = 0; i < 50; i++) await (await fetch(`${pf.url}/api/v1/query?query=up`, { headers: auth })).arrayBuffer();
  await sleep(1000);
  const idle = treeRssBytes(pf.pid);
  // Streaming: one ≥ 50 MB answer, read and discarded by the client; RSS sampled every 20 ms.
  const q = new URLSearchParams({ query: 'bench_wide_total', start: String(wide.dataEnd - 3 * 3600), end: String(wide.dataEnd), step: '15' });
  let peak = idle;
  let bytes = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, treeRssBytes(pf.pid));
  }, 20);
  const res = await fetch(`${pf.url}/api/v1/query_range?${q.toString()}`, { headers: auth });
  const reader = res.body?.getReader();
  for (;;) {
    const chunk = await reader?.read();
    if (!chunk || chunk.done) break;
    bytes += chunk.value.length;
    await sleep(0);
  }
  clearInterval(sampler);
  // 10,000 distinct queries (each enforced and cached), 16 at a time.
  const before = treeRssBytes(pf.pid);
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < 10_000) {
      const i = next++;
      const query = `sum by (job) (rate(http_requests_total{instance="bench-${i}"}[5m])) / ${i + 1}`;
      await (await fetch(`${pf.url}/api/v1/query?${new URLSearchParams({ query })}`, { headers: auth })).arrayBuffer();
    }
  }));
  await sleep(1000);
  const after10k = treeRssBytes(pf.pid);
  return { idleRssMB: idle / 2 ** 20, streamedMB: bytes / 2 ** 20, streamingGrowthMB: (peak - idle) / 2 ** 20, rssBefore10kMB: before / 2 ** 20, rssAfter10kMB: after10k / 2 ** 20 };
}

async function main(): Promise<number> {
  for (const bin of ['wrk', 'caddy']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      console.error(`bench:e2e needs ${bin}: apt-get install -y ${bin}`);
      return 2;
    }
  }
  if (spawnSync('sh', ['-c', `test -f ${join(ROOT, 'dist', 'cli.js')}`]).status !== 0) {
    console.error('bench:e2e runs dist/: npm run build first');
    return 2;
  }
  console.log(`promfence end-to-end benchmark — ${new Date().toISOString()}`);
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; wrk -c16 -t2 ${SECONDS}s × ${ROUNDS} rounds (warm-up ${WARMUP}s); target (e) workers: ${WORKERS}`);

  const prom = await startPrometheus({ tenants: ['team-fruit'], hours: 6 });
  const end = prom.dataEnd;
  const caddy = await startCaddy(prom.url);
  const bearer = await startPromfence(prom.url);
  const basic = await startPromfence(prom.url);
  const multi = WORKERS === '1' ? undefined : await startPromfence(prom.url, WORKERS);
  const targets: Partial<Record<Target, { url: string; pid: number | undefined; headers: Record<string, string> }>> = {
    direct: { url: prom.url, pid: undefined, headers: {} },
    caddy: { url: caddy.url, pid: caddy.pid, headers: {} },
    bearer: { url: bearer.url, pid: bearer.pid, headers: { Authorization: `Bearer ${TOKEN}` } },
    basic: { url: basic.url, pid: basic.pid, headers: { Authorization: `Basic ${Buffer.from(`bob:${BASIC_PW}`).toString('base64')}` } },
    ...(multi === undefined ? {} : { workers: { url: multi.url, pid: multi.pid, headers: { Authorization: `Bearer ${TOKEN}` } } }),
  };
  const names = Object.keys(targets) as Target[];
  const target = (name: Target) => targets[name] as { url: string; pid: number | undefined; headers: Record<string, string> };
  const shapes: Record<Shape, string> = {
    instant: `/api/v1/query?${new URLSearchParams({ query: 'sum by (job) (rate(http_requests_total[5m]))', time: String(end) })}`,
    range: `/api/v1/query_range?${new URLSearchParams({ query: 'histogram_quantile(0.9, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))', start: String(end - 3 * 3600), end: String(end), step: '15' })}`,
    labels: `/api/v1/labels?${new URLSearchParams({ start: String(end - 6 * 3600), end: String(end) })}`,
    series: `/api/v1/series?${new URLSearchParams({ 'match[]': 'http_requests_total', start: String(end - 6 * 3600), end: String(end) })}`,
  };

  // Same answer everywhere (the data holds only team-fruit), checked once.
  for (const [shape, path] of Object.entries(shapes)) {
    const bodies = await Promise.all(Object.values(targets).map(async (t) => (await fetch(t.url + path, { headers: t.headers })).text()));
    const norm = bodies.map((b) => JSON.stringify((JSON.parse(b) as { data: unknown }).data));
    if (new Set(norm).size !== 1) {
      console.error(`targets disagree on ${shape}: ${bodies.map((b) => b.slice(0, 120)).join(' | ')}`);
      return 1;
    }
  }

  // Warm-up (untimed): JIT, caches, upstream keep-alive pools, basic credentials verified once.
  for (const shape of Object.keys(shapes) as Shape[]) {
    for (const name of names) {
      const t = target(name);
      await runWrk({ method: 'GET', url: t.url + shapes[shape], headers: t.headers }, { seconds: WARMUP });
    }
  }

  const runs: Record<string, Run[]> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const shape of Object.keys(shapes) as Shape[]) {
      // The order of the targets rotates each round (no target always runs first or last).
      const order = names.map((_, k) => names[(k + round - 1) % names.length] as Target);
      for (const name of order) {
        const t = target(name);
        const req: WrkRequest = { method: 'GET', url: t.url + shapes[shape], headers: t.headers };
        const cpu0 = t.pid === undefined ? 0 : treeCpuMs(t.pid);
        const r = await runWrk(req, { seconds: SECONDS });
        const cpu1 = t.pid === undefined ? 0 : treeCpuMs(t.pid);
        if (r.errors > 0) throw new Error(`${name} ${shape}: ${r.errors} failed requests`);
        (runs[`${name}/${shape}`] ??= []).push({ ...r, cpuMsPerRequest: t.pid === undefined ? undefined : (cpu1 - cpu0) / r.requests });
        process.stderr.write(`round ${round} ${shape} ${name}: ${r.rps.toFixed(0)} req/s\n`);
      }
    }
  }

  const fig = (name: Target, shape: Shape) => {
    const rs = runs[`${name}/${shape}`] ?? [];
    return {
      rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
      cpu: median(rs.map((r) => r.cpuMsPerRequest ?? NaN)),
    };
  };
  console.log('\nmedians of rounds         req/s    ×direct  ×caddy   p50 ms   p99 ms   CPU ms/req  ×caddy CPU');
  for (const shape of Object.keys(shapes) as Shape[]) {
    const d = fig('direct', shape);
    const c = fig('caddy', shape);
    for (const name of names) {
      const f = fig(name, shape);
      const cell = (n: number, w = 8, dp = 2) => (Number.isFinite(n) ? n.toFixed(dp).padStart(w) : 'n/a'.padStart(w));
      console.log(`${`${shape} ${name}`.padEnd(22)}${cell(f.rps, 9, 0)} ${cell(f.rps / d.rps)} ${cell(f.rps / c.rps)} ${cell(f.p50)} ${cell(f.p99)} ${cell(f.cpu, 11, 3)} ${cell(f.cpu / c.cpu, 10)}`);
    }
  }

  const widePort = await startPrometheus({ openMetrics: wideData(4000, end, 3, 15), end, hours: 3, stepSeconds: 15 });
  const mem = await memoryFigures(widePort);
  console.log(`\nmemory (promfence): idle RSS ${mem.idleRssMB?.toFixed(1)} MB; streaming ${mem.streamedMB?.toFixed(1)} MB answer: RSS growth ${mem.streamingGrowthMB?.toFixed(1)} MB; after 10,000 distinct queries ${mem.rssAfter10kMB?.toFixed(1)} MB (before ${mem.rssBefore10kMB?.toFixed(1)} MB)`);

  const i = fig('bearer', 'instant');
  const ci = fig('caddy', 'instant');
  const rg = fig('bearer', 'range');
  const dr = fig('direct', 'range');
  const targetsMet: Array<[string, boolean, string]> = [
    ['CPU per small proxied request ≤ 1.0 × Caddy', i.cpu <= ci.cpu, `${(i.cpu / ci.cpu).toFixed(2)}×`],
    ['small instant throughput ≥ 1.0 × Caddy', i.rps >= ci.rps, `${(i.rps / ci.rps).toFixed(2)}×`],
    ['heavy query_range throughput ≥ 0.95 × direct', rg.rps >= 0.95 * dr.rps, `${(rg.rps / dr.rps).toFixed(2)}×`],
    ...(Object.keys(shapes) as Shape[]).map((shape): [string, boolean, string] => {
      const b = fig('bearer', shape);
      const c = fig('caddy', shape);
      return [`p99 ≤ Caddy p99 + 2 ms (${shape})`, b.p99 <= c.p99 + 2, `${b.p99.toFixed(2)} vs ${c.p99.toFixed(2)} ms`];
    }),
    ['streaming RSS growth ≤ 50 MB for a ≥ 50 MB answer', (mem.streamingGrowthMB ?? Infinity) <= 50 && (mem.streamedMB ?? 0) >= 50, `${mem.streamingGrowthMB?.toFixed(1)} MB for ${mem.streamedMB?.toFixed(1)} MB`],
    ['idle RSS ≤ 80 MB', (mem.idleRssMB ?? Infinity) <= 80, `${mem.idleRssMB?.toFixed(1)} MB`],
  ];
  console.log('\ntargets (issue #10):');
  for (const [what, ok, value] of targetsMet) console.log(`  ${ok ? 'met    ' : 'MISSED '} ${what}: ${value}`);
  if (JSON_OUT !== undefined) writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, rounds: ROUNDS, warmup: WARMUP, workers: WORKERS, runs, mem, targets: targetsMet }, null, 1));
  await prom.stop();
  await widePort.stop();
  return CHECK && targetsMet.some(([, ok]) => !ok) ? 1 : 0;
}

main().then((code) => {
  for (const c of children) c.kill('SIGTERM');
  process.exit(code);
}, (err: unknown) => {
  console.error(err);
  process.exit(1);
});
