/**
 * Label policies through the gateway (issue #12), against a recording upstream with the real
 * engine: what the upstream received — and what it did not — for a subject with
 * `access.label_policies`, for Grafana's `X-Prom-Label-Policy` from a trusted subject and from
 * an untrusted one, for emission to Mimir (`enforce.mode: header`,
 * `enforce.label_policy_header: true`), and the refusals.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { parsePolicySelector, type MatcherSet } from '../../src/access/index.ts';
import { createApp } from '../../src/app.ts';
import type { Config } from '../../src/config/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { fakeAuth, pairs, startUpstream, testConfig, type RecordingUpstream } from './kit.ts';

const GRAFANA = 'Bearer grafana-token';
const LISA = 'Bearer lisa-token';
const TOM = 'Bearer tom-token';

const set = (text: string): MatcherSet => {
  const r = parsePolicySelector(text, 'tenant');
  if ('problem' in r) throw new Error(r.problem);
  return r.set;
};

/** `tenant:<escaped selector>` as Grafana (Go's url.PathEscape) writes it. */
const entry = (tenant: string, selector: string): string => `${tenant}:${encodeURIComponent(selector)}`;

let up: RecordingUpstream;
before(async () => {
  up = await startUpstream();
});
after(async () => {
  await up.close();
});
beforeEach(() => {
  up.requests.length = 0;
});

function app(patch: (c: Config) => void = () => {}) {
  const config = testConfig(up.url, (c) => {
    c.access.subjects['grafana'] = ['team-fruit', 'team-veggie'];
    (c.access.label_policies.subjects as Record<string, MatcherSet[]>)["lisa"] = [set('{tenant="team-veggie", job="api"}'), set('{tenant="team-meat", env="prod", secret!="true"}')];
    c.access.subjects['lisa'] = ['team-fruit'];
    c.access.trust_label_policy_header = ['grafana'];
    c.limits.max_match_params = 10;
    patch(c);
  });
  return createApp(config, { logger: silentLogger(), authenticate: fakeAuth }).handler;
}

function sentQuery(): string | undefined {
  assert.equal(up.requests.length, 1, 'one upstream request');
  const r = up.requests[0]!;
  return new URLSearchParams(r.method === 'POST' ? r.body : r.query).get('query') ?? undefined;
}

function assertRefused(res: request.Response, status: number, code: string, message?: RegExp): void {
  assert.equal(res.status, status, res.text);
  const body = JSON.parse(res.text) as { code: string; error: string };
  assert.equal(body.code, code, res.text);
  if (message) assert.match(body.error, message);
  assert.equal(up.requests.length, 0, 'nothing reached the upstream');
}

describe('access.label_policies: a subject reads its tenant plus label selectors', () => {
  it('query: every selector becomes an OR of the sets; the client header is not forwarded', async () => {
    const res = await request(app()).post('/api/v1/query').set('Authorization', LISA).type('form').send({ query: 'sum(rate(http_requests_total[5m]))', time: '4' });
    assert.equal(res.status, 200, res.text);
    assert.equal(sentQuery(),
      'sum(((rate(http_requests_total{tenant="team-fruit"}[5m]) or rate(http_requests_total{tenant="team-veggie", job="api"}[5m])) or rate(http_requests_total{tenant="team-meat", env="prod", secret!="true"}[5m])))');
  });

  it('series: each match[] × each policy selector, in place of the user\'s match[]', async () => {
    const res = await request(app()).get('/api/v1/series?match[]=up&match[]=%7Bjob%3D%22x%22%7D&start=1').set('Authorization', LISA);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(pairs(up.requests[0]!.query), [
      ['match[]', 'up{tenant="team-fruit"}'],
      ['match[]', 'up{tenant="team-veggie", job="api"}'],
      ['match[]', 'up{tenant="team-meat", env="prod", secret!="true"}'],
      // job="x" contradicts job="api": that side is left out.
      ['match[]', '{job="x", tenant="team-fruit"}'],
      ['match[]', '{job="x", tenant="team-meat", env="prod", secret!="true"}'],
      ['start', '1'],
    ]);
  });

  // Red-team finding: storeMatch[] under an OR policy was a 500.
  it('storeMatch[]: one per policy selector, in place of the user\'s', async () => {
    const res = await request(app()).post('/api/v1/query').set('Authorization', LISA).type('form').send('query=up&storeMatch[]=%7Bregion%3D%22eu%22%7D');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(pairs(up.requests[0]!.body).filter(([k]) => k === 'storeMatch[]').map(([, v]) => v), [
      '{region="eu", tenant="team-fruit"}',
      '{region="eu", tenant="team-veggie", job="api"}',
      '{region="eu", tenant="team-meat", env="prod", secret!="true"}',
    ]);
  });

  it('labels without match[]: one match[] per policy selector', async () => {
    const res = await request(app()).get('/api/v1/labels').set('Authorization', LISA);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(pairs(up.requests[0]!.query).map(([, v]) => v), ['{tenant="team-fruit"}', '{tenant="team-veggie", job="api"}', '{tenant="team-meat", env="prod", secret!="true"}']);
  });

  it('narrowing to a tenant of a label selector keeps only that selector', async () => {
    const res = await request(app()).get('/api/v1/query?query=up&tenant=team-veggie').set('Authorization', LISA);
    assert.equal(res.status, 200, res.text);
    assert.equal(sentQuery(), 'up{tenant="team-veggie", job="api"}');
  });

  it('a range selector outside a function call is 400 unsupported_policy naming it', async () => {
    const res = await request(app()).get('/api/v1/query?query=up%5B5m%5D').set('Authorization', LISA);
    assertRefused(res, 400, 'unsupported_policy', /^invalid parameter "query": range vector selector outside a function call \(up\[5m\]\)/);
  });

  it('a query whose enforced form is over promql.max_enforced_bytes is 400 query_too_large', async () => {
    const res = await request(app((c) => (c.promql.max_enforced_bytes = 2048))).post('/api/v1/query').set('Authorization', LISA).type('form')
      .send({ query: Array.from({ length: 30 }, (_, i) => `metric_number_${i}`).join(' + ') });
    assertRefused(res, 400, 'query_too_large', /promql\.max_enforced_bytes.*3 label selectors/);
  });
});

describe('X-Prom-Label-Policy (Grafana team LBAC)', () => {
  const header = [entry('team-fruit', '{job="shop"}'), entry('team-veggie', '{replica="a", code!="500"}')].join(',');

  it('from a trusted subject: the entries replace its grant; the header itself is not forwarded', async () => {
    const res = await request(app()).post('/api/v1/query').set('Authorization', GRAFANA).set('X-Prom-Label-Policy', header).type('form').send({ query: 'up' });
    assert.equal(res.status, 200, res.text);
    assert.equal(sentQuery(), '(up{tenant="team-fruit", job="shop"} or up{tenant="team-veggie", code!="500", replica="a"})');
    assert.equal(up.requests[0]!.headers['x-prom-label-policy'], undefined);
  });

  it('repeated header lines are OR-ed like one comma-separated value', async () => {
    const res = await request(app()).get('/api/v1/query?query=up').set('Authorization', GRAFANA)
      .set('X-Prom-Label-Policy', [entry('team-fruit', '{job="shop"}'), entry('team-veggie', '{replica="a", code!="500"}')] as unknown as string);
    assert.equal(res.status, 200, res.text);
    assert.equal(sentQuery(), '(up{tenant="team-fruit", job="shop"} or up{tenant="team-veggie", code!="500", replica="a"})');
  });

  it('from an untrusted subject: no effect (its own tenants), not forwarded', async () => {
    const withHeader = await request(app()).get('/api/v1/query?query=up').set('Authorization', TOM).set('X-Prom-Label-Policy', header);
    assert.equal(withHeader.status, 200, withHeader.text);
    assert.equal(sentQuery(), 'up{tenant=~"team-fruit|team-veggie"}');
    assert.equal(up.requests[0]!.headers['x-prom-label-policy'], undefined);
  });

  it('an entry for a tenant the trusted subject is not granted is 403 forbidden_tenant', async () => {
    const res = await request(app()).get('/api/v1/query?query=up').set('Authorization', GRAFANA).set('X-Prom-Label-Policy', entry('team-meat', '{job="x"}'));
    assertRefused(res, 403, 'forbidden_tenant', /tenant "team-meat" of the X-Prom-Label-Policy header is not granted to subject "grafana"/);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['no tenant prefix', '%7Bjob%3D%22x%22%7D', /has no "<tenant>:" prefix/],
    ['empty value', '', /has no "<tenant>:" prefix/],
    ['bad escape', 'team-fruit:%7Bjob%3D%2', /not validly URL-escaped/],
    ['a metric name', entry('team-fruit', 'up{job="x"}'), /names a metric/],
    ['the tenant label inside', entry('team-fruit', '{tenant="team-veggie"}'), /matcher on the tenant label/],
    ['an empty-matching selector', entry('team-fruit', '{job=~".*"}'), /matches the empty string/],
    ['an invalid tenant', entry('team|x', '{job="x"}'), /tenant "team\|x" contains/],
    ['too many entries', Array.from({ length: 65 }, () => entry('team-fruit', '{job="x"}')).join(','), /more than 64 entries/],
  ];
  for (const [what, value, message] of bad) {
    it(`from a trusted subject, ${what}: 400 invalid_parameter`, async () => {
      const res = await request(app()).get('/api/v1/query?query=up').set('Authorization', GRAFANA).set('X-Prom-Label-Policy', value);
      assertRefused(res, 400, 'invalid_parameter', message);
    });
  }
});

describe('emission to Mimir: enforce.mode header with enforce.label_policy_header', () => {
  const mimir = (c: Config) => {
    c.enforce.mode = 'header';
    c.enforce.label_policy_header = true;
  };

  it('sends X-Scope-OrgID and X-Prom-Label-Policy (no entry for a whole tenant); the query is only printed canonically', async () => {
    const res = await request(app(mimir)).post('/api/v1/query').set('Authorization', LISA).type('form').send({ query: 'sum(rate(x[5m]))' });
    assert.equal(res.status, 200, res.text);
    assert.equal(sentQuery(), 'sum(rate(x[5m]))');
    const h = up.requests[0]!.headers;
    assert.equal(h['x-scope-orgid'], 'team-fruit|team-meat|team-veggie');
    // Every character but A-Z a-z 0-9 - _ . ~ is escaped; Mimir's url.PathUnescape decodes them.
    assert.equal(h['x-prom-label-policy'], 'team-meat:%7Benv%3D%22prod%22%2C%20secret%21%3D%22true%22%7D,team-veggie:%7Bjob%3D%22api%22%7D');
  });

  it('re-emits a trusted Grafana header in canonical form; a tenant-only subject sends no policy header', async () => {
    const a = app(mimir);
    const res = await request(a).get('/api/v1/query?query=up').set('Authorization', GRAFANA).set('X-Prom-Label-Policy', entry('team-fruit', '{job = "shop" }'));
    assert.equal(res.status, 200, res.text);
    assert.equal(up.requests[0]!.headers['x-scope-orgid'], 'team-fruit');
    assert.equal(up.requests[0]!.headers['x-prom-label-policy'], entry('team-fruit', '{job="shop"}'));
    up.requests.length = 0;
    const tom = await request(a).get('/api/v1/query?query=up').set('Authorization', TOM).set('X-Prom-Label-Policy', entry('team-fruit', '{job="shop"}'));
    assert.equal(tom.status, 200, tom.text);
    assert.equal(up.requests[0]!.headers['x-scope-orgid'], 'team-fruit|team-veggie');
    assert.equal(up.requests[0]!.headers['x-prom-label-policy'], undefined);
  });

  // Red-team finding: GEM applies label policies to neither its ruler nor metadata, so
  // promfence filters those answers with what the tenant header leaves unscoped.
  it('rules and alerts of a label-restricted tenant are filtered by its restrictions (no tenant matcher: Mimir rules carry none)', async () => {
    const rules = { status: 'success', data: { groups: [{ name: 'g', file: 'f', rules: [
      { name: 'Api', type: 'alerting', labels: { job: 'api' }, alerts: [{ labels: { job: 'api', instance: 'a' } }, { labels: { job: 'db', instance: 'b' } }] },
      { name: 'Db', type: 'recording', labels: { job: 'db' } },
      { name: 'Bare', type: 'recording' },
    ] }] } };
    const saved = up.responder;
    up.responder = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(rules));
    };
    try {
      const a = app(mimir);
      const veggie = await request(a).get('/api/v1/rules?tenant=team-veggie').set('Authorization', LISA);
      assert.equal(veggie.status, 200, veggie.text);
      assert.deepEqual(veggie.body.data.groups[0].rules.map((r: { name: string }) => r.name), ['Api']);
      assert.deepEqual(veggie.body.data.groups[0].rules[0].alerts, [{ labels: { job: 'api', instance: 'a' } }]);
      assert.deepEqual(pairs(up.requests[0]!.query), [['match[]', '{job="api"}']]);
      assert.equal(up.requests[0]!.headers['x-scope-orgid'], 'team-veggie');
      // A tenant granted whole: the upstream's per-tenant answer as it came.
      const fruit = await request(a).get('/api/v1/rules?tenant=team-fruit').set('Authorization', LISA);
      assert.deepEqual(fruit.body, rules);
    } finally {
      up.responder = saved;
    }
  });

  it('rules, alerts, metadata and exemplars of several tenants under label restrictions: 400 unsupported_policy, nothing sent', async () => {
    for (const path of ['/api/v1/rules', '/api/v1/alerts', '/api/v1/metadata', '/api/v1/query_exemplars?query=up']) {
      const res = await request(app(mimir)).get(path).set('Authorization', LISA);
      assertRefused(res, 400, 'unsupported_policy', /narrow the request to one tenant/);
    }
  });

  it('exemplars of a label-restricted tenant: the query carries the restrictions, the header the tenant', async () => {
    const res = await request(app(mimir)).get('/api/v1/query_exemplars?query=http_requests_total&tenant=team-veggie').set('Authorization', LISA);
    assert.equal(res.status, 200, res.text);
    assert.equal(sentQuery(), 'http_requests_total{job="api"}');
    assert.equal(up.requests[0]!.headers['x-scope-orgid'], 'team-veggie');
  });

  it('header mode without label_policy_header cannot enforce a label policy: 400 unsupported_policy, nothing sent', async () => {
    const res = await request(app((c) => (c.enforce.mode = 'header'))).get('/api/v1/query?query=up').set('Authorization', LISA);
    assertRefused(res, 400, 'unsupported_policy', /enforce\.label_policy_header/);
  });
});
