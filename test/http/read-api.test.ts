/**
 * The read API of issue #8 against a recording upstream: what the upstream received (and did
 * not), and what each caller got back. Rules, alerts and metadata filtered (also behind an
 * upstream path prefix and gzip), the endpoint policy table, Thanos parameters, storeMatch[],
 * stats, params.unknown, header tenancy, per-team paths and path_prefix, the explain endpoint.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import type { Config } from '../../src/config/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { FORBIDDEN_ENDPOINTS } from '../../src/routes/read-api.ts';
import { CANNED, fakeAuth, fakeEnforcer, pairs, startUpstream, testConfig, type RecordingUpstream, type Recorded } from './kit.ts';

const ALICE = 'Bearer alice-token';
const TOM = 'Bearer tom-token';
const OPS = 'Bearer ops-token';

/** A rules answer with rules of both teams, an untenanted rule, firing alerts, and fields the filter must keep. */
export const RULES = {
  status: 'success',
  data: {
    groups: [
      {
        name: 'fruit', file: '/rules/fruit.yml', interval: 15, limit: 0, evaluationTime: 0.001, lastEvaluation: '2026-01-01T00:00:00Z',
        rules: [
          { name: 'FruitDown', query: 'up{tenant="team-fruit"} == 0', labels: { tenant: 'team-fruit', severity: 'page' }, type: 'alerting', health: 'ok', state: 'firing',
            alerts: [
              { labels: { alertname: 'FruitDown', tenant: 'team-fruit', instance: 'a' }, state: 'firing', value: '0' },
              { labels: { alertname: 'FruitDown', tenant: 'team-veggie', instance: 'x' }, state: 'firing', value: '0' },
            ] },
          { name: 'fruit:rate5m', query: 'sum by (tenant) (rate(fruit_total[5m]))', labels: { tenant: 'team-fruit' }, type: 'recording', health: 'ok' },
        ],
      },
      {
        name: 'veggie', file: '/rules/veggie.yml', interval: 15,
        rules: [{ name: 'VeggieDown', query: 'up == 0', labels: { tenant: 'team-veggie' }, type: 'alerting', alerts: [{ labels: { tenant: 'team-veggie' }, state: 'firing' }] }],
      },
      {
        name: 'platform', file: '/rules/platform.yml', interval: 15,
        rules: [{ name: 'job:up:sum', query: 'sum by (job) (up)', type: 'recording' }, { name: 'Wildcard', query: 'x', labels: { tenant: 'team-.*' }, type: 'recording' }],
      },
    ],
    groupNextToken: 'next-page',
    futureField: { kept: true },
  },
  infos: ['kept as it came'],
};

const ALERTS = {
  status: 'success',
  data: { alerts: [{ labels: { alertname: 'A', tenant: 'team-fruit' }, state: 'firing' }, { labels: { alertname: 'B', tenant: 'team-veggie' } }, { labels: { alertname: 'C' } }] },
  warnings: ['w'],
};

const METADATA: Record<string, Array<Record<string, string>>> = {
  fruit_total: [{ type: 'counter', help: 'fruit', unit: '' }],
  fruit_weight: [{ type: 'gauge', help: 'kg', unit: '' }],
  fruit_ripeness_seconds: [{ type: 'histogram', help: 'a family whose series are _bucket, _sum, _count', unit: '' }],
  veggie_total: [{ type: 'counter', help: 'veggie', unit: '' }],
  veggie_size: [{ type: 'histogram', help: 'veggie sizes', unit: '' }],
  secret_platform: [{ type: 'gauge', help: 'secret', unit: '' }],
};
const NAMES: Record<string, string[]> = {
  '{tenant="team-fruit"}': ['fruit_ripeness_seconds_bucket', 'fruit_ripeness_seconds_count', 'fruit_ripeness_seconds_sum', 'fruit_total', 'fruit_weight'],
  '{tenant="team-veggie"}': ['veggie_size_bucket', 'veggie_total'],
  '{tenant=~"team-fruit|team-veggie"}': ['fruit_ripeness_seconds_bucket', 'fruit_total', 'fruit_weight', 'veggie_size_count', 'veggie_total'],
};

let up: RecordingUpstream;
let gzip = false;

function send(res: http.ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  if (gzip) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    res.end(gzipSync(text));
  } else {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(text);
  }
}

function responder(_req: http.IncomingMessage, res: http.ServerResponse, rec: Recorded): void {
  const path = rec.path.replace(/^\/prometheus/, '');
  if (path === '/api/v1/rules') return send(res, RULES);
  if (path === '/api/v1/alerts') return send(res, ALERTS);
  if (path === '/api/v1/metadata') return send(res, { status: 'success', data: METADATA });
  if (path === '/api/v1/label/__name__/values') {
    const match = pairs(rec.query).filter(([k]) => k === 'match[]').map(([, v]) => v);
    return send(res, { status: 'success', data: match.length === 0 ? Object.keys(METADATA) : NAMES[match[0] ?? ''] ?? [] });
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(CANNED);
}

function app(patch?: (c: Config) => void, upstreamUrl = up.url) {
  return createApp(testConfig(upstreamUrl, patch), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() }).handler;
}

function envelope(res: request.Response, status: number, code: string): Record<string, unknown> {
  assert.equal(res.status, status, res.text);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  assert.equal(body.status, 'error');
  assert.equal(body.code, code, res.text);
  return body;
}

type Rules = typeof RULES;
const ruleNames = (body: Rules) => body.data.groups.flatMap((g) => g.rules.map((r) => r.name));
const alertTenants = (body: Rules) => body.data.groups.flatMap((g) => g.rules.flatMap((r) => ('alerts' in r ? (r.alerts as Array<{ labels: Record<string, string> }>) : []).map((a) => a.labels['tenant'])));

before(async () => {
  up = await startUpstream(responder);
});
after(async () => {
  await up.close();
});
beforeEach(() => {
  up.requests.length = 0;
  gzip = false;
});

describe('rules and alerts, filtered by labels', () => {
  for (const [variant, prefix, gz] of [['plain', '', false], ['upstream path prefix', '/prometheus', false], ['prefix and gzip', '/prometheus', true]] as const) {
    it(`alice sees only team-fruit rules and alerts (${variant})`, async () => {
      gzip = gz;
      const res = await request(app(undefined, up.url + prefix)).get('/api/v1/rules').set('Authorization', ALICE).set('Accept-Encoding', 'gzip');
      assert.equal(res.status, 200, res.text);
      assert.equal(up.requests[0]!.path, `${prefix}/api/v1/rules`);
      assert.equal(res.headers['content-encoding'], undefined);
      const body = res.body as Rules;
      assert.deepEqual(ruleNames(body), ['FruitDown', 'fruit:rate5m']);
      assert.deepEqual(alertTenants(body), ['team-fruit']);
      assert.deepEqual(body.data.groups.map((g) => g.name), ['fruit'], 'groups left empty are removed');
      assert.equal(body.data.groupNextToken, 'next-page');
      assert.deepEqual(body.data.futureField, { kept: true });
      assert.deepEqual(body.infos, ['kept as it came']);
      const g = body.data.groups[0]!;
      assert.deepEqual([g.file, g.interval, g.limit, g.evaluationTime, g.lastEvaluation], ['/rules/fruit.yml', 15, 0, 0.001, '2026-01-01T00:00:00Z']);
      assert.equal(res.text.includes('team-veggie'), false);
      assert.equal(res.text.includes('job:up:sum'), false);
    });
  }

  it('the tomato sees both teams; untenanted and regex-labelled rules stay hidden', async () => {
    const body = (await request(app()).get('/api/v1/rules').set('Authorization', TOM).expect(200)).body as Rules;
    assert.deepEqual(ruleNames(body), ['FruitDown', 'fruit:rate5m', 'VeggieDown']);
    assert.deepEqual(alertTenants(body), ['team-fruit', 'team-veggie', 'team-veggie']);
  });

  it('narrowed to one team, the tomato sees that team only', async () => {
    const body = (await request(app()).get('/api/v1/rules?tenant=team-veggie').set('Authorization', TOM).expect(200)).body as Rules;
    assert.deepEqual(ruleNames(body), ['VeggieDown']);
  });

  it('unrestricted callers get the answer as it came', async () => {
    const res = await request(app()).get('/api/v1/rules').set('Authorization', OPS).expect(200);
    assert.deepEqual(res.body, RULES);
  });

  it('rules parameters are forwarded; match[] is enforced (and added when none is given)', async () => {
    await request(app()).get('/api/v1/rules?type=alert&rule_name[]=FruitDown&rule_group[]=fruit&file[]=%2Frules%2Ffruit.yml&exclude_alerts=true&group_limit=10&group_next_token=abc&match[]=up')
      .set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[0]!.query), [
      ['type', 'alert'], ['rule_name[]', 'FruitDown'], ['rule_group[]', 'fruit'], ['file[]', '/rules/fruit.yml'], ['exclude_alerts', 'true'],
      ['group_limit', '10'], ['group_next_token', 'abc'], ['match[]', 'S[team-fruit](up)'],
    ]);
    await request(app()).get('/api/v1/rules').set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[1]!.query), [['match[]', '{tenant="team-fruit"}']]);
  });

  it('/api/v1/alerts: only the caller\'s alerts, warnings kept', async () => {
    const res = await request(app()).get('/api/v1/alerts').set('Authorization', ALICE).expect(200);
    assert.deepEqual(res.body, { status: 'success', data: { alerts: [ALERTS.data.alerts[0]] }, warnings: ['w'] });
    const ops = await request(app()).get('/api/v1/alerts').set('Authorization', OPS).expect(200);
    assert.deepEqual(ops.body, ALERTS);
  });

  it('a malformed answer is refused, never passed through', async () => {
    const bad = await startUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { groups: { not: 'a list' }, secret: 'team-veggie' } }));
    });
    try {
      const res = await request(app(undefined, bad.url)).get('/api/v1/rules').set('Authorization', ALICE);
      envelope(res, 502, 'upstream_unavailable');
      assert.equal(res.text.includes('team-veggie'), false);
    } finally {
      await bad.close();
    }
  });
});

describe('metadata: only the caller\'s metric names', () => {
  it('alice gets team-fruit metrics; the lookup is the enforced label/__name__/values', async () => {
    const res = await request(app()).get('/api/v1/metadata').set('Authorization', ALICE).expect(200);
    assert.deepEqual(Object.keys(res.body.data as object), ['fruit_total', 'fruit_weight', 'fruit_ripeness_seconds']);
    const lookup = up.requests.find((r) => r.path === '/api/v1/label/__name__/values')!;
    assert.deepEqual(pairs(lookup.query), [['match[]', '{tenant="team-fruit"}']]);
  });

  it('limit is applied after filtering and never forwarded; metric and limit_per_metric are', async () => {
    const res = await request(app()).get('/api/v1/metadata?limit=1&limit_per_metric=1&metric=fruit_total').set('Authorization', TOM).expect(200);
    assert.deepEqual(Object.keys(res.body.data as object), ['fruit_total']);
    const md = up.requests.find((r) => r.path === '/api/v1/metadata')!;
    assert.deepEqual(pairs(md.query), [['limit_per_metric', '1'], ['metric', 'fruit_total']]);
    const none = await request(app()).get('/api/v1/metadata?limit=0').set('Authorization', TOM).expect(200);
    assert.deepEqual(none.body.data, {});
    const neg = await request(app()).get('/api/v1/metadata?limit=-1').set('Authorization', TOM).expect(200);
    assert.deepEqual(Object.keys(neg.body.data as object), ['fruit_total', 'fruit_weight', 'fruit_ripeness_seconds', 'veggie_total', 'veggie_size']);
  });

  it('a limit that is not a number is 400, like Prometheus', async () => {
    const res = await request(app()).get('/api/v1/metadata?limit=ten').set('Authorization', ALICE);
    assert.match(String(envelope(res, 400, 'invalid_parameter').error), /limit must be a number/);
    assert.equal(up.requests.length, 0);
  });

  it('the metric names are cached per policy', async () => {
    const a = app();
    await request(a).get('/api/v1/metadata').set('Authorization', ALICE).expect(200);
    await request(a).get('/api/v1/metadata').set('Authorization', ALICE).expect(200);
    await request(a).get('/api/v1/metadata').set('Authorization', TOM).expect(200);
    const lookups = up.requests.filter((r) => r.path === '/api/v1/label/__name__/values').map((r) => pairs(r.query)[0]?.[1]);
    assert.deepEqual(lookups, ['{tenant="team-fruit"}', '{tenant=~"team-fruit|team-veggie"}']);
  });

  it('unrestricted callers get everything without a lookup', async () => {
    const res = await request(app()).get('/api/v1/metadata').set('Authorization', OPS).expect(200);
    assert.deepEqual(res.body.data, METADATA);
    assert.deepEqual(up.requests.map((r) => r.path), ['/api/v1/metadata']);
  });

  it('a failed lookup fails the request (never unfiltered metadata)', async () => {
    const bad = await startUpstream((_req, res, rec) => {
      if (rec.path === '/api/v1/label/__name__/values') {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('boom');
        return;
      }
      send(res, { status: 'success', data: METADATA });
    });
    try {
      const res = await request(app(undefined, bad.url)).get('/api/v1/metadata').set('Authorization', ALICE);
      envelope(res, 502, 'upstream_unavailable');
      assert.equal(res.text.includes('secret'), false);
      assert.equal(bad.requests.some((r) => r.path === '/api/v1/metadata'), false);
    } finally {
      await bad.close();
    }
  });
});

describe('endpoint policy table', () => {
  const paths = FORBIDDEN_ENDPOINTS.map((e) => (e.path.endsWith('/') && e.path !== '/' ? `${e.path}x` : e.path));
  for (const path of [...paths, '/api/v1/admin/tsdb/delete_series', '/api/v1/status/flags', '/api/v1/targets/metadata', '/-/reload']) {
    it(`${path} → 403 forbidden_endpoint (GET and POST), also per team`, async () => {
      const a = app();
      for (const target of [path, `/tenants/team-fruit${path}`]) {
        envelope(await request(a).get(target).set('Authorization', ALICE), 403, 'forbidden_endpoint');
        envelope(await request(a).post(target).set('Authorization', OPS), 403, 'forbidden_endpoint');
      }
      assert.equal(up.requests.length, 0);
    });
  }
  it('still 401 first without credentials; path tricks stay 404', async () => {
    envelope(await request(app()).get('/api/v1/status/tsdb'), 401, 'unauthenticated');
    envelope(await request(app()).get('//api/v1/status/tsdb').set('Authorization', ALICE), 404, 'unknown_route');
  });
  it('status/flags is forwarded when enforce.allow_status_flags is on; buildinfo always', async () => {
    const a = app((c) => {
      c.enforce.allow_status_flags = true;
    });
    await request(a).get('/api/v1/status/flags').set('Authorization', ALICE).expect(200);
    await request(a).get('/api/v1/status/buildinfo').set('Authorization', ALICE).expect(200);
    assert.deepEqual(up.requests.map((r) => r.path), ['/api/v1/status/flags', '/api/v1/status/buildinfo']);
    const res = await request(app()).get('/api/v1/status/flags').set('Authorization', ALICE);
    assert.match(String(envelope(res, 403, 'forbidden_endpoint').error), /enforce\.allow_status_flags: true/);
  });
});

describe('parameters', () => {
  it('Thanos parameters are forwarded; stats and analyze (timings) are stripped by default', async () => {
    await request(app()).post('/api/v1/query?dedup=true&partial_response=false')
      .type('form').send('query=up&stats=all&max_source_resolution=5m&replicaLabels[]=replica&engine=thanos&analyze=true')
      .set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[0]!.body), [
      ['query', 'E[team-fruit](up)'], ['max_source_resolution', '5m'], ['replicaLabels[]', 'replica'], ['engine', 'thanos'],
      ['dedup', 'true'], ['partial_response', 'false'],
    ]);
  });
  it('enforce.allow_stats forwards stats and analyze', async () => {
    await request(app((c) => {
      c.enforce.allow_stats = true;
    })).get('/api/v1/query_range?query=up&stats=all&analyze=true').set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[0]!.query), [['query', 'E[team-fruit](up)'], ['stats', 'all'], ['analyze', 'true']]);
  });
  it('storeMatch[] is enforced, never forwarded as sent; dropped where no PromQL is read', async () => {
    await request(app()).get('/api/v1/query?query=up&storeMatch[]=%7Btenant%3D%22team-veggie%22%7D').set('Authorization', ALICE).expect(200);
    await request(app()).get('/api/v1/series?match[]=up&storeMatch[]=%7Bzone%3D%22eu%22%7D').set('Authorization', ALICE).expect(200);
    await request(app()).get('/api/v1/status/buildinfo?storeMatch[]=%7Bzone%3D%22eu%22%7D').set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[0]!.query), [['query', 'E[team-fruit](up)'], ['storeMatch[]', 'S[team-fruit]({tenant="team-veggie"})']]);
    assert.deepEqual(pairs(up.requests[1]!.query), [['match[]', 'S[team-fruit](up)'], ['storeMatch[]', 'S[team-fruit]({zone="eu"})']]);
    assert.deepEqual(pairs(up.requests[2]!.query), []);
    const bad = await request(app()).get('/api/v1/query?query=up&storeMatch[]=!!').set('Authorization', ALICE);
    assert.match(String(envelope(bad, 400, 'parse_error').error), /^invalid parameter "storeMatch\[\]"/);
    assert.equal(up.requests.length, 3);
  });
  it('params.unknown: drop keeps only what the route knows', async () => {
    await request(app((c) => {
      c.params = { unknown: 'drop' };
    })).get('/api/v1/query?query=up&time=4&dedup=true&x-custom=1&foo=bar').set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[0]!.query), [['query', 'E[team-fruit](up)'], ['time', '4'], ['dedup', 'true']]);
  });
  it('query_explain, query_range_explain and parse_query are enforced like queries', async () => {
    for (const path of ['/api/v1/query_explain', '/api/v1/query_range_explain', '/api/v1/parse_query']) {
      await request(app()).post(path).type('form').send('query=up').set('Authorization', ALICE).expect(200);
    }
    assert.deepEqual(up.requests.map((r) => [r.path, pairs(r.body)]), ['/api/v1/query_explain', '/api/v1/query_range_explain', '/api/v1/parse_query'].map((p) => [p, [['query', 'E[team-fruit](up)']]]));
  });
});

describe('header tenancy', () => {
  const mode = (m: 'header' | 'label+header', header = 'X-Scope-OrgID', allTenants?: string[]) => (c: Config) => {
    c.enforce.mode = m;
    c.enforce.header = header;
    c.enforce.all_tenants = allTenants;
  };
  it('X-Scope-OrgID: exact a|b value, the client header replaced', async () => {
    await request(app(mode('header'))).get('/api/v1/query?query=up').set('Authorization', TOM).set('X-Scope-OrgID', 'team-other').expect(200);
    const r = up.requests[0]!;
    assert.deepEqual(r.rawHeaders.filter((_, i) => i % 2 === 0 && r.rawHeaders[i]!.toLowerCase() === 'x-scope-orgid').length, 1);
    assert.equal(r.headers['x-scope-orgid'], 'team-fruit|team-veggie');
  });
  it('THANOS-TENANT takes one tenant: several → 403 in header mode, unless narrowed', async () => {
    const res = await request(app(mode('header', 'THANOS-TENANT'))).get('/api/v1/query?query=up').set('Authorization', TOM).set('THANOS-TENANT', 'team-fruit');
    assert.match(String(envelope(res, 403, 'forbidden_tenant').error), /THANOS-TENANT header takes one tenant/);
    assert.equal(up.requests.length, 0);
    await request(app(mode('header', 'THANOS-TENANT'))).get('/api/v1/query?query=up&tenant=team-veggie').set('Authorization', TOM).expect(200);
    assert.equal(up.requests[0]!.headers['thanos-tenant'], 'team-veggie');
  });
  it('THANOS-TENANT in label+header mode: omitted when several remain, the label scopes', async () => {
    await request(app(mode('label+header', 'THANOS-TENANT'))).get('/api/v1/query?query=up').set('Authorization', TOM).set('THANOS-TENANT', 'team-fruit').expect(200);
    assert.equal(up.requests[0]!.headers['thanos-tenant'], undefined);
    assert.deepEqual(pairs(up.requests[0]!.query), [['query', 'E[team-fruit,team-veggie](up)']]);
    await request(app(mode('label+header', 'THANOS-TENANT'))).get('/api/v1/query?query=up').set('Authorization', ALICE).expect(200);
    assert.equal(up.requests[1]!.headers['thanos-tenant'], 'team-fruit');
  });
  it('"*" needs enforce.all_tenants in header modes', async () => {
    envelope(await request(app(mode('header'))).get('/api/v1/query?query=up').set('Authorization', OPS), 403, 'forbidden_tenant');
    await request(app(mode('header', 'X-Scope-OrgID', ['team-veggie', 'team-fruit']))).get('/api/v1/query?query=up').set('Authorization', OPS).expect(200);
    assert.equal(up.requests[0]!.headers['x-scope-orgid'], 'team-fruit|team-veggie');
    assert.deepEqual(pairs(up.requests[0]!.query), [['query', 'E[*](up)']]);
  });
  it('header mode with X-Scope-OrgID: rules, alerts, metadata and exemplars left to the upstream (Cortex/Mimir scope them per tenant)', async () => {
    const res = await request(app(mode('header'))).get('/api/v1/rules').set('Authorization', ALICE).expect(200);
    assert.deepEqual(res.body, RULES);
    assert.equal(up.requests[0]!.headers['x-scope-orgid'], 'team-fruit');
    assert.deepEqual(pairs(up.requests[0]!.query), []);
    await request(app(mode('header'))).get('/api/v1/query_exemplars?query=up').set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[1]!.query), [['query', 'E[*](up)']]);
  });
  // Red-team finding: Thanos Query scopes none of these by THANOS-TENANT (thanos-io/thanos#8140).
  it('header mode with THANOS-TENANT: rules, alerts and metadata filtered, exemplars label-enforced, as in label mode', async () => {
    const a = app(mode('header', 'THANOS-TENANT'));
    const rules = (await request(a).get('/api/v1/rules').set('Authorization', ALICE).expect(200)).body as Rules;
    assert.deepEqual(ruleNames(rules), ['FruitDown', 'fruit:rate5m']);
    assert.deepEqual(alertTenants(rules), ['team-fruit']);
    assert.deepEqual(pairs(up.requests[0]!.query), [['match[]', '{tenant="team-fruit"}']]);
    assert.equal(up.requests[0]!.headers['thanos-tenant'], 'team-fruit');
    const alerts = await request(a).get('/api/v1/alerts').set('Authorization', ALICE).expect(200);
    assert.deepEqual(alerts.body.data, { alerts: [ALERTS.data.alerts[0]] });
    const metadata = await request(a).get('/api/v1/metadata').set('Authorization', ALICE).expect(200);
    assert.deepEqual(Object.keys(metadata.body.data as object), ['fruit_total', 'fruit_weight', 'fruit_ripeness_seconds']);
    up.requests.length = 0;
    await request(a).post('/api/v1/query_exemplars').type('form').send({ query: '{__name__=~".+"}' }).set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[0]!.body), [['query', 'E[team-fruit]({__name__=~".+"})']]);
    // The queries Thanos does scope by the header are still only printed.
    await request(a).get('/api/v1/query?query=up').set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[1]!.query), [['query', 'E[*](up)']]);
  });
});

describe('per-team endpoints and path prefix', () => {
  it('/tenants/<id>/ narrows every route to that tenant', async () => {
    const a = app();
    await request(a).get('/tenants/team-veggie/api/v1/query?query=up').set('Authorization', TOM).expect(200);
    await request(a).get('/tenants/team-fruit/api/v1/labels').set('Authorization', TOM).expect(200);
    await request(a).get('/tenants/team-fruit/api/v1/label/job/values').set('Authorization', OPS).expect(200);
    const rules = await request(a).get('/tenants/team-veggie/api/v1/rules').set('Authorization', TOM).expect(200);
    assert.deepEqual(ruleNames(rules.body as Rules), ['VeggieDown']);
    assert.deepEqual(up.requests.map((r) => [r.path, pairs(r.query)]), [
      ['/api/v1/query', [['query', 'E[team-veggie](up)']]],
      ['/api/v1/labels', [['match[]', '{tenant="team-fruit"}']]],
      ['/api/v1/label/job/values', [['match[]', '{tenant="team-fruit"}']]],
      ['/api/v1/rules', [['match[]', '{tenant="team-veggie"}']]],
    ]);
  });
  it('a team path outside the grant is 403; narrowing cannot leave it', async () => {
    const a = app();
    const res = await request(a).get('/tenants/team-veggie/api/v1/query?query=up').set('Authorization', ALICE);
    assert.equal(envelope(res, 403, 'forbidden_tenant').error, 'tenant "team-veggie" (the request path /tenants/team-veggie/) is not granted to subject "alice"');
    envelope(await request(a).get('/tenants/team-fruit/api/v1/query?query=up&tenant=team-veggie').set('Authorization', TOM), 403, 'forbidden_tenant');
    envelope(await request(a).get('/tenants/%2A/api/v1/query?query=up').set('Authorization', OPS), 400, 'invalid_parameter');
    envelope(await request(a).get('/tenants/team-fruit').set('Authorization', OPS), 404, 'unknown_route');
    envelope(await request(a).get('/tenants//api/v1/query?query=up').set('Authorization', OPS), 404, 'unknown_route');
    assert.equal(up.requests.length, 0);
  });
  it('server.path_prefix: served under the prefix only, per-team paths after it', async () => {
    const a = app((c) => {
      c.server.path_prefix = '/prometheus';
    });
    await request(a).get('/prometheus/api/v1/query?query=up').set('Authorization', ALICE).expect(200);
    await request(a).get('/prometheus/tenants/team-fruit/api/v1/query?query=up').set('Authorization', TOM).expect(200);
    envelope(await request(a).get('/api/v1/query?query=up').set('Authorization', ALICE), 404, 'unknown_route');
    envelope(await request(a).get('/prometheusx/api/v1/query?query=up').set('Authorization', ALICE), 404, 'unknown_route');
    envelope(await request(a).get('/prometheus/api/v1/status/tsdb').set('Authorization', ALICE), 403, 'forbidden_endpoint');
    assert.deepEqual(up.requests.map((r) => [r.path, pairs(r.query)]), [
      ['/api/v1/query', [['query', 'E[team-fruit](up)']]],
      ['/api/v1/query', [['query', 'E[team-fruit](up)']]],
    ]);
  });
});

describe('explain endpoint', () => {
  it('answers what would be sent, for this caller, without sending it', async () => {
    const res = await request(app()).post('/promfence/v1/explain?tenant=team-veggie').type('form').send('query=up').set('Authorization', TOM).expect(200);
    assert.deepEqual(res.body, { status: 'success', data: { subject: 'tom', tenants: ['team-veggie'], query: 'up', enforced: 'E[team-veggie](up)', headers: {} } });
    const ops = await request(app((c) => {
      c.enforce.mode = 'label+header';
    })).get('/tenants/team-fruit/promfence/v1/explain?query=up').set('Authorization', OPS).expect(200);
    assert.deepEqual(ops.body.data, { subject: 'ops', tenants: ['team-fruit'], query: 'up', enforced: 'E[team-fruit](up)', headers: { 'x-scope-orgid': 'team-fruit' } });
    envelope(await request(app()).get('/promfence/v1/explain?query=!!').set('Authorization', ALICE), 400, 'parse_error');
    envelope(await request(app()).get('/promfence/v1/explain?query=up&tenant=team-veggie').set('Authorization', ALICE), 403, 'forbidden_tenant');
    envelope(await request(app()).get('/promfence/v1/explain?query=up'), 401, 'unauthenticated');
    assert.equal(up.requests.length, 0);
  });
});
