/**
 * CPU profile of promfence under load (`npm run bench:profile`): starts a real Prometheus
 * (Debian 2.42, backfilled team-fruit data) and `node --cpu-prof dist/cli.js serve` in front
 * of it (bearer auth, enforcement, default logging to a drained pipe), drives it with wrk
 * (16 connections, BENCH_SECONDS, default 10) on one request shape, stops it with SIGTERM
 * (the profile is written at exit) and prints where the CPU time went:
 *
 * - self time by group: Node's HTTP stack, Express, passport, pino (the logger), winston/logform
 *   (the logger before issue #10, for profiles of older trees), prom-client,
 *   promfence's own modules (dist/), lezer, GC, other node_modules, idle;
 * - the top functions by self time (name, file:line).
 *
 * Usage: `node --import tsx bench/profile.ts [instant|range|labels|series] [--keep DIR]`
 * (`--keep` leaves the .cpuprofile there, for Chrome DevTools or speedscope).
 * Needs wrk (apt-get install wrk) and dist/ (npm run build).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort, startPrometheus } from '../test/kit/prometheus.ts';
import { runWrk } from './lib/wrk.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const TOKEN = 'bench-alice-token-0123456789';
const args = process.argv.slice(2);
const shape = args.find((a) => !a.startsWith('--') && args[args.indexOf(a) - 1] !== '--keep') ?? 'instant';
const keep = args.includes('--keep') ? args[args.indexOf('--keep') + 1] : undefined;

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The group a profile frame belongs to, by its script URL and name. */
export function groupOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'program (native, unattributed)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) {
    const pkg = m[1] as string;
    if (/^(express|router|body-parser|finalhandler|send|serve-static|type-is|accepts|mime-types|on-finished|content-type|depd|statuses|fresh|range-parser|proxy-addr|forwarded|encodeurl|escape-html|parseurl|qs|cookie|vary|etag|merge-descriptors|path-to-regexp|debug|ms)$/.test(pkg)) return 'express (and its deps)';
    if (/^(winston|logform|safe-stable-stringify|triple-beam|readable-stream|@colors\/colors|fecha|winston-transport|@dabh\/diagnostics|one-time|kuler|stack-trace|async)$/.test(pkg)) return 'winston/logform';
    if (/^(pino|pino-std-serializers|sonic-boom|thread-stream|atomic-sleep|fast-redact|on-exit-leak-free|quick-format-unescaped|real-require|process-warning)$/.test(pkg)) return 'pino';
    if (/^(passport|passport-strategy|pause|utils-merge)$/.test(pkg)) return 'passport';
    if (/^(prom-client|tdigest|bintrees)$/.test(pkg)) return 'prom-client';
    if (/^@lezer\/|^@prometheus-io\//.test(pkg)) return 'lezer';
    return `other: ${pkg}`;
  }
  if (url.includes('/dist/')) return 'promfence (dist/)';
  if (url.startsWith('node:') || url === '') {
    if (/_http_|http|net|stream|tcp|buffer|events|timers|url|async_hooks/.test(url)) return 'node: http/net/streams';
    return url === '' ? 'native/builtin' : `node: ${url.replace(/^node:internal\//, '')}`;
  }
  return 'other';
}

/** Self time by group and by function, from a .cpuprofile. */
export function summarise(profile: CpuProfile): { total: number; groups: Array<[string, number]>; functions: Array<[string, number]> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    total += us;
    const g = groupOf(url, functionName);
    groups.set(g, (groups.get(g) ?? 0) + us);
    const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/');
    const key = `${functionName || '(anonymous)'} ${short}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { total, groups: sorted(groups), functions: sorted(functions) };
}

async function main(): Promise<void> {
  const prom = await startPrometheus({ tenants: ['team-fruit'], hours: 6 });
  const end = prom.dataEnd;
  const paths: Record<string, string> = {
    instant: `/api/v1/query?${new URLSearchParams({ query: 'sum by (job) (rate(http_requests_total[5m]))', time: String(end) })}`,
    range: `/api/v1/query_range?${new URLSearchParams({ query: 'histogram_quantile(0.9, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))', start: String(end - 3 * 3600), end: String(end), step: '15' })}`,
    labels: `/api/v1/labels?${new URLSearchParams({ start: String(end - 6 * 3600), end: String(end) })}`,
    series: `/api/v1/series?${new URLSearchParams({ 'match[]': 'http_requests_total', start: String(end - 6 * 3600), end: String(end) })}`,
  };
  const path = paths[shape];
  if (path === undefined) throw new Error(`unknown shape ${shape}: one of ${Object.keys(paths).join(', ')}`);
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'promfence-profile-'));
  mkdirSync(dir, { recursive: true });
  const port = await findFreePort();
  const file = join(dir, 'promfence.yaml');
  writeFileSync(file, [
    `server: {listen: "127.0.0.1:${port}"}`,
    `upstream: {url: "${prom.url}"}`,
    'promql: {syntax: prometheus2}',
    `auth: {bearer_tokens: [{subject: alice, token: "${TOKEN}"}]}`,
    'access: {subjects: {alice: [team-fruit]}}',
    '',
  ].join('\n'));
  const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, join(ROOT, 'dist', 'cli.js'), 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  child.stderr.resume();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/-/healthy`)).ok) break;
    } catch {
      if (i > 300) throw new Error('promfence did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const headers = { Authorization: `Bearer ${TOKEN}` };
  await runWrk({ method: 'GET', url: url + path, headers }, { seconds: 2 }); // warm-up
  const r = await runWrk({ method: 'GET', url: url + path, headers }, { seconds: SECONDS });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
  await prom.stop();
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (name === undefined) throw new Error(`no .cpuprofile in ${dir}`);
  const s = summarise(JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile);
  const busy = s.total - (s.groups.find(([g]) => g === 'idle')?.[1] ?? 0);
  const requests = r.requests + 0; // the warm-up run is in the profile too; shares are what matter
  console.log(`promfence CPU profile, ${shape}: ${r.rps.toFixed(0)} req/s over ${SECONDS} s (${requests} requests); profile ${join(dir, name)}`);
  console.log('\nself time by group, % of busy time:');
  for (const [g, us] of s.groups) if (g !== 'idle') console.log(`  ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${g}`);
  console.log('\ntop functions by self time, % of busy time:');
  for (const [f, us] of s.functions.filter(([k]) => !k.startsWith('(idle)')).slice(0, 40)) console.log(`  ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${f}`);
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
