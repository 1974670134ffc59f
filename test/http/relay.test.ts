/**
 * The relay (src/upstream/relay.ts) in filter mode, with a real upstream and a real client
 * connection: compressed answers are decoded before filtering, and everything it cannot
 * filter is refused with one envelope rather than passed through.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { tenantList, tenantPolicy } from '../../src/access/index.ts';
import { sendError } from '../../src/http/error-handler.ts';
import type { ForwardPlan } from '../../src/routes/types.ts';
import { createUpstreamClient, type UpstreamClient } from '../../src/upstream/client.ts';
import { relay } from '../../src/upstream/relay.ts';
import { startUpstream, type RecordingUpstream } from './kit.ts';

const policy = tenantPolicy('tenant', tenantList(['a']));
/** A filter keeping the array items whose `tenant` is one the policy names. */
const keepTenant = (body: unknown): unknown => {
  const b = body as { status: string; data: Array<{ tenant: string }> };
  return { ...b, data: b.data.filter((x) => x.tenant === 'a') };
};
const PAYLOAD = JSON.stringify({ status: 'success', data: [{ tenant: 'a', v: 1 }, { tenant: 'b', v: 2 }], infos: ['kept'] });

let up: RecordingUpstream;
let client: UpstreamClient;
let front: http.Server;
let frontUrl = '';
let answer: (res: http.ServerResponse) => void = () => {};

before(async () => {
  up = await startUpstream((_req, res) => answer(res));
  client = createUpstreamClient({ name: 'prometheus', url: up.url, timeoutMs: 5000, bearerToken: undefined });
  // A minimal front server: sends one filtered plan upstream, relays the answer.
  front = http.createServer((req, res) => {
    const plan: ForwardPlan = { upstream: 'prometheus', method: 'GET', path: '/api/v1/rules', params: [], headers: {}, response: { kind: 'filter', filter: keepTenant } };
    client.send(plan, { requestId: 'r', clientHeaders: req.headers, acceptEncoding: 'gzip, deflate, br' }).then(
      (upstreamRes) => relay(upstreamRes, res, plan.response, { context: { policy }, maxFilteredBytes: 4096, refuse: (err) => sendError(res, err) }),
      (err: unknown) => sendError(res, err as never),
    );
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
});
after(async () => {
  client.close();
  front.closeAllConnections();
  await new Promise((r) => front.close(r));
  await up.close();
});

async function get(): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(`${frontUrl}/`);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as unknown };
}

describe('relay in filter mode', () => {
  const encodings: Array<[string, (b: Buffer) => Buffer]> = [
    ['identity', (b) => b],
    ['gzip', (b) => gzipSync(b)],
    ['deflate', (b) => deflateSync(b)],
    ['br', (b) => brotliCompressSync(b)],
  ];
  for (const [enc, compress] of encodings) {
    it(`${enc}: decoded, filtered, re-encoded as identity JSON with an exact length; other fields kept`, async () => {
      answer = (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', ...(enc === 'identity' ? {} : { 'Content-Encoding': enc }), 'Set-Cookie': 'x=1' });
        res.end(compress(Buffer.from(PAYLOAD)));
      };
      const r = await get();
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { status: 'success', data: [{ tenant: 'a', v: 1 }], infos: ['kept'] });
      assert.equal(r.headers.get('content-encoding'), null);
      assert.equal(r.headers.get('set-cookie'), null);
      assert.equal(Number(r.headers.get('content-length')), JSON.stringify(r.body).length);
      assert.equal(up.requests.at(-1)?.headers['accept-encoding'], 'gzip, deflate, br');
    });
  }

  const refused: Array<[string, (res: http.ServerResponse) => void, number, string]> = [
    ['an unknown Content-Encoding', (res) => { res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'zstd' }); res.end(PAYLOAD); }, 502, 'upstream_unavailable'],
    ['a corrupt gzip body', (res) => { res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }); res.end('not gzip'); }, 502, 'upstream_unavailable'],
    ['a body over the limit (after decompression)', (res) => { res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }); res.end(gzipSync(Buffer.from(JSON.stringify({ status: 'success', data: [{ tenant: 'a', pad: 'x'.repeat(10_000) }] })))); }, 502, 'upstream_unavailable'],
    ['JSON that is not parseable', (res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"status":'); }, 502, 'upstream_unavailable'],
    ['a filter that rejects the shape', (res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"status":"success","data":{}}'); }, 502, 'upstream_unavailable'],
    ['an HTML page', (res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end('<html>'); }, 502, 'upstream_unavailable'],
    ['a redirect', (res) => { res.writeHead(302, { Location: 'http://elsewhere/' }); res.end(); }, 502, 'upstream_unavailable'],
  ];
  for (const [what, respond, status, code] of refused) {
    it(`${what} → ${status} ${code}, nothing of the upstream's body shown`, async () => {
      answer = respond;
      const r = await get();
      assert.equal(r.status, status);
      assert.equal((r.body as { code: string }).code, code);
    });
  }

  it('an upstream JSON error is relayed unfiltered (it carries no series)', async () => {
    answer = (res) => {
      res.writeHead(422, { 'Content-Type': 'application/json' });
      res.end('{"status":"error","errorType":"execution","error":"boom"}');
    };
    const r = await get();
    assert.equal(r.status, 422);
    assert.deepEqual(r.body, { status: 'error', errorType: 'execution', error: 'boom' });
  });
});
