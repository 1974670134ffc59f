/**
 * Alertmanager through promfence, end to end: a real Alertmanager 0.25 (started here) fed
 * alerts for team-fruit, team-veggie and an untenanted platform alert, and silences of
 * each kind; promfence started from YAML with `alertmanager.url`. For alice (team-fruit),
 * bob (team-veggie), tom (both) and ops ("*"): the alerts, groups and silences each sees;
 * silences created, updated and expired; every refused attempt leaves Alertmanager's
 * silences exactly as they were.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/server.ts';
import { startAlertmanager, type RunningAlertmanager } from '../kit/alertmanager.ts';
import { startGateway } from '../kit/gateway.ts';

const FRUIT = 'team-fruit';
const VEGGIE = 'team-veggie';
const TOKENS: Record<string, string> = { alice: 'fruit-token', bob: 'veggie-token', tom: 'tomato-token', ops: 'ops-token' };
const TENANTS: Record<string, string[]> = { alice: [FRUIT], bob: [VEGGIE], tom: [FRUIT, VEGGIE], ops: ['*'] };
/** The alert names each user must see. */
const ALERTS: Record<string, string[]> = {
  alice: ['FruitLow', 'FruitRotten'],
  bob: ['VeggieWilted'],
  tom: ['FruitLow', 'FruitRotten', 'VeggieWilted'],
  ops: ['FruitLow', 'FruitRotten', 'NodeDown', 'VeggieWilted'],
};

let am: RunningAlertmanager;
let gw: RunningServer;
/** Silence IDs by name, created directly in Alertmanager. */
const ids: Record<string, string> = {};

const hour = 3600_000;
const window = () => ({ startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + hour).toISOString() });
const matcher = (name: string, value: string, isRegex = false, isEqual = true) => ({ name, value, isRegex, isEqual });
const silence = (matchers: unknown[], comment = 'test') => ({ matchers, ...window(), createdBy: 'test', comment });

async function call(user: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; code?: string }> {
  const res = await fetch(gw.url + path, {
    method,
    headers: { authorization: `Bearer ${TOKENS[user]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed = text === '' ? undefined : JSON.parse(text) as unknown;
  return { status: res.status, body: parsed, code: (parsed as { code?: string } | undefined)?.code };
}

/** Alertmanager's silences as seen directly: id → state, matchers, comment, endsAt (what a refusal must not change). */
async function snapshot(): Promise<string> {
  const { body } = await am.api('GET', '/api/v2/silences');
  const list = (body as Array<{ id: string; status: { state: string }; matchers: unknown; comment: string; endsAt: string }>)
    .map((s) => ({ id: s.id, state: s.status.state, matchers: s.matchers, comment: s.comment, endsAt: s.endsAt }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  return JSON.stringify(list);
}

const names = (alerts: unknown) => (alerts as Array<{ labels: { alertname: string } }>).map((a) => a.labels.alertname).sort();

before(async () => {
  am = await startAlertmanager();
  const alert = (alertname: string, tenant?: string) => ({ labels: { alertname, severity: 'warning', ...(tenant ? { tenant } : {}) }, annotations: { summary: alertname }, ...window() });
  const posted = await am.api('POST', '/api/v2/alerts', [alert('FruitRotten', FRUIT), alert('FruitLow', FRUIT), alert('VeggieWilted', VEGGIE), alert('NodeDown')]);
  assert.equal(posted.status, 200);
  const seed: Record<string, unknown[]> = {
    fruit: [matcher('tenant', FRUIT), matcher('alertname', 'FruitLow')],
    veggie: [matcher('tenant', VEGGIE)],
    both: [matcher('tenant', `${FRUIT}|${VEGGIE}`, true)],
    none: [matcher('alertname', 'NodeDown')],
    negative: [matcher('tenant', VEGGIE, false, false)],
  };
  for (const [name, ms] of Object.entries(seed)) {
    const r = await am.api('POST', '/api/v2/silences', silence(ms, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    ids[name] = (r.body as { silenceID: string }).silenceID;
  }
  const users = Object.fromEntries(Object.keys(TOKENS).map((u) => [u, { token: TOKENS[u]!, tenants: TENANTS[u]! }]));
  gw = await startGateway('http://127.0.0.1:9', users, `alertmanager:\n  url: ${JSON.stringify(am.url)}\n  status: unrestricted\n`);
  // Alert groups appear once Alertmanager's dispatcher has taken the alerts in.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const g = await am.api('GET', '/api/v2/alerts/groups');
    if ((g.body as unknown[]).length >= 4) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});
after(async () => {
  await gw?.close();
  await am?.stop();
});

describe('alerts and groups per user', () => {
  for (const user of Object.keys(ALERTS)) {
    for (const prefix of ['', '/alertmanager']) {
      it(`${user}: ${prefix}/api/v2/alerts and alerts/groups hold exactly its tenants' alerts`, async () => {
        const alerts = await call(user, 'GET', `${prefix}/api/v2/alerts`);
        assert.equal(alerts.status, 200);
        assert.deepEqual(names(alerts.body), ALERTS[user]);
        const groups = await call(user, 'GET', `${prefix}/api/v2/alerts/groups`);
        assert.equal(groups.status, 200);
        const list = groups.body as Array<{ labels: Record<string, string>; alerts: unknown[] }>;
        assert.deepEqual(list.flatMap((g) => names(g.alerts)).sort(), ALERTS[user]);
        assert.ok(list.every((g) => g.alerts.length > 0), 'no empty group');
      });
    }
  }
  it('a user filter narrows (AND) and cannot widen', async () => {
    const narrowed = await call('tom', 'GET', `/api/v2/alerts?filter=${encodeURIComponent('alertname="VeggieWilted"')}`);
    assert.deepEqual(names(narrowed.body), ['VeggieWilted']);
    const widened = await call('alice', 'GET', `/api/v2/alerts?filter=${encodeURIComponent('tenant=~".*"')}`);
    assert.deepEqual(names(widened.body), ALERTS['alice']);
    const foreign = await call('alice', 'GET', `/api/v2/alerts?filter=${encodeURIComponent(`tenant="${VEGGIE}"`)}`);
    assert.deepEqual(names(foreign.body), []);
  });
  it('tom narrowed to team-veggie with ?tenant=', async () => {
    const r = await call('tom', 'GET', `/api/v2/alerts?tenant=${VEGGIE}`);
    assert.deepEqual(names(r.body), ['VeggieWilted']);
  });
});

describe('silences seen', () => {
  const expected: Record<string, string[]> = {
    alice: ['fruit'], bob: ['veggie'], tom: ['both', 'fruit', 'veggie'], ops: ['both', 'fruit', 'negative', 'none', 'veggie'],
  };
  for (const [user, want] of Object.entries(expected)) {
    it(`${user}: GET /api/v2/silences lists ${want.join(', ')}`, async () => {
      const r = await call(user, 'GET', '/api/v2/silences');
      assert.equal(r.status, 200);
      const seen = (r.body as Array<{ id: string }>).map((s) => Object.entries(ids).find(([, id]) => id === s.id)?.[0]).filter((x) => x !== undefined).sort();
      assert.deepEqual(seen, want);
    });
  }
  it('GET /api/v2/silence/{id}: own 200, foreign and missing alike 403', async () => {
    assert.equal((await call('alice', 'GET', `/api/v2/silence/${ids['fruit']}`)).status, 200);
    const r = await call('alice', 'GET', `/alertmanager/api/v2/silence/${ids['veggie']}`);
    assert.equal(r.status, 403);
    assert.equal(r.code, 'forbidden_tenant');
    const missing = await call('alice', 'GET', '/api/v2/silence/00000000-0000-4000-8000-000000000000');
    assert.equal(missing.status, 403);
    assert.equal(missing.code, 'forbidden_tenant');
  });
});

describe('silences created, updated and expired', () => {
  it('alice creates one without a tenant matcher (tenant="team-fruit" added), updates it, expires it', async () => {
    const created = await call('alice', 'POST', '/api/v2/silences', silence([matcher('alertname', 'FruitRotten')], 'alice v1'));
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const id = (created.body as { silenceID: string }).silenceID;
    const direct = await am.api('GET', `/api/v2/silence/${id}`);
    assert.deepEqual((direct.body as { matchers: Array<{ name: string; value: string }> }).matchers.map((m) => `${m.name}=${m.value}`).sort(), ['alertname=FruitRotten', `tenant=${FRUIT}`]);

    const updated = await call('alice', 'POST', '/alertmanager/api/v2/silences', { id, ...silence([matcher('alertname', 'FruitRotten')], 'alice v2') });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    const newId = (updated.body as { silenceID: string }).silenceID;
    assert.equal(((await am.api('GET', `/api/v2/silence/${newId}`)).body as { comment: string }).comment, 'alice v2');

    const expired = await call('alice', 'DELETE', `/api/v2/silence/${newId}`);
    assert.equal(expired.status, 200);
    assert.equal(((await am.api('GET', `/api/v2/silence/${newId}`)).body as { status: { state: string } }).status.state, 'expired');
  });
  it('tom creates one naming both tenants; ops one without any tenant', async () => {
    const t = await call('tom', 'POST', '/api/v2/silences', silence([matcher('tenant', `${FRUIT}|${VEGGIE}`, true), matcher('severity', 'warning')], 'tom'));
    assert.equal(t.status, 200, JSON.stringify(t.body));
    const o = await call('ops', 'POST', '/api/v2/silences', silence([matcher('alertname', 'NodeDown')], 'ops'));
    assert.equal(o.status, 200, JSON.stringify(o.body));
    for (const r of [t, o]) await am.api('DELETE', `/api/v2/silence/${(r.body as { silenceID: string }).silenceID}`);
  });
});

describe('refused attempts change nothing in Alertmanager', () => {
  const attempts: Array<[string, string, string, string, () => unknown, string]> = [
    ['alice: a foreign tenant', 'alice', 'POST', '/api/v2/silences', () => silence([matcher('tenant', VEGGIE)]), 'forbidden_tenant'],
    ['tom: no tenant matcher', 'tom', 'POST', '/api/v2/silences', () => silence([matcher('alertname', 'FruitLow')]), 'forbidden_tenant'],
    ['alice: a regex reaching a foreign tenant', 'alice', 'POST', '/api/v2/silences', () => silence([matcher('tenant', `${FRUIT}|${VEGGIE}`, true)]), 'forbidden_tenant'],
    ['alice: an open regex', 'alice', 'POST', '/api/v2/silences', () => silence([matcher('tenant', 'team-.*', true)]), 'forbidden_tenant'],
    ['alice: a negative tenant matcher', 'alice', 'POST', '/api/v2/silences', () => silence([matcher('tenant', VEGGIE, false, false)]), 'forbidden_tenant'],
    ["alice: updating team-veggie's silence", 'alice', 'POST', '/api/v2/silences', () => ({ id: ids['veggie'], ...silence([matcher('tenant', FRUIT)]) }), 'forbidden_tenant'],
    ["alice: updating the untenanted silence", 'alice', 'POST', '/api/v2/silences', () => ({ id: ids['none'], ...silence([matcher('tenant', FRUIT)]) }), 'forbidden_tenant'],
    ["alice: deleting team-veggie's silence", 'alice', 'DELETE', '', () => undefined, 'forbidden_tenant'],
    ["bob: deleting the silence of both tenants", 'bob', 'DELETE', 'both', () => undefined, 'forbidden_tenant'],
    ['alice: deleting a silence that does not exist', 'alice', 'DELETE', '00000000-0000-0000-0000-000000000000', () => undefined, 'forbidden_tenant'],
    ['alice: a body that is not a silence', 'alice', 'POST', '/api/v2/silences', () => ({ matchers: 'tenant=team-fruit' }), 'invalid_parameter'],
  ];
  for (const [name, user, method, target, body, code] of attempts) {
    it(`${name} → ${code}`, async () => {
      const before = await snapshot();
      let path = target;
      if (method === 'DELETE') path = `/api/v2/silence/${target === '' ? ids['veggie'] : ids[target] ?? target}`;
      const r = await call(user, method, path, body());
      assert.equal(r.code, code, JSON.stringify(r.body));
      assert.equal(await snapshot(), before);
    });
  }
});

describe('status and receivers (alertmanager.status: unrestricted, receivers: default deny)', () => {
  it('status: ops 200, alice 403 forbidden_endpoint', async () => {
    assert.equal((await call('ops', 'GET', '/api/v2/status')).status, 200);
    const r = await call('alice', 'GET', '/alertmanager/api/v2/status');
    assert.equal(r.status, 403);
    assert.equal(r.code, 'forbidden_endpoint');
  });
  it('receivers: refused for everyone, ops included', async () => {
    for (const user of ['alice', 'ops']) assert.equal((await call(user, 'GET', '/api/v2/receivers')).code, 'forbidden_endpoint');
  });
  it('posting alerts is not served (405)', async () => {
    assert.equal((await call('ops', 'POST', '/api/v2/alerts', [])).status, 405);
  });
});
