/**
 * Remote read end to end. Upstream: a real Prometheus 2.42 over every tenant's data (and
 * the untenanted platform series); promfence in front of it, started from YAML.
 *
 * - SAMPLES, with a real client: a second Prometheus 2.42 with `remote_read` pointed at
 *   promfence with alice's bearer token (and no data of its own) answers PromQL exactly like
 *   the single-tenant oracle, a Prometheus holding only team-fruit's data. (Prometheus 2.42's
 *   remote-read client asks for SAMPLES only.)
 * - STREAMED_XOR_CHUNKS and SAMPLES, with the kit's client: every series and every chunk
 *   (compared as bytes) or sample alice reads through promfence equals what the oracle
 *   answers directly; tom's equals the upstream's answer to the same request with
 *   tenant=~"team-fruit|team-veggie" added; ops's equals the upstream's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/server.ts';
import { normalizeAnswer, type AnswerData } from '../kit/compare.ts';
import { startGateway } from '../kit/gateway.ts';
import { promPost, requirePrometheus, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';
import { decodeChunked, decodeSamples, postRead, readRequestBody, type M, type Q } from '../kit/remote-read.ts';
import { startService, type RunningService } from '../kit/service.ts';

const FRUIT = 'team-fruit';
const VEGGIE = 'team-veggie';
const TOKENS = { alice: 'fruit-token', tom: 'tomato-token', ops: 'ops-token' } as const;

let upstream: RunningPrometheus;
let oracle: RunningPrometheus;
let gw: RunningServer;
let client: RunningService;

before(async () => {
  const end = Math.floor(Date.now() / 1000 / 15) * 15;
  [upstream, oracle] = await Promise.all([startPrometheus({ end, hours: 2 }), startPrometheus({ end, hours: 2, tenants: [FRUIT] })]);
  gw = await startGateway(upstream.url, {
    alice: { token: TOKENS.alice, tenants: [FRUIT] },
    tom: { token: TOKENS.tom, tenants: [FRUIT, VEGGIE] },
    ops: { token: TOKENS.ops, tenants: ['*'] },
  });
  const config = [
    'global:',
    '  scrape_interval: 1m',
    'remote_read:',
    `  - url: ${JSON.stringify(gw.url + '/api/v1/read')}`,
    '    read_recent: true',
    '    authorization:',
    `      credentials: ${JSON.stringify(TOKENS.alice)}`,
    '',
  ].join('\n');
  client = await startService(requirePrometheus().prometheus, { 'prometheus.yml': config }, (port, work) => [
    `--config.file=${work}/prometheus.yml`,
    `--storage.tsdb.path=${work}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
});
after(async () => {
  await client?.stop();
  await gw?.close();
  await Promise.all([upstream?.stop(), oracle?.stop()]);
});

describe('a real Prometheus remote-reading through promfence (alice, SAMPLES)', () => {
  const queries = [
    'up',
    'count by (__name__) ({__name__=~".+"})',
    'sum by (tenant, job) (rate(http_requests_total[5m]))',
    'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
    'node_load1',
    'veggie_harvested_total',
    'count({tenant=~".+"})',
  ];
  for (const query of queries) {
    it(`${query}: the same answer as the team-fruit oracle`, async () => {
      const time = String(upstream.dataEnd);
      const [got, want] = await Promise.all([promPost(client.url, '/api/v1/query', { query, time }), promPost(oracle.url, '/api/v1/query', { query, time })]);
      assert.equal(got.body.status, 'success', JSON.stringify(got.body));
      assert.equal(got.body.warnings, undefined, JSON.stringify(got.body.warnings));
      assert.deepEqual(normalizeAnswer(got.body.data as AnswerData), normalizeAnswer(want.body.data as AnswerData));
    });
  }
  it('the answers are not empty (the comparison compares something)', async () => {
    const got = await promPost(client.url, '/api/v1/query', { query: 'count({__name__=~".+"})', time: String(upstream.dataEnd) });
    assert.ok(Number((got.body.data as { result: Array<{ value: [number, string] }> }).result[0]?.value[1]) > 10);
  });
  it('a range query too', async () => {
    const params = { query: 'sum by (fruit) (rate(fruit_harvested_total[5m]))', start: String(upstream.dataEnd - 1800), end: String(upstream.dataEnd), step: '60' };
    const [got, want] = await Promise.all([promPost(client.url, '/api/v1/query_range', params), promPost(oracle.url, '/api/v1/query_range', params)]);
    assert.equal(got.body.status, 'success');
    assert.ok((got.body.data as { result: unknown[] }).result.length > 0);
    assert.deepEqual(normalizeAnswer(got.body.data as AnswerData), normalizeAnswer(want.body.data as AnswerData));
  });
  it("a query naming team-veggie gets nothing of team-veggie's (promfence refuses the read)", async () => {
    const got = await promPost(client.url, '/api/v1/query', { query: `up{tenant="${VEGGIE}"}`, time: String(upstream.dataEnd) });
    assert.deepEqual((got.body.data as { result?: unknown[] } | undefined)?.result ?? [], []);
  });
});

describe('both response types with the kit client', () => {
  const ms = (start: number, end: number, matchers: readonly M[]): Q => ({ matchers, start: start * 1000, end: end * 1000 });
  const reads = () => [
    ms(upstream.dataStart, upstream.dataEnd, [['__name__', '=~', '.+']]),
    ms(upstream.dataEnd - 1800, upstream.dataEnd, [['__name__', '=', 'up']]),
  ];
  const withTenant = (qs: Q[], m: M) => qs.map((q) => ({ ...q, matchers: [...q.matchers, m] }));
  const decode = (type: number, body: Buffer) => (type === 1 ? decodeChunked(body) : decodeSamples(body));
  for (const [type, name] of [[1, 'STREAMED_XOR_CHUNKS'], [0, 'SAMPLES']] as const) {
    it(`${name}: alice = the team-fruit oracle, series and ${type === 1 ? 'chunk bytes' : 'samples'}`, async () => {
      const body = readRequestBody(reads(), [type]);
      const [got, want] = await Promise.all([
        postRead(gw.url + '/api/v1/read', body, { authorization: `Bearer ${TOKENS.alice}` }),
        postRead(oracle.url + '/api/v1/read', body),
      ]);
      assert.equal(got.status, 200, got.body.toString());
      assert.ok(got.headers.get('content-type')?.startsWith(type === 1 ? 'application/x-streamed-protobuf' : 'application/x-protobuf'));
      const g = decode(type, got.body);
      assert.ok((g[0] ?? []).length > 10);
      assert.deepEqual(g, decode(type, want.body));
    });
    it(`${name}: tom = the upstream with tenant=~"team-fruit|team-veggie"; ops = the upstream`, async () => {
      const tom = await postRead(gw.url + '/api/v1/read', readRequestBody(reads(), [type]), { authorization: `Bearer ${TOKENS.tom}` });
      const tomWant = await postRead(upstream.url + '/api/v1/read', readRequestBody(withTenant(reads(), ['tenant', '=~', `${FRUIT}|${VEGGIE}`]), [type]));
      assert.deepEqual(decode(type, tom.body), decode(type, tomWant.body));
      assert.ok(decode(type, tom.body)[0]!.some((s) => s.labels.includes(VEGGIE)));
      assert.ok(!decode(type, tom.body)[0]!.some((s) => !s.labels.includes('tenant=')), 'no untenanted series for tom');
      const ops = await postRead(gw.url + '/api/v1/read', readRequestBody(reads(), [type]), { authorization: `Bearer ${TOKENS.ops}` });
      const opsWant = await postRead(upstream.url + '/api/v1/read', readRequestBody(reads(), [type]));
      assert.deepEqual(decode(type, ops.body), decode(type, opsWant.body));
    });
  }
  it('a foreign tenant is refused (403 forbidden_tenant) for the kit client too', async () => {
    const r = await postRead(gw.url + '/api/v1/read', readRequestBody([ms(upstream.dataStart, upstream.dataEnd, [['tenant', '=', VEGGIE]])]), { authorization: `Bearer ${TOKENS.alice}` });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body.toString()).code, 'forbidden_tenant');
  });
});
