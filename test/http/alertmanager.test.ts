/**
 * The Alertmanager routes against a recording upstream: what Alertmanager received (added
 * filters, rebuilt silences, the precheck) and what it did not (refused changes), and answers
 * filtered even when Alertmanager returns other tenants' objects.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { fakeAuth, fakeEnforcer, startUpstream, testConfig, type RecordingUpstream } from './kit.ts';

const ALICE = 'Bearer alice-token';
const TOM = 'Bearer tom-token';
const FOREIGN_ID = '11111111-1111-1111-1111-111111111111';
const OWN_ID = '22222222-2222-2222-2222-222222222222';
const ALERTS = [
  { labels: { alertname: 'A', tenant: 'team-fruit' } },
  { labels: { alertname: 'B', tenant: 'team-veggie' } },
  { labels: { alertname: 'C', tenant: 'team-other' } },
  { labels: { alertname: 'D' } },
];
const SILENCES: Record<string, unknown> = {
  [FOREIGN_ID]: { id: FOREIGN_ID, matchers: [{ name: 'tenant', value: 'team-other', isRegex: false, isEqual: true }] },
  [OWN_ID]: { id: OWN_ID, matchers: [{ name: 'tenant', value: 'team-fruit', isRegex: false, isEqual: true }] },
};

let am: RecordingUpstream;
before(async () => {
  am = await startUpstream((_req, res, rec) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (rec.path === '/am/api/v2/alerts') return json(200, ALERTS);
    if (rec.path === '/am/api/v2/alerts/groups') return json(200, [{ labels: {}, receiver: { name: 'r' }, alerts: ALERTS }, { labels: {}, receiver: { name: 'r' }, alerts: [ALERTS[2]] }]);
    if (rec.path === '/am/api/v2/silences' && rec.method === 'GET') return json(200, Object.values(SILENCES));
    if (rec.path === '/am/api/v2/silences') return json(200, { silenceID: 'new' });
    const m = /^\/am\/api\/v2\/silence\/(.+)$/.exec(rec.path);
    if (m && rec.method === 'GET') return SILENCES[m[1]!] ? json(200, SILENCES[m[1]!]) : json(404, {});
    if (m && rec.method === 'DELETE') {
      res.writeHead(200);
      return res.end();
    }
    return json(404, {});
  });
});
after(() => am.close());
beforeEach(() => {
  am.requests.length = 0;
});

const app = (withAm = true) => createApp(testConfig('http://127.0.0.1:9', (c) => {
  if (withAm) c.upstreams.alertmanager = { url: am.url + '/am', timeout_ms: 5000, bearer_token: 'am-token' };
}), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() }).handler;

const names = (body: unknown) => (body as Array<{ labels: { alertname: string } }>).map((a) => a.labels.alertname);

describe('Alertmanager routes', () => {
  it('without alertmanager.url the API is not served (404)', async () => {
    const r = await request(app(false)).get('/api/v2/alerts').set('Authorization', ALICE);
    assert.equal(r.status, 404);
    assert.equal(r.body.code, 'unknown_route');
  });

  it('alice: tenant="team-fruit" added to filter, her own filter kept, unknown parameters dropped; foreign alerts filtered anyway', async () => {
    const r = await request(app()).get('/alertmanager/api/v2/alerts?filter=severity%3D%22page%22&active=true&foo=bar&tenant=team-fruit').set('Authorization', ALICE).set('X-Scope-OrgID', 'team-veggie');
    assert.equal(r.status, 200);
    assert.deepEqual(names(r.body), ['A']);
    const rec = am.requests[0]!;
    assert.equal(rec.path, '/am/api/v2/alerts');
    assert.deepEqual([...new URLSearchParams(rec.query)], [['filter', 'severity="page"'], ['active', 'true'], ['filter', 'tenant="team-fruit"']]);
    assert.equal(rec.headers.authorization, 'Bearer am-token');
    assert.equal(rec.headers['x-scope-orgid'], undefined);
  });

  it('tom: the answer is filtered to both tenants; groups rebuilt, the empty one removed', async () => {
    const r = await request(app()).get('/api/v2/alerts').set('Authorization', TOM);
    assert.deepEqual(names(r.body), ['A', 'B']);
    const g = await request(app()).get('/api/v2/alerts/groups').set('Authorization', TOM);
    assert.deepEqual((g.body as Array<{ alerts: unknown }>).map((x) => names(x.alerts)), [['A', 'B']]);
  });

  it('silences: only those pinned to granted tenants', async () => {
    const r = await request(app()).get('/api/v2/silences').set('Authorization', ALICE);
    assert.deepEqual((r.body as Array<{ id: string }>).map((s) => s.id), [OWN_ID]);
  });

  it('a new silence is rebuilt (unknown fields dropped) with tenant="team-fruit" added', async () => {
    const r = await request(app()).post('/api/v2/silences').set('Authorization', ALICE)
      .send({ matchers: [{ name: 'alertname', value: 'A', isRegex: false }], startsAt: 's', endsAt: 'e', createdBy: 'alice', comment: 'c', status: { state: 'active' } });
    assert.equal(r.status, 200);
    assert.equal(am.requests.length, 1);
    assert.equal(am.requests[0]!.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(am.requests[0]!.body), {
      matchers: [{ name: 'alertname', value: 'A', isRegex: false, isEqual: true }, { name: 'tenant', value: 'team-fruit', isRegex: false, isEqual: true }],
      startsAt: 's', endsAt: 'e', createdBy: 'alice', comment: 'c',
    });
  });

  it('updating or expiring a foreign silence: only the lookup reaches Alertmanager', async () => {
    const post = await request(app()).post('/api/v2/silences').set('Authorization', ALICE)
      .send({ id: FOREIGN_ID, matchers: [{ name: 'tenant', value: 'team-fruit', isRegex: false }], startsAt: 's', endsAt: 'e', createdBy: 'a', comment: 'c' });
    assert.equal(post.status, 403);
    assert.equal(post.body.code, 'forbidden_tenant');
    const del = await request(app()).delete(`/api/v2/silence/${FOREIGN_ID}`).set('Authorization', ALICE);
    assert.equal(del.status, 403);
    assert.deepEqual(am.requests.map((x) => `${x.method} ${x.path}`), [`GET /am/api/v2/silence/${FOREIGN_ID}`, `GET /am/api/v2/silence/${FOREIGN_ID}`]);
  });

  // Red-team finding: GET answered 403 for another tenant's silence and 404 for a missing one.
  it('reading one silence: another tenant\'s and a missing one get the same 403; an own one is relayed', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const foreign = await request(app()).get(`/api/v2/silence/${FOREIGN_ID}`).set('Authorization', ALICE);
    const none = await request(app()).get(`/api/v2/silence/${missing}`).set('Authorization', ALICE);
    assert.equal(foreign.status, 403);
    assert.equal(none.status, 403);
    assert.equal(foreign.body.code, 'forbidden_tenant');
    assert.equal(none.body.code, 'forbidden_tenant');
    assert.equal(foreign.body.error.replace(FOREIGN_ID, 'ID'), none.body.error.replace(missing, 'ID'));
    assert.equal(foreign.text.includes('team-veggie'), false);
    const own = await request(app()).get(`/api/v2/silence/${OWN_ID}`).set('Authorization', ALICE);
    assert.equal(own.status, 200, own.text);
    assert.equal(own.body.id, OWN_ID);
  });

  it('expiring an own silence: lookup, then DELETE; an invalid ID never reaches Alertmanager', async () => {
    const del = await request(app()).delete(`/api/v2/silence/${OWN_ID}`).set('Authorization', ALICE);
    assert.equal(del.status, 200);
    assert.deepEqual(am.requests.map((x) => `${x.method} ${x.path}`), [`GET /am/api/v2/silence/${OWN_ID}`, `DELETE /am/api/v2/silence/${OWN_ID}`]);
    am.requests.length = 0;
    const bad = await request(app()).delete('/api/v2/silence/..%2Fstatus').set('Authorization', ALICE);
    assert.ok(bad.status === 400 || bad.status === 404);
    assert.equal(am.requests.length, 0);
  });

  it('a silence body that is not JSON is 400, a form body 415; nothing sent', async () => {
    const r = await request(app()).post('/api/v2/silences').set('Authorization', ALICE).set('Content-Type', 'application/json').send('{');
    assert.equal(r.body.code, 'invalid_parameter');
    const f = await request(app()).post('/api/v2/silences').set('Authorization', ALICE).type('form').send('matchers=x');
    assert.equal(f.status, 415);
    assert.equal(am.requests.length, 0);
  });

  it('status and receivers: denied by default, for every caller, before anything is sent', async () => {
    for (const path of ['/api/v2/status', '/alertmanager/api/v2/receivers']) {
      const r = await request(app()).get(path).set('Authorization', 'Bearer ops-token');
      assert.equal(r.status, 403);
      assert.equal(r.body.code, 'forbidden_endpoint');
    }
    assert.equal(am.requests.length, 0);
  });
});
