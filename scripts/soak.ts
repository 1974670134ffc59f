/**
 * `npm run soak`: promfence under hostile load (issue #11), bounded in time, outside `npm test`.
 *
 * A real Prometheus 2.42 over the fruit/veggie data (test/kit/prometheus.ts) and promfence as
 * its own process (`node dist/cli.js serve`, built by `npm run build`; so its RSS and event
 * loop are its own). Two phases:
 *
 * 1. quiet (SOAK_QUIET_SECONDS, default 20): the legitimate caller alone — a dashboard of
 *    instant and range queries, one request at a time, as fast as answers come;
 * 2. hostile (SOAK_HOSTILE_SECONDS, default 40): the same caller while attackers send each
 *    class of issue #11 at a fixed rate (per second, below): pre-auth malformed targets,
 *    pipelining floods, Basic headers with fresh wrong passwords, parse-cost queries
 *    (distinct each time), many large match[], cache-filling distinct queries, long `or`
 *    chains, foreign-tenant regex probes, oversized targets.
 *
 * Throughout, `/-/healthy` is probed every 100 ms and promfence's RSS sampled every second.
 * Printed: the legitimate caller's p50/p99 in each phase and its failures, the health probe's
 * worst latency and how many probes took over 100 ms, the RSS curve, and what the attackers
 * got (status counts). Targets of the issue (reported, not asserted): hostile p50 ≤ 2× quiet,
 * no failed legitimate request, RSS < 300 MB, /-/healthy within 100 ms throughout.
 *
 * The default run has no per-subject limits (`limits.*` off, as promfence's defaults): pass
 * them in SOAK_EXTRA_YAML (appended to the generated config) to soak with them, e.g.
 * `SOAK_EXTRA_YAML=$'limits:\n  max_inflight_per_subject: 2' npm run soak` (the attackers are
 * the subject mallory, the legitimate caller alice); the summary says which was used. SOAK_ONLY=TEXT runs only
 * the attack classes whose name contains TEXT. SOAK_JSON=FILE also writes the raw figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { findFreePort, startPrometheus, type RunningPrometheus } from '../test/kit/prometheus.ts';

const QUIET_S = Number(process.env['SOAK_QUIET_SECONDS'] ?? 20);
const HOSTILE_S = Number(process.env['SOAK_HOSTILE_SECONDS'] ?? 40);
const EXTRA_YAML = process.env['SOAK_EXTRA_YAML'] ?? '';
const ROOT = resolve(import.meta.dirname, '..');

interface Sample { t: number; ms: number; ok: boolean; status: number }

const percentile = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** One HTTP request; resolves with status and elapsed ms (status 0 on a network error). */
function call(port: number, method: string, path: string, headers: Record<string, string>, body?: string, agent: http.Agent | false = false): Promise<{ status: number; ms: number; text: string }> {
  const t0 = performance.now();
  return new Promise((resolveCall) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveCall({ status: res.statusCode ?? 0, ms: performance.now() - t0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolveCall({ status: 0, ms: performance.now() - t0, text: '' }));
    });
    req.setTimeout(30_000, () => req.destroy());
    req.on('error', () => resolveCall({ status: 0, ms: performance.now() - t0, text: '' }));
    req.end(body);
  });
}

/** Writes raw bytes on a fresh connection and closes it after `ms`. */
function raw(port: number, bytes: string | Buffer, ms = 2000): Promise<void> {
  return new Promise((done) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(bytes, () => {}));
    const end = () => {
      sock.destroy();
      done();
    };
    const timer = setTimeout(end, ms);
    sock.on('close', () => {
      clearTimeout(timer);
      done();
    });
    sock.on('error', () => {});
    sock.resume();
  });
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const cli = join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  console.log(`soak: starting Prometheus (quiet ${QUIET_S} s, hostile ${HOSTILE_S} s)…`);
  const prom: RunningPrometheus = await startPrometheus({ hours: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'promfence-soak-'));
  const port = await findFreePort();
  const bobHash = await bcrypt.hash('veggie-password', 10);
  const configFile = join(dir, 'promfence.yaml');
  writeFileSync(configFile, [
    'server:',
    `  listen: "127.0.0.1:${port}"`,
    'upstream:',
    `  url: "${prom.url}"`,
    'promql:',
    '  syntax: prometheus2',
    'auth:',
    '  bearer_tokens:',
    '    - {subject: alice, token: "fruit-token"}',
    '    - {subject: mallory, token: "mallory-token"}',
    '  basic_users:',
    `    - {subject: bob, password_hash: "${bobHash}"}`,
    'access:',
    '  subjects:',
    '    alice: [team-fruit]',
    '    mallory: [team-veggie]',
    '    bob: [team-veggie]',
    'log:',
    '  level: error',
    EXTRA_YAML,
  ].join('\n'));
  const gateway: ChildProcess = spawn(process.execPath, [cli, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stopAll = () => {
    gateway.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopAll);
  try {
    for (let i = 0; ; i++) {
      if ((await call(port, 'GET', '/-/ready', {})).status === 200) break;
      if (i > 100) throw new Error('promfence did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = gateway.pid as number;
    const end = prom.dataEnd;
    const t0 = performance.now();
    const now = () => (performance.now() - t0) / 1000;

    // Background probes: health every 100 ms, RSS every second.
    const health: Sample[] = [];
    const rss: Array<{ t: number; mb: number }> = [];
    let probing = true;
    const healthLoop = (async () => {
      while (probing) {
        const r = await call(port, 'GET', '/-/healthy', {});
        health.push({ t: now(), ms: r.ms, ok: r.status === 200, status: r.status });
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const rssTimer = setInterval(() => rss.push({ t: now(), mb: rssMb(pid) }), 1000);

    // The legitimate caller: a dashboard refresh, one request at a time.
    const ALICE = { authorization: 'Bearer fruit-token' };
    const dashboard: Array<[string, string]> = [
      ['/api/v1/query', `query=${encodeURIComponent('sum by (code) (rate(http_requests_total[5m]))')}&time=${end}`],
      ['/api/v1/query_range', `query=${encodeURIComponent('sum(rate(fruit_harvested_total[5m])) by (fruit)')}&start=${end - 3600}&end=${end}&step=60`],
      ['/api/v1/query', `query=${encodeURIComponent('histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))')}&time=${end}`],
      ['/api/v1/series', `match[]=${encodeURIComponent('up')}`],
      ['/api/v1/query', `query=${encodeURIComponent('count(up)')}&time=${end}`],
    ];
    const legit: Array<Sample & { phase: 'quiet' | 'hostile' }> = [];
    let phase: 'quiet' | 'hostile' = 'quiet';
    let legitRunning = true;
    const legitLoop = (async () => {
      for (let i = 0; legitRunning; i++) {
        const [path, body] = dashboard[i % dashboard.length] as [string, string];
        const r = await call(port, 'POST', path, ALICE, body, keepAlive);
        const ok = r.status === 200 && r.text.includes('"status":"success"');
        legit.push({ t: now(), ms: r.ms, ok, status: r.status, phase });
        await new Promise((res) => setTimeout(res, 20));
      }
    })();

    await new Promise((r) => setTimeout(r, QUIET_S * 1000));
    phase = 'hostile';
    console.log(`soak: quiet phase done (${legit.length} legitimate requests); attackers start`);

    // Attackers, each class at a fixed rate (requests per second).
    const attacks: Record<string, Map<number, number>> = {};
    const count = (name: string, status: number) => {
      const m = (attacks[name] ??= new Map());
      m.set(status, (m.get(status) ?? 0) + 1);
    };
    let n = 0;
    const uniq = () => `${Date.now().toString(36)}${(n++).toString(36)}`;
    const MALLORY = { authorization: 'Bearer mallory-token' };
    const classes: Array<{ name: string; perSecond: number; run: () => Promise<void> }> = [
      { name: 'pre-auth: 250 KB of malformed %& escapes', perSecond: 4, run: async () => count('pre-auth: 250 KB of malformed %& escapes', (await call(port, 'GET', '/api/v1/query?' + '%&'.repeat(125_000), {})).status) },
      { name: 'pre-auth: 1 MB request target', perSecond: 2, run: async () => count('pre-auth: 1 MB request target', (await call(port, 'GET', '/api/v1/query?' + 'a'.repeat(1_000_000), {})).status) },
      { name: 'pre-auth: 100k pipelined requests', perSecond: 0.5, run: async () => {
        await raw(port, `GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(100_000));
        count('pre-auth: 100k pipelined requests', 0);
      } },
      { name: 'pre-auth: Basic with a fresh wrong password', perSecond: 10, run: async () => count('pre-auth: Basic with a fresh wrong password', (await call(port, 'GET', '/api/v1/query?query=up', { authorization: `Basic ${Buffer.from(`bob:${uniq()}`).toString('base64')}` })).status) },
      { name: 'auth CPU: 16k-token garbage (distinct)', perSecond: 5, run: async () => count('auth CPU: 16k-token garbage (distinct)', (await call(port, 'POST', '/api/v1/query', MALLORY, `query=${encodeURIComponent(`x${uniq()} ` + '1 '.repeat(16_000))}`)).status) },
      { name: 'auth CPU: nesting at the depth limit (distinct)', perSecond: 5, run: async () => count('auth CPU: nesting at the depth limit (distinct)', (await call(port, 'POST', '/api/v1/query', MALLORY, `query=${encodeURIComponent('topk(1,'.repeat(499) + `x${uniq()}` + ')'.repeat(499))}`)).status) },
      { name: 'auth CPU: 32 signed powers (distinct)', perSecond: 5, run: async () => count('auth CPU: 32 signed powers (distinct)', (await call(port, 'POST', '/api/v1/query', MALLORY, `query=${encodeURIComponent(Array(32).fill('-1').join('^') + ` + x${uniq()}`)}`)).status) },
      { name: 'auth CPU: 49 match[] of ~18 KB', perSecond: 2, run: async () => {
        const sel = encodeURIComponent(`{a="${uniq()}",` + Array.from({ length: 1100 }, (_, i) => `b${i}="x"`).join(',') + '}');
        count('auth CPU: 49 match[] of ~18 KB', (await call(port, 'POST', '/api/v1/series', MALLORY, Array(49).fill(`match[]=${sel}`).join('&'))).status);
      } },
      { name: 'auth memory: distinct 30 KB queries', perSecond: 10, run: async () => count('auth memory: distinct 30 KB queries', (await call(port, 'POST', '/api/v1/query', MALLORY, `query=${encodeURIComponent(`vector(1) + count(x{a="${uniq()}${'y'.repeat(30_000)}"})`)}&time=${end}`)).status) },
      { name: 'availability: 400-term or chain', perSecond: 1, run: async () => count('availability: 400-term or chain', (await call(port, 'POST', '/api/v1/query', MALLORY, `query=${encodeURIComponent(Array.from({ length: 400 }, (_, i) => `count(m${i}_${uniq()})`).join(' or '))}&time=${end}`)).status) },
      { name: 'side channel: foreign-tenant regex probes', perSecond: 5, run: async () => count('side channel: foreign-tenant regex probes', (await call(port, 'POST', '/api/v1/query', MALLORY, `query=${encodeURIComponent(`count({tenant=~"team-fruit|t${uniq()}"})`)}`)).status) },
    ];
    let attacking = true;
    const only = process.env['SOAK_ONLY'];
    const attackLoops = classes.filter((c) => only === undefined || c.name.includes(only)).map(async (c) => {
      const interval = 1000 / c.perSecond;
      const inflight = new Set<Promise<void>>();
      while (attacking) {
        const p: Promise<void> = c.run().catch(() => count(c.name, -1)).finally(() => inflight.delete(p));
        inflight.add(p);
        await new Promise((r) => setTimeout(r, interval));
      }
      await Promise.all(inflight);
    });

    await new Promise((r) => setTimeout(r, HOSTILE_S * 1000));
    attacking = false;
    legitRunning = false;
    await Promise.all([legitLoop, ...attackLoops]);
    probing = false;
    await healthLoop;
    clearInterval(rssTimer);

    const ms = (p: 'quiet' | 'hostile') => legit.filter((s) => s.phase === p).map((s) => s.ms);
    const failed = legit.filter((s) => !s.ok);
    const quiet = ms('quiet');
    const hostile = ms('hostile');
    const rssMbs = rss.map((r) => r.mb).filter((x) => Number.isFinite(x));
    const summary = {
      extra_config: EXTRA_YAML === '' ? 'none (no per-subject limits)' : EXTRA_YAML,
      legit: {
        quiet: { n: quiet.length, p50_ms: percentile(quiet, 50), p99_ms: percentile(quiet, 99) },
        hostile: { n: hostile.length, p50_ms: percentile(hostile, 50), p99_ms: percentile(hostile, 99) },
        p50_ratio: percentile(hostile, 50) / percentile(quiet, 50),
        failed: failed.length,
        failed_statuses: [...new Set(failed.map((f) => f.status))],
      },
      health: { n: health.length, max_ms: Math.max(...health.map((h) => h.ms)), over_100ms: health.filter((h) => h.ms > 100).length, failed: health.filter((h) => !h.ok).length },
      rss_mb: { start: rssMbs[0], max: Math.max(...rssMbs), end: rssMbs[rssMbs.length - 1], curve_every_5s: rss.filter((_, i) => i % 5 === 0).map((r) => Math.round(r.mb)) },
      attackers: Object.fromEntries(Object.entries(attacks).map(([k, m]) => [k, Object.fromEntries(m)])),
    };
    const f = (x: number) => x.toFixed(1);
    console.log('\n== soak summary ==');
    console.log(`extra configuration: ${summary.extra_config}`);
    console.log(`legitimate caller, quiet:   ${summary.legit.quiet.n} requests, p50 ${f(summary.legit.quiet.p50_ms)} ms, p99 ${f(summary.legit.quiet.p99_ms)} ms`);
    console.log(`legitimate caller, hostile: ${summary.legit.hostile.n} requests, p50 ${f(summary.legit.hostile.p50_ms)} ms, p99 ${f(summary.legit.hostile.p99_ms)} ms (p50 ×${f(summary.legit.p50_ratio)}; target ≤ 2)`);
    console.log(`legitimate failures: ${summary.legit.failed} ${summary.legit.failed > 0 ? JSON.stringify(summary.legit.failed_statuses) : ''} (target 0)`);
    console.log(`/-/healthy: ${summary.health.n} probes, max ${f(summary.health.max_ms)} ms, ${summary.health.over_100ms} over 100 ms, ${summary.health.failed} failed (target: all within 100 ms)`);
    console.log(`RSS MB: start ${f(summary.rss_mb.start ?? NaN)}, max ${f(summary.rss_mb.max)}, end ${f(summary.rss_mb.end ?? NaN)} (target < 300); every 5 s: ${summary.rss_mb.curve_every_5s.join(' ')}`);
    console.log('attackers (status → count; 0 = connection closed by promfence, -1 = client error):');
    for (const [k, v] of Object.entries(summary.attackers)) console.log(`  ${k}: ${JSON.stringify(v)}`);
    if (process.env['SOAK_JSON']) writeFileSync(process.env['SOAK_JSON'], JSON.stringify({ summary, legit, health, rss }, null, 1));
  } finally {
    stopAll();
    await prom.stop();
    keepAlive.destroy();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(`soak: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
