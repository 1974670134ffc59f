/**
 * The gateway with its production collaborators: real authentication (src/auth), real
 * access resolution (src/access), and the real PromQL engine.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { fakeEnforcer, pairs, startUpstream, testConfig, type RecordingUpstream } from './kit.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
let up: RecordingUpstream;

function config() {
  return testConfig(up.url, (c) => {
    c.auth.providers = [{
      kind: 'bearer_tokens',
      tokens: [
        { subject: 'alice', token_sha256: sha('alice-real-token'), groups: [] },
        { subject: 'tom', token_sha256: sha('tom-real-token'), groups: [] },
      ],
    }];
  });
}

before(async () => {
  up = await startUpstream();
});
after(async () => {
  await up.close();
});

describe('real authentication and tenancy', () => {
  it('bearer token → subject → tenants; client Authorization not forwarded', async () => {
    up.requests.length = 0;
    const app = createApp(config(), { logger: silentLogger(), enforcer: fakeEnforcer() }).handler;
    await request(app).get('/api/v1/query?query=up').set('Authorization', 'Bearer tom-real-token').expect(200);
    const r = up.requests[0]!;
    assert.deepEqual(pairs(r.query), [['query', 'E[team-fruit,team-veggie](up)']]);
    assert.equal(r.headers.authorization, undefined);
  });

  it('wrong token → 401 envelope with WWW-Authenticate; access_token is never a credential (401 with a hint, 400 once authenticated)', async () => {
    up.requests.length = 0;
    const app = createApp(config(), { logger: silentLogger(), enforcer: fakeEnforcer() }).handler;
    let res = await request(app).get('/api/v1/query?query=up').set('Authorization', 'Bearer nope');
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.text).code, 'unauthenticated');
    assert.ok(res.headers['www-authenticate']);
    res = await request(app).get('/api/v1/query?query=up&access_token=alice-real-token');
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.text).code, 'unauthenticated');
    assert.match(JSON.parse(res.text).error, /access_token .*not a credential.*revoke/);
    res = await request(app).get('/api/v1/query?query=up&access_token=alice-real-token').set('Authorization', 'Bearer tom-real-token');
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.text).code, 'credentials_in_url');
    res = await request(app).post('/api/v1/query').set('Authorization', 'Bearer alice-real-token').type('form').send('query=up&access_token=x');
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.text).code, 'credentials_in_url');
    assert.equal(up.requests.length, 0);
  });
});

describe('real PromQL engine', () => {
  it('enforces the query and match[] with the tenant label', async () => {
    up.requests.length = 0;
    const app = createApp(config(), { logger: silentLogger() }).handler;
    await request(app).post('/api/v1/query').set('Authorization', 'Bearer alice-real-token').type('form').send('query=sum(rate(http_requests_total[5m]))').expect(200);
    await request(app).get('/api/v1/series?match[]=up').set('Authorization', 'Bearer tom-real-token').expect(200);
    const q = pairs(up.requests[0]!.body);
    assert.equal(q[0]![0], 'query');
    assert.match(q[0]![1], /tenant="team-fruit"/);
    const m = pairs(up.requests[1]!.query);
    assert.match(m[0]![1], /tenant=~"team-fruit\|team-veggie"/);
  });

  it('every selector, aggregation parameters included; Grafana selectors; added selector', async () => {
    up.requests.length = 0;
    const app = createApp(config(), { logger: silentLogger() }).handler;
    await request(app).post('/api/v1/query').set('Authorization', 'Bearer alice-real-token').type('form').send('query=' + encodeURIComponent('quantile(scalar(secret), mine)')).expect(200);
    const q = pairs(up.requests[0]!.body)[0]![1];
    assert.match(q, /secret\{tenant="team-fruit"\}/);
    assert.match(q, /mine\{tenant="team-fruit"\}/);
    await request(app).post('/api/v1/series').set('Authorization', 'Bearer alice-real-token').type('form').send('match[]=' + encodeURIComponent('{__name__!=""}') + '&start=1&end=2').expect(200);
    assert.match(pairs(up.requests[1]!.body)[0]![1], /__name__!="".*tenant="team-fruit"/);
    await request(app).get('/api/v1/label/__name__/values?start=1&end=2&limit=40000').set('Authorization', 'Bearer tom-real-token').expect(200);
    assert.deepEqual(pairs(up.requests[2]!.query), [['start', '1'], ['end', '2'], ['limit', '40000'], ['match[]', '{tenant=~"team-fruit|team-veggie"}']]);
  });

  it('refusals from the engine map to the error table; nothing forwarded', async () => {
    up.requests.length = 0;
    const app = createApp(config(), { logger: silentLogger() }).handler;
    const cases: Array<[string, number, string]> = [
      ['up{tenant="team-veggie"}', 403, 'forbidden_tenant'],
      ['{job=~".*"}', 400, 'empty_selector'],
      ['info(up)', 400, 'unsupported_function'],
    ];
    for (const [query, status, code] of cases) {
      const res = await request(app).get('/api/v1/query?query=' + encodeURIComponent(query)).set('Authorization', 'Bearer alice-real-token');
      assert.equal(res.status, status, `${query}: ${res.text}`);
      assert.equal(JSON.parse(res.text).code, code, query);
    }
    assert.equal(up.requests.length, 0);
  });

  it('a parse error is 400 parse_error and nothing is forwarded', async () => {
    up.requests.length = 0;
    const app = createApp(config(), { logger: silentLogger() }).handler;
    const res = await request(app).get('/api/v1/query?query=sum(').set('Authorization', 'Bearer alice-real-token');
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.text).code, 'parse_error');
    assert.equal(up.requests.length, 0);
  });
});

describe('a broken engine fails closed', () => {
  it('an engine that throws a non-PromQL error → 500 internal_error, nothing forwarded', async () => {
    up.requests.length = 0;
    const app = createApp(config(), { logger: silentLogger(), enforcer: fakeEnforcer() }).handler;
    const res = await request(app).get('/api/v1/query?query=CRASH').set('Authorization', 'Bearer alice-real-token');
    assert.equal(res.status, 500);
    assert.equal(JSON.parse(res.text).code, 'internal_error');
    assert.equal(up.requests.length, 0);
  });
});
