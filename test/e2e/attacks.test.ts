/**
 * Attack classes of docs/security.md against promfence in front of a real Prometheus 2.42
 * (alice: team-fruit; bob: basic auth, team-veggie). Each test asserts the response; what the
 * upstream received is asserted through a recording upstream in test/http/abuse.test.ts and
 * test/http/fuzz.test.ts, and answer-for-answer equality in test/realprom/oracle.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/server.ts';
import { startGateway } from '../kit/gateway.ts';
import { parseRawResponses, rawRequest } from '../http/kit.ts';
import { promPost, requirePrometheus, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';

let prom: RunningPrometheus;
let gw: RunningServer;

before(async () => {
  requirePrometheus();
  prom = await startPrometheus({ hours: 2 });
  gw = await startGateway(prom.url, {
    alice: { token: 'fruit-token', tenants: ['team-fruit'] },
    bob: { password: 'veggie-password', tenants: ['team-veggie'] },
  });
});
after(async () => {
  await gw?.close();
  await prom?.stop();
});

const ALICE = { authorization: 'Bearer fruit-token' };

interface Vector { metric: Record<string, string>; value: [number, string] }

async function query(q: string, headers: Record<string, string> = ALICE) {
  return promPost(gw.url, '/api/v1/query', { query: q, time: String(prom.dataEnd) }, headers);
}
const result = (r: Awaited<ReturnType<typeof query>>) => (r.body.data as { result: Vector[] }).result;
const tenantsOf = (r: Awaited<ReturnType<typeof query>>) => [...new Set(result(r).map((s) => s.metric['tenant'] ?? ''))].sort();

describe('attack classes against a real Prometheus', { timeout: 120_000 }, () => {
  it('existence probe by regex on the tenant label: refused like an equality matcher (403), before any index lookup', async () => {
    for (const q of ['count({tenant=~"team-veggie"})', 'count({tenant=~"team-veggie|team-platform"})', 'absent(up{tenant=~"team-veggie"})']) {
      const r = await query(q);
      assert.equal(r.httpStatus, 403, q);
      assert.equal((r.body as { code?: string }).code, 'forbidden_tenant');
    }
  });

  it('existence probe by metric name: answered from the caller\'s own series only (empty), timing is documented', async () => {
    const r = await query('count({__name__="veggie_harvested_total"})');
    assert.equal(r.httpStatus, 200);
    assert.deepEqual(result(r), []);
  });

  it('a 400-term count(x) or … chain runs like on Prometheus itself (was: parse_error)', async () => {
    const q = Array.from({ length: 400 }, (_, i) => `count(up{job="j${i}"})`).join(' or ') + ' or count(up)';
    const direct = await promPost(prom.url, '/api/v1/query', { query: q, time: String(prom.dataEnd) });
    assert.equal(direct.body.status, 'success');
    const r = await query(q);
    assert.equal(r.httpStatus, 200, JSON.stringify(r.body).slice(0, 300));
    const own = await promPost(prom.url, '/api/v1/query', { query: 'count(up{tenant="team-fruit"})', time: String(prom.dataEnd) });
    assert.deepEqual(result(r).map((s) => s.value[1]), result(own).map((s) => s.value[1]));
  });

  it('relabelling onto the tenant label reads only the caller\'s series', async () => {
    const r = await query('label_replace(up, "tenant", "team-veggie", "", "")');
    assert.equal(r.httpStatus, 200);
    const own = await promPost(prom.url, '/api/v1/query', { query: 'up{tenant="team-fruit"}', time: String(prom.dataEnd) });
    assert.equal(result(r).length, result(own).length);
    assert.ok(result(r).length > 0);
  });

  it('every metric name, grouped by tenant: team-fruit only', async () => {
    for (const q of ['count by (tenant) ({__name__=~".+"})', 'group by (tenant) ({tenant=~".+"})', 'count_values("tenant", up)']) {
      const r = await query(q);
      assert.equal(r.httpStatus, 200, q);
      if (q.startsWith('count_values')) assert.ok(result(r).every((s) => s.metric['tenant'] === '1'), q);
      else assert.deepEqual(tenantsOf(r), ['team-fruit'], q);
    }
  });

  it('federate and label values of everything: team-fruit only', async () => {
    const fed = await fetch(`${gw.url}/federate?match[]=${encodeURIComponent('{__name__=~".+"}')}`, { headers: ALICE });
    assert.equal(fed.status, 200);
    const tenants = new Set([...(await fed.text()).matchAll(/tenant="([^"]*)"/g)].map((m) => m[1]));
    assert.deepEqual([...tenants], ['team-fruit']);
    const names = await (await fetch(`${gw.url}/api/v1/label/__name__/values`, { headers: ALICE })).json() as { data: string[] };
    assert.ok(!names.data.some((n) => n.startsWith('veggie_')), names.data.join(','));
    assert.ok(names.data.includes('fruit_basket_items'));
  });

  it('pre-authentication: a huge malformed target is 414 or 401, never work on the credential or the query', async () => {
    const [big] = parseRawResponses(await rawRequest(gw.url, `GET /api/v1/query?${'%&'.repeat(200_000)} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`));
    assert.equal(big?.status, 414);
    const [small] = parseRawResponses(await rawRequest(gw.url, `GET /api/v1/query?${'%&'.repeat(100_000)} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`));
    assert.equal(small?.status, 401);
  });

  it('wrong basic passwords: 401 (or 429 when the password pool is full), the right one still works, bob sees team-veggie only', async () => {
    const basic = (p: string) => ({ authorization: `Basic ${Buffer.from(`bob:${p}`).toString('base64')}` });
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => query('up', basic(`wrong-${i}`)).then((r) => r.httpStatus)));
    assert.ok(statuses.every((s) => s === 401 || s === 429), statuses.join(','));
    const ok = await query('count by (tenant) (up)', basic('veggie-password'));
    assert.equal(ok.httpStatus, 200);
    assert.deepEqual(tenantsOf(ok), ['team-veggie']);
  });

  it('a query that blows the structural limits is refused before parsing (400 query_too_large), repeatably', async () => {
    for (const q of ['topk(1,'.repeat(600) + 'up' + ')'.repeat(600), Array(40).fill('-1').join('^'), 'x ' + '1 '.repeat(20_000)]) {
      const r = await promPost(gw.url, '/api/v1/query', { query: q }, ALICE);
      assert.equal(r.httpStatus, 400);
      assert.ok(['query_too_large', 'parse_error'].includes((r.body as { code?: string }).code ?? ''), JSON.stringify(r.body).slice(0, 200));
    }
  });
});
