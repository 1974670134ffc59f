/**
 * The fruit/veggie generator and the Prometheus test kit: deterministic text, monotonic
 * counters, the documented series, and a real Prometheus 2.42 serving the backfilled data.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countSeries, generateOpenMetrics } from '../../scripts/generate-data.ts';
import { promPost, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';

const END = 1767225600; // 2026-01-01T00:00:00Z

function parseSamples(text: string): Map<string, Array<[number, number]>> {
  const series = new Map<string, Array<[number, number]>>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?\{.*\}|\S+) (\S+) (\S+)$/.exec(line);
    assert.ok(m, `bad line ${line}`);
    const key = m[1] as string;
    const arr = series.get(key) ?? [];
    arr.push([Number(m[3]), Number(m[2])]);
    series.set(key, arr);
  }
  return series;
}

describe('generateOpenMetrics', () => {
  const text = generateOpenMetrics({ end: END, hours: 1, stepSeconds: 15 });
  const series = parseSamples(text);

  test('is deterministic and ends with # EOF', () => {
    assert.equal(generateOpenMetrics({ end: END, hours: 1, stepSeconds: 15 }), text);
    assert.ok(text.endsWith('# EOF\n'));
    assert.notEqual(generateOpenMetrics({ end: END, hours: 1, stepSeconds: 15, seed: 7 }), text);
  });

  test('has the documented series, each with one sample per step up to end', () => {
    assert.equal(series.size, countSeries({}));
    assert.ok(series.size <= 200);
    for (const [key, samples] of series) {
      assert.equal(samples.length, 241, key);
      assert.equal(samples.at(-1)?.[0], END, key);
    }
    const keys = [...series.keys()];
    assert.ok(keys.some((k) => k.startsWith('fruit_harvested_total{tenant="team-fruit"')));
    assert.ok(keys.some((k) => k.startsWith('veggie_harvested_total{tenant="team-veggie"') && k.includes('replica="b"')));
    assert.ok(keys.some((k) => k.startsWith('http_request_duration_seconds_bucket{tenant="team-fruit"') && k.includes('le="+Inf"')));
    const platform = keys.filter((k) => k.includes('instance="node-') || k.includes('job="prometheus"'));
    assert.ok(platform.length > 0);
    assert.ok(platform.every((k) => !k.includes('tenant=')), 'platform series carry no tenant label');
  });

  test('counters and histogram series never decrease', () => {
    for (const [key, samples] of series) {
      if (!/_total\{|_bucket\{|_sum\{|_count\{/.test(key)) continue;
      for (let i = 1; i < samples.length; i++) assert.ok((samples[i]?.[1] ?? 0) >= (samples[i - 1]?.[1] ?? 0), `${key} decreases at ${i}`);
    }
  });

  test('tenants option: only that tenant, no platform series', () => {
    const only = parseSamples(generateOpenMetrics({ end: END, hours: 1, stepSeconds: 60, tenants: ['team-fruit'] }));
    assert.equal(only.size, countSeries({ tenants: ['team-fruit'] }));
    for (const key of only.keys()) assert.ok(key.includes('tenant="team-fruit"'), key);
    assert.throws(() => generateOpenMetrics({ end: END, hours: 1, stepSeconds: 15, tenants: ['team-x'] }), RangeError);
  });
});

describe('startPrometheus (real Prometheus 2.42)', () => {
  let prom: RunningPrometheus;
  before(async () => {
    prom = await startPrometheus();
  });
  after(async () => {
    await prom?.stop();
  });

  test('serves every generated series at dataEnd, by tenant', async () => {
    const res = await promPost(prom.url, '/api/v1/query', { query: 'count by (tenant) ({__name__=~".+"})', time: String(prom.dataEnd) });
    assert.equal(res.body.status, 'success');
    const byTenant = Object.fromEntries(
      (res.body.data as { result: Array<{ metric: { tenant?: string }; value: [number, string] }> }).result.map((r) => [r.metric.tenant ?? '(none)', Number(r.value[1])]),
    );
    assert.deepEqual(byTenant, {
      'team-fruit': countSeries({ tenants: ['team-fruit'] }),
      'team-veggie': countSeries({ tenants: ['team-veggie'] }),
      '(none)': countSeries({}) - countSeries({ tenants: ['team-fruit', 'team-veggie'] }),
    });
  });

  test('has data over the whole window (rate over the first and last hour)', async () => {
    for (const t of [prom.dataStart + 3600, prom.dataEnd]) {
      const res = await promPost(prom.url, '/api/v1/query', { query: 'sum(rate(fruit_harvested_total[5m])) > 0', time: String(t) });
      assert.equal((res.body.data as { result: unknown[] }).result.length, 1, `no data at ${t}`);
    }
  });

  test('stop() is idempotent and frees the port', async () => {
    const other = await startPrometheus({ tenants: ['team-veggie'], hours: 1 });
    await other.stop();
    await other.stop();
    await assert.rejects(fetch(other.url + '/-/ready'));
  });
});
