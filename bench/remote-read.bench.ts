/**
 * Benchmark of remote-read request enforcement (`npm run bench:remote-read`): snappy
 * decompression + protobuf decode + matcher checks + policy matchers + re-encode + snappy
 * compression of a `ReadRequest`, per request, for the request a Prometheus remote-read client
 * sends (one query, two matchers, hints) and a 16-query request. Answers are never decoded
 * (they are streamed), so this is promfence's whole per-request remote-read cost.
 *
 * Env: BENCH_ROUNDS (default 20000).
 */
import { tenantList, tenantPolicy } from '../src/access/index.ts';
import { enforceReadRequest } from '../src/routes/remote-read.ts';
import { readRequestBody, type Q } from '../test/kit/remote-read.ts';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 20000);
const policy = tenantPolicy('tenant', tenantList(['team-fruit', 'team-veggie']));
const opts = { mode: 'label' as const, rejectForeignTenant: true, maxQueries: 64, maxDecompressedBytes: 4 << 20 };
const one: Q = { matchers: [['__name__', '=', 'http_requests_total'], ['job', '=~', 'shop|market']], start: 1_700_000_000_000, end: 1_700_003_600_000, hints: { step_ms: 15000, func: 'rate', start_ms: 1_700_000_000_000, end_ms: 1_700_003_600_000, range_ms: 300000 } };

for (const [name, body] of [['1 query', readRequestBody([one], [1, 0])], ['16 queries', readRequestBody(Array.from({ length: 16 }, () => one), [1, 0])]] as const) {
  for (let i = 0; i < 1000; i++) enforceReadRequest(body, { policy }, opts);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    enforceReadRequest(body, { policy }, opts);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const us = (x: number) => (x * 1000).toFixed(1);
  console.log(`remote read enforce, ${name} (${body.length} bytes): median ${us(times[Math.floor(rounds / 2)] ?? 0)} µs, p99 ${us(times[Math.floor(rounds * 0.99)] ?? 0)} µs over ${rounds} requests`);
}
