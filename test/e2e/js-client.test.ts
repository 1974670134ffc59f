/**
 * A third-party JavaScript client against promfence: `prometheus-query` (PrometheusDriver,
 * axios underneath), as a Node dashboard or script would use it — basic auth, a bearer
 * header, GET and POST — in front of a real Prometheus 2.42. Each user sees exactly its
 * tenants, and refusals reach the client as Prometheus-style errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PrometheusDriver } from 'prometheus-query';
import type { RunningServer } from '../../src/server.ts';
import { startGateway } from '../kit/gateway.ts';
import { requirePrometheus, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';

const FRUIT = 'team-fruit';
const VEGGIE = 'team-veggie';

let prom: RunningPrometheus;
let gw: RunningServer;

before(async () => {
  requirePrometheus();
  prom = await startPrometheus();
  gw = await startGateway(prom.url, {
    alice: { password: 'apple', tenants: [FRUIT] },
    bob: { token: 'veggie-token', tenants: [VEGGIE] },
    tom: { password: 'tomato', token: 'tomato-token', tenants: [FRUIT, VEGGIE] },
  });
});

after(async () => {
  await gw?.close();
  await prom?.stop();
});

function tenantsOf(labelSets: Array<Record<string, unknown>>): string[] {
  return [...new Set(labelSets.map((l) => String(l['tenant'] ?? '')))].sort();
}

const drivers: Array<[string, () => PrometheusDriver, string[]]> = [
  ['alice, basic auth, GET', () => new PrometheusDriver({ endpoint: gw.url, auth: { username: 'alice', password: 'apple' } }), [FRUIT]],
  ['bob, bearer header, POST', () => new PrometheusDriver({ endpoint: gw.url, headers: { Authorization: 'Bearer veggie-token' }, preferPost: true }), [VEGGIE]],
  ['tom, basic auth, POST', () => new PrometheusDriver({ endpoint: gw.url, auth: { username: 'tom', password: 'tomato' }, preferPost: true }), [FRUIT, VEGGIE]],
];

for (const [name, driver, expected] of drivers) {
  describe(`prometheus-query: ${name}`, () => {
    it('instantQuery', async () => {
      const r = await driver().instantQuery('count by (tenant) ({__name__=~".+"})', new Date(prom.dataEnd * 1000));
      assert.deepEqual(tenantsOf(r.result.map((s: { metric: { labels: Record<string, unknown> } }) => s.metric.labels)), expected);
    });

    it('rangeQuery', async () => {
      const r = await driver().rangeQuery('sum by (tenant) (rate(http_requests_total[5m]))', new Date((prom.dataEnd - 1800) * 1000), new Date(prom.dataEnd * 1000), 60);
      assert.deepEqual(tenantsOf(r.result.map((s: { metric: { labels: Record<string, unknown> } }) => s.metric.labels)), expected);
      assert.ok(r.result.every((s: { values: unknown[] }) => s.values.length > 0));
    });

    it('series', async () => {
      const r = await driver().series('up', new Date((prom.dataEnd - 600) * 1000), new Date(prom.dataEnd * 1000));
      assert.deepEqual(tenantsOf(r.map((m) => m.labels as Record<string, unknown>)), expected);
    });

    it('labelValues (tenant)', async () => {
      const r = await driver().labelValues('tenant', undefined, new Date((prom.dataEnd - 600) * 1000), new Date(prom.dataEnd * 1000));
      assert.deepEqual([...r].sort(), expected);
    });

    it('labelNames', async () => {
      const r = await driver().labelNames(undefined, new Date((prom.dataEnd - 600) * 1000), new Date(prom.dataEnd * 1000));
      assert.equal(r.includes('fruit'), expected.includes(FRUIT));
      assert.equal(r.includes('veggie'), expected.includes(VEGGIE));
    });
  });
}

/** What prometheus-query throws for a non-2xx answer: the HTTP status and the whole JSON envelope. */
interface ClientError {
  errorType?: string;
  httpStatus?: number;
  error?: string;
  prometheus?: { status?: string; errorType?: string; code?: string };
}

describe('prometheus-query: refusals arrive as Prometheus errors', () => {
  it('a foreign tenant in the query: 403 forbidden_tenant', async () => {
    const d = new PrometheusDriver({ endpoint: gw.url, auth: { username: 'alice', password: 'apple' } });
    await assert.rejects(d.instantQuery(`up{tenant="${VEGGIE}"}`), (err: ClientError) => {
      assert.equal(err.httpStatus, 403);
      assert.equal(err.error, `tenant "${VEGGIE}" is not granted to subject "alice"`);
      assert.deepEqual([err.prometheus?.status, err.prometheus?.errorType, err.prometheus?.code], ['error', 'forbidden', 'forbidden_tenant']);
      return true;
    });
  });

  it('a wrong password: 401 unauthorized', async () => {
    const d = new PrometheusDriver({ endpoint: gw.url, auth: { username: 'alice', password: 'pear' } });
    await assert.rejects(d.instantQuery('up'), (err: ClientError) => {
      assert.equal(err.httpStatus, 401);
      assert.deepEqual([err.prometheus?.errorType, err.prometheus?.code], ['unauthorized', 'unauthenticated']);
      return true;
    });
  });
});
