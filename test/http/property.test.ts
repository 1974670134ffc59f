/**
 * Property: whatever parameters a client sends (URL and form body, any characters), the
 * upstream receives exactly promfence's re-encoding of its parsed values — body pairs first,
 * then URL pairs (Go's r.Form order), `query` replaced by the enforced text, the narrowing
 * and stripped parameters absent — or nothing at all when the request is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { encodeForm } from '../../src/http/params.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { fakeAuth, fakeEnforcer, pairs, startUpstream, testConfig, type RecordingUpstream } from './kit.ts';

let up: RecordingUpstream;
before(async () => {
  up = await startUpstream();
});
after(async () => {
  await up.close();
});

const KNOWN = new Set(['query', 'time', 'timeout', 'limit', 'lookback_delta', 'stats', 'match[]', 'tenant', 'extra_label', 'extra_label[]', 'extra_filters', 'extra_filters[]']);
const name = fc.oneof(fc.constantFrom('dedup', 'partial_response', 'engine', 'x[]', 'a b', 'ü', '%', '&', '=', ''), fc.string({ unit: 'grapheme', maxLength: 6 })).filter((n) => !KNOWN.has(n) && !n.toLowerCase().startsWith('access_token'));
// Values never hold the fake engine's trigger words (`!!`, BOOM, CRASH, FOREIGN: see
// fakeEnforcer in ./kit.ts), which would turn a forwarding property into a refusal.
const value = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((v) => !/!!|BOOM|CRASH|FOREIGN/.test(v));
const pairList = fc.array(fc.tuple(name, value), { maxLength: 4 });

describe('forwarded parameters are exactly the parsed ones, re-encoded', () => {
  it('POST: URL + body → one rebuilt body (property)', async () => {
    const app = createApp(testConfig(up.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() }).handler;
    await fc.assert(
      fc.asyncProperty(pairList, pairList, value.filter((q) => q !== ''), fc.constantFrom('url', 'body'), async (urlPairs, bodyPairs, query, queryWhere) => {
        up.requests.length = 0;
        const body = queryWhere === 'body' ? [['query', query] as [string, string], ...bodyPairs] : bodyPairs;
        const url = queryWhere === 'url' ? [...urlPairs, ['query', query] as [string, string]] : urlPairs;
        const res = await request(app)
          .post('/api/v1/query?' + encodeForm([...url, ['tenant', 'team-fruit'], ['extra_label', 'tenant=x']]))
          .set('Authorization', 'Bearer tom-token')
          .type('form')
          .send(encodeForm([...body, ['extra_filters[]', '{a="b"}']]));
        assert.equal(res.status, 200, res.text);
        assert.equal(up.requests.length, 1);
        const r = up.requests[0]!;
        assert.equal(r.url, '/api/v1/query');
        const expected = [...body, ...url].map(([k, v]) => (k === 'query' ? ['query', `E[team-fruit](${v})`] : [k, v]));
        assert.deepEqual(pairs(r.body), expected);
      }),
      { numRuns: 60 },
    );
  });

  it('GET: rebuilt query string (property)', async () => {
    const app = createApp(testConfig(up.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() }).handler;
    await fc.assert(
      fc.asyncProperty(pairList, fc.array(value, { minLength: 0, maxLength: 3 }), async (urlPairs, selectors) => {
        up.requests.length = 0;
        const sent: Array<[string, string]> = [...urlPairs, ...selectors.map((s) => ['match[]', s] as [string, string])];
        const res = await request(app).get('/api/v1/labels?' + encodeForm(sent)).set('Authorization', 'Bearer alice-token');
        assert.equal(res.status, 200, res.text);
        const r = up.requests[0]!;
        const expected = sent.map(([k, v]) => (k === 'match[]' ? [k, `S[team-fruit](${v})`] : [k, v]));
        if (selectors.length === 0) expected.push(['match[]', '{tenant="team-fruit"}']);
        assert.deepEqual(pairs(r.query), expected);
        assert.equal(r.body, '');
      }),
      { numRuns: 60 },
    );
  });
});
