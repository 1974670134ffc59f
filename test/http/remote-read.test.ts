/**
 * Remote read through the HTTP layer against a recording upstream: what reached the upstream
 * (the enforced, re-encoded ReadRequest; hints and response types kept) and — for every
 * hostile request — that nothing did.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import type { Config } from '../../src/config/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { decodeReadRequest, snappyDecode, snappyEncode } from '../../src/routes/prompb.ts';
import { readRequestBody, type Q } from '../kit/remote-read.ts';
import { fakeAuth, fakeEnforcer, startUpstream, testConfig, type RecordingUpstream } from './kit.ts';

const ALICE = 'Bearer alice-token';
const TOM = 'Bearer tom-token';
const OPS = 'Bearer ops-token';
const UP: Q = { matchers: [['__name__', '=', 'up']], start: 1000, end: 2000 };
const PROTOBUF_ANSWER = Buffer.from([0x00]); // snappy of an empty ReadResponse

let up: RecordingUpstream;
before(async () => {
  up = await startUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' });
    res.end(PROTOBUF_ANSWER);
  });
});
after(() => up.close());
beforeEach(() => {
  up.requests.length = 0;
});

function app(patch?: (c: Config) => void) {
  return createApp(testConfig(up.url, (c) => {
    c.limits.max_body_bytes = 65536;
    c.remote_read = { max_queries: 4, max_decompressed_bytes: 4096 };
    patch?.(c);
  }), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() }).handler;
}

function read(body: Buffer, auth = ALICE, headers: Record<string, string> = {}) {
  return request(app()).post('/api/v1/read').set('Authorization', auth)
    .set('Content-Type', 'application/x-protobuf').set('Content-Encoding', 'snappy').set(headers)
    .send(body).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
}

/** The ReadRequest the upstream received, decoded. */
function forwarded() {
  assert.equal(up.requests.length, 1);
  const rec = up.requests[0]!;
  assert.equal(rec.path, '/api/v1/read');
  assert.equal(rec.headers['content-type'], 'application/x-protobuf');
  assert.equal(rec.headers['content-encoding'], 'snappy');
  assert.equal(rec.headers.authorization, undefined);
  return decodeReadRequest(snappyDecode(rec.bytes, 1 << 20));
}

const matchersOf = (q: { matchers: Array<{ type: number; name: string; value: string }> }) => q.matchers.map((m) => [m.name, m.type, m.value]);

describe('remote read: what reaches the upstream', () => {
  it('alice: every query gets tenant="team-fruit"; hints, times and response types pass through; the answer is relayed as is', async () => {
    const hints = { step_ms: 15000, func: 'rate', start_ms: 1000, end_ms: 2000, grouping: ['job'], by: true, range_ms: 300000 };
    const res = await read(readRequestBody([{ ...UP, hints }, { matchers: [['job', '=~', 'shop|farm']], start: 5, end: 6 }], [1, 0]));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, PROTOBUF_ANSWER);
    assert.equal(res.headers['content-type'], 'application/x-protobuf');
    assert.equal(res.headers['content-encoding'], 'snappy');
    const rr = forwarded();
    assert.deepEqual(rr.accepted_response_types, [1, 0]);
    assert.deepEqual(rr.queries.map(matchersOf), [
      [['__name__', 0, 'up'], ['tenant', 0, 'team-fruit']],
      [['job', 2, 'shop|farm'], ['tenant', 0, 'team-fruit']],
    ]);
    const q0 = rr.queries[0]!;
    assert.equal(String(q0.start_timestamp_ms), '1000');
    assert.equal(String(q0.end_timestamp_ms), '2000');
    assert.equal(q0.hints?.func, 'rate');
    assert.equal(String(q0.hints?.step_ms), '15000');
    assert.equal(String(q0.hints?.range_ms), '300000');
    assert.deepEqual(q0.hints?.grouping, ['job']);
    assert.equal(q0.hints?.by, true);
  });

  it('tom: tenant=~"team-fruit|team-veggie"; his own tenant matcher is kept (it narrows)', async () => {
    await read(readRequestBody([{ matchers: [['__name__', '=', 'up'], ['tenant', '=', 'team-veggie']], start: 1, end: 2 }]), TOM);
    assert.deepEqual(forwarded().queries.map(matchersOf), [[['__name__', 0, 'up'], ['tenant', 0, 'team-veggie'], ['tenant', 2, 'team-fruit|team-veggie']]]);
  });

  it('ops ("*"): nothing added', async () => {
    await read(readRequestBody([UP]), OPS);
    assert.deepEqual(forwarded().queries.map(matchersOf), [[['__name__', 0, 'up']]]);
  });

  it('the streamed answer type is relayed too; a non-protobuf 2xx is refused', async () => {
    const frames = Buffer.from([0x02, 0, 0, 0, 0, 0x10, 0x00]);
    up.responder = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse' });
      res.end(frames);
    };
    try {
      const ok = await read(readRequestBody([UP], [1]));
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, frames);
      up.responder = (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html>');
      };
      const bad = await read(readRequestBody([UP], [1]));
      assert.equal(bad.status, 502);
      assert.equal(JSON.parse(bad.body.toString()).code, 'upstream_unavailable');
    } finally {
      up.responder = (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' });
        res.end(PROTOBUF_ANSWER);
      };
    }
  });
});

describe('remote read: hostile requests are refused and nothing is forwarded', () => {
  const many = Array.from({ length: 5 }, () => UP);
  // A snappy block that declares 1 MiB uncompressed (a run of zeros compresses ~20:1).
  const bomb = snappyEncode(Buffer.alloc(1 << 20));
  const cases: Array<[string, () => ReturnType<typeof read>, number, string]> = [
    ['a foreign tenant (tenant="team-veggie")', () => read(readRequestBody([{ matchers: [['__name__', '=', 'up'], ['tenant', '=', 'team-veggie']], start: 1, end: 2 }])), 403, 'forbidden_tenant'],
    ['a regex naming a foreign tenant (tenant=~"team-fruit|team-veggie")', () => read(readRequestBody([{ matchers: [['tenant', '=~', 'team-fruit|team-veggie']], start: 1, end: 2 }])), 403, 'forbidden_tenant'],
    ['a foreign tenant in the second query', () => read(readRequestBody([UP, { matchers: [['tenant', '=', 'team-veggie']], start: 1, end: 2 }])), 403, 'forbidden_tenant'],
    ['a query with no matchers', () => read(readRequestBody([{ matchers: [], start: 1, end: 2 }])), 400, 'invalid_parameter'],
    ['matchers that all match the empty string', () => read(readRequestBody([{ matchers: [['job', '=~', '.*'], ['x', '!=', 'y']], start: 1, end: 2 }])), 400, 'empty_selector'],
    ['no queries', () => read(readRequestBody([])), 400, 'invalid_parameter'],
    ['more queries than remote_read.max_queries', () => read(readRequestBody(many)), 400, 'invalid_parameter'],
    ['an unknown response type', () => read(readRequestBody([UP], [7])), 400, 'invalid_parameter'],
    ['an unknown matcher type', () => read(snappyEncode(Buffer.from([0x0a, 0x06, 0x1a, 0x04, 0x08, 0x09, 0x12, 0x00]))), 400, 'invalid_parameter'],
    ['malformed protobuf', () => read(snappyEncode(Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]))), 400, 'invalid_parameter'],
    ['bad snappy', () => read(Buffer.from('this is not snappy at all')), 400, 'invalid_parameter'],
    ['truncated snappy', () => read(readRequestBody([UP]).subarray(0, 6)), 400, 'invalid_parameter'],
    ['a snappy bomb (declared size over remote_read.max_decompressed_bytes)', () => read(bomb), 413, 'body_too_large'],
    ['a body over limits.max_body_bytes', () => read(Buffer.alloc(70000, 1)), 413, 'body_too_large'],
    ['a form body', () => read(readRequestBody([UP]), ALICE, { 'Content-Type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type'],
    ['gzip instead of snappy', () => read(readRequestBody([UP]), ALICE, { 'Content-Encoding': 'gzip' }), 415, 'unsupported_media_type'],
  ];
  for (const [name, send, status, code] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const res = await send();
      assert.equal(res.status, status, res.body.toString());
      assert.equal(JSON.parse(res.body.toString()).code, code);
      assert.equal(up.requests.length, 0);
    });
  }

  it('GET is 405; an unauthenticated POST is 401', async () => {
    const get = await request(app()).get('/api/v1/read').set('Authorization', ALICE);
    assert.equal(get.status, 405);
    const anon = await request(app()).post('/api/v1/read').set('Content-Type', 'application/x-protobuf').send(readRequestBody([UP]));
    assert.equal(anon.status, 401);
    assert.equal(up.requests.length, 0);
  });

  it('reject_foreign_tenant: false → the foreign tenant is answered empty (AND-ed), not refused', async () => {
    const res = await request(app((c) => {
      c.enforce.reject_foreign_tenant = false;
    })).post('/api/v1/read').set('Authorization', ALICE).set('Content-Type', 'application/x-protobuf')
      .send(readRequestBody([{ matchers: [['tenant', '=', 'team-veggie']], start: 1, end: 2 }]));
    assert.equal(res.status, 200);
    assert.deepEqual(forwarded().queries.map(matchersOf), [[['tenant', 0, 'team-veggie'], ['tenant', 0, 'team-fruit']]]);
  });
});
