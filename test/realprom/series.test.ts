/**
 * `match[]` enforcement against a real Prometheus 2.42: selectors Grafana and promtool send
 * (metric browser, variables, series lookups), enforced with `enforceSeriesSelector`, are
 * accepted by `/api/v1/series` and return exactly the allowed tenants' series; the
 * no-`match[]` selector (`policySelectors`) scopes `/api/v1/labels` and label values.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_TENANTS, tenantList, tenantPolicy, type TenantSet } from '../../src/access/index.ts';
import { enforceSeriesSelector, policySelectors } from '../../src/enforce/index.ts';
import { topts } from '../kit/policy.ts';
import { countSeries } from '../../scripts/generate-data.ts';
import { promPost, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';

const SELECTORS = [
  '{__name__!=""}',
  '{__name__=~".+"}',
  'up',
  'http_requests_total',
  'http_requests_total{code=~"5.."}',
  '{job="shop"}',
  '{__name__=~"http_.*", method!="GET"}',
  'up{tenant=~"team-.*"}',
];

let prom: RunningPrometheus;
before(async () => {
  prom = await startPrometheus();
});
after(async () => {
  await prom?.stop();
});

async function series(match: readonly string[]): Promise<Array<Record<string, string>>> {
  const res = await promPost(prom.url, '/api/v1/series', { 'match[]': match, start: String(prom.dataEnd - 3600), end: String(prom.dataEnd) });
  assert.equal(res.body.status, 'success', `series ${JSON.stringify(match)}: ${res.body.error}`);
  return res.body.data as Array<Record<string, string>>;
}

describe('match[] enforcement on Prometheus 2.42', () => {
  const sets: Array<[string, TenantSet, string[]]> = [
    ['team-fruit', tenantList(['team-fruit']), ['team-fruit']],
    ['team-fruit + team-veggie', tenantList(['team-fruit', 'team-veggie']), ['team-fruit', 'team-veggie']],
  ];
  for (const [name, tenants, ids] of sets) {
    test(`selectors enforced for ${name} return only its series`, async () => {
      const opts = topts({ label: 'tenant', tenants, syntax: 'prometheus2' });
      for (const sel of SELECTORS) {
        const enforced = enforceSeriesSelector(sel, opts);
        const [orig, enf] = await Promise.all([series([sel]), series([enforced])]);
        const expected = orig.filter((s) => s['tenant'] !== undefined && ids.includes(s['tenant']));
        assert.ok(enf.every((s) => ids.includes(s['tenant'] ?? '(none)')), `${sel} → ${enforced} leaked`);
        assert.equal(enf.length, expected.length, `${sel} → ${enforced}: ${enf.length} series, expected ${expected.length}`);
      }
      const all = await series([enforceSeriesSelector('{__name__=~".+"}', opts)]);
      assert.equal(all.length, countSeries({ tenants: ids }));
    });

    test(`labels and label values with the default selector for ${name}`, async () => {
      const [sel] = policySelectors(tenantPolicy('tenant', tenants));
      assert.ok(sel !== undefined);
      // label values is GET-only in the Prometheus API.
      const r = await fetch(`${prom.url}/api/v1/label/tenant/values?${new URLSearchParams({ 'match[]': sel }).toString()}`);
      const body = (await r.json()) as { status: string; data: string[] };
      assert.equal(body.status, 'success');
      assert.deepEqual(body.data, ids);
      const labels = await promPost(prom.url, '/api/v1/labels', { 'match[]': [sel] });
      const names = labels.body.data as string[];
      assert.equal(names.includes('replica'), ids.includes('team-veggie'));
      assert.equal(names.includes('veggie'), ids.includes('team-veggie'));
    });
  }

  test('unrestricted (*) adds no matcher and no default selector', async () => {
    const opts = topts({ label: 'tenant', tenants: ALL_TENANTS, syntax: 'prometheus2' });
    assert.deepEqual(policySelectors(tenantPolicy('tenant', ALL_TENANTS)), []);
    const all = await series([enforceSeriesSelector('{__name__=~".+"}', opts)]);
    assert.equal(all.length, countSeries({}));
  });
});
