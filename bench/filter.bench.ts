/**
 * Benchmark of the response filters (`npm run bench:filter`): the cost of filtering a large
 * `/api/v1/rules` answer (parse + filter + re-encode, what the relay does) for one tenant, two
 * tenants, a regex label policy and unrestricted; and `policyAdmits` per call.
 *
 * Synthetic answer: BENCH_GROUPS groups (default 500) × 10 rules × 3 alerts, tenants spread
 * over 20 teams. Env: BENCH_ROUNDS (default 20).
 */
import { policyAdmits, tenantList, tenantPolicy, unrestrictedPolicy, type AccessPolicy } from '../src/access/index.ts';
import { filterRules } from '../src/routes/filters.ts';

const GROUPS = Number(process.env['BENCH_GROUPS'] ?? 500);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 20);
const team = (i: number) => `team-${i % 20}`;

const body = JSON.stringify({
  status: 'success',
  data: {
    groups: Array.from({ length: GROUPS }, (_, g) => ({
      name: `group-${g}`, file: `/rules/${g}.yml`, interval: 30, evaluationTime: 0.001, lastEvaluation: '2026-01-01T00:00:00Z',
      rules: Array.from({ length: 10 }, (_, r) => ({
        name: `Alert${g}_${r}`, query: `sum by (tenant) (rate(http_requests_total{tenant="${team(g)}"}[5m])) > ${r}`,
        labels: { tenant: team(g + r), severity: 'page' }, annotations: { summary: 'x'.repeat(40) }, type: 'alerting', health: 'ok', state: 'firing',
        alerts: Array.from({ length: 3 }, (_, a) => ({ labels: { alertname: `Alert${g}_${r}`, tenant: team(g + r + a), instance: `i-${a}` }, state: 'firing', value: '1' })),
      })),
    })),
  },
});

const regexPolicy: AccessPolicy = {
  label: 'tenant', tenants: { kind: 'list', tenants: ['team-1'] },
  selectors: [[{ name: 'tenant', op: '=~', value: 'team-1.*' }, { name: 'severity', op: '!=', value: 'info' }]], key: 'regex',
};
const policies: Array<[string, AccessPolicy]> = [
  ['one tenant', tenantPolicy('tenant', tenantList(['team-3']))],
  ['two tenants', tenantPolicy('tenant', tenantList(['team-3', 'team-7']))],
  ['regex label policy', regexPolicy],
  ['unrestricted', unrestrictedPolicy('tenant')],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log(`rules answer: ${GROUPS} groups, ${GROUPS * 10} rules, ${GROUPS * 30} alerts, ${(body.length / 1024 / 1024).toFixed(1)} MiB; ${ROUNDS} rounds`);
for (const [name, policy] of policies) {
  const times: number[] = [];
  let out = '';
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    out = JSON.stringify(filterRules(JSON.parse(body), { policy }));
    times.push(performance.now() - t);
  }
  console.log(`filter rules (${name}): median ${median(times).toFixed(1)} ms per answer, ${(out.length / 1024).toFixed(0)} KiB out`);
}
const labels = { alertname: 'A', tenant: 'team-13', severity: 'page' };
for (const [name, policy] of policies) {
  const n = 1_000_000;
  const t = performance.now();
  let kept = 0;
  for (let i = 0; i < n; i++) if (policyAdmits(policy, labels)) kept++;
  console.log(`policyAdmits (${name}): ${(((performance.now() - t) * 1000) / n).toFixed(3)} µs per call (${kept === n ? 'admitted' : kept === 0 ? 'refused' : 'mixed'})`);
}
