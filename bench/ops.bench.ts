/**
 * Benchmark of the per-request cost of the operations layer (`npm run bench:ops`): what one
 * finished request costs in each request-finished hook and in the limiter, in µs per request
 * (median of rounds; each round runs BENCH_N requests):
 *
 * - access log, audit log: JSON lines (pino) into a stream that discards them;
 * - metrics: the prom-client hook (counters and histograms with bounded labels);
 * - limiter (memory store): `admitSubject()` + release with `limits.rate` and
 *   `limits.max_inflight_per_subject` set.
 *
 * Env: BENCH_N (default 20000), BENCH_ROUNDS (default 7).
 */
import { cpus } from 'node:os';
import { Writable } from 'node:stream';
import { principal, tenantList, tenantPolicy } from '../src/access/index.ts';
import { newState } from '../src/http/state.ts';
import { createLimiter } from '../src/limits/limiter.ts';
import { accessLogHook } from '../src/observability/access-log.ts';
import { auditHook } from '../src/observability/audit.ts';
import type { FinishedRequest } from '../src/observability/hooks.ts';
import { createLogger, silentLogger } from '../src/observability/logger.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import { testConfig } from '../test/http/kit.ts';

const N = Number(process.env['BENCH_N'] ?? 20_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
const config = testConfig('http://127.0.0.1:9090', (c) => {
  c.limits.rate = { requests_per_second: 1e9, burst: 1e9 };
  c.limits.max_inflight_per_subject = 1000;
});

function request(i: number): FinishedRequest {
  const s = newState(`req-${i}`);
  s.principal = principal(i % 2 === 0 ? 'alice' : 'tom', 'bearer_tokens');
  s.route = 'query_range';
  s.policy = tenantPolicy('tenant', tenantList(i % 2 === 0 ? ['team-fruit'] : ['team-fruit', 'team-veggie']));
  s.original = { query: 'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))' };
  s.enforced = { query: 'sum by (job) (rate(http_requests_total{code=~"5..",tenant="team-fruit"}[5m]))' };
  s.upstream = { name: 'prometheus', status: 200, durationMs: 12.5 };
  return { state: s, method: 'POST', status: 200, aborted: false, durationMs: 14.2 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function measure(name: string, run: (r: FinishedRequest) => unknown | Promise<unknown>): Promise<void> {
  const reqs = Array.from({ length: N }, (_, i) => request(i));
  const perRound: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    for (const r of reqs) await run(r);
    perRound.push(((performance.now() - t0) * 1000) / N);
  }
  console.log(`${name.padEnd(34)} ${median(perRound).toFixed(2).padStart(8)} µs/request (median of ${ROUNDS} rounds of ${N})`);
}

console.log(`# promfence operations benchmark — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}`);
const metrics = createMetrics('bench', { defaultMetrics: false });
metrics.configure(config);
const limiter = createLimiter(config, { logger: silentLogger() });
await measure('baseline (loop, no hook)', () => undefined);
await measure('access log hook', accessLogHook(createLogger('info', { stream: sink() })));
await measure('audit hook', auditHook(createLogger('info', { stream: sink() }), config.access));
await measure('metrics hook', metrics.hook);
await measure('limiter admit+release (memory)', async (r) => (await limiter.admitSubject(r.state.principal!.subject))());
await limiter.close();
