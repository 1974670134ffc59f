/**
 * Red-team regressions against a real Prometheus 2.42: smuggling and pipelining attempts by
 * alice (team-fruit only) never yield another tenant's data, and every refusal is one JSON
 * envelope.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/server.ts';
import { startGateway } from '../kit/gateway.ts';
import { parseRawResponses, rawRequest } from '../http/kit.ts';
import { requirePrometheus, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';

let prom: RunningPrometheus;
let gw: RunningServer;

before(async () => {
  requirePrometheus();
  prom = await startPrometheus();
  gw = await startGateway(prom.url, { alice: { token: 'fruit-token', tenants: ['team-fruit'] } });
});
after(async () => {
  await gw?.close();
  await prom?.stop();
});

const AUTH = 'Authorization: Bearer fruit-token\r\n';

interface Answer {
  status: number;
  body: { status: string; data?: unknown; code?: string; errorType?: string };
}

/** The JSON answers of one raw connection, in order. */
function answers(raw: string): Answer[] {
  return parseRawResponses(raw).map((r) => ({ status: r.status, body: JSON.parse(r.body) as Answer['body'] }));
}

function tenants(a: Answer): string[] {
  const result = (a.body.data as { result: Array<{ metric: Record<string, string> }> }).result;
  return [...new Set(result.map((r) => r.metric.tenant ?? ''))].sort();
}

const everything = encodeURIComponent('count by (tenant) ({__name__=~".+"})');

describe('alice on a real Prometheus', () => {
  it('pipelined queries on one connection each see only team-fruit', async () => {
    const q = (last: boolean) => `GET /api/v1/query?query=${everything}&time=${prom.dataEnd} HTTP/1.1\r\nHost: gw\r\n${AUTH}${last ? 'Connection: close\r\n' : ''}\r\n`;
    const all = answers(await rawRequest(gw.url, q(false) + q(false) + q(true)));
    assert.equal(all.length, 3);
    for (const a of all) {
      assert.equal(a.status, 200);
      assert.deepEqual(tenants(a), ['team-fruit']);
    }
  });

  it('a request hidden in a POST body after an unauthenticated one gets its own 401, the POST only its tenant', async () => {
    const body = `query=${everything}&time=${prom.dataEnd}`;
    const inner = `GET /api/v1/query?query=${everything} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`;
    const raw = `POST /api/v1/query HTTP/1.1\r\nHost: gw\r\n${AUTH}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}${inner}`;
    const all = answers(await rawRequest(gw.url, raw));
    assert.deepEqual(all.map((a) => a.status), [200, 401]);
    assert.deepEqual(tenants(all[0]!), ['team-fruit']);
    assert.equal(all[1]!.body.code, 'unauthenticated');
  });

  it('Query (other case) in the URL next to query in the body: Prometheus reads the enforced one only', async () => {
    const body = `query=${everything}&time=${prom.dataEnd}`;
    const raw = `POST /api/v1/query?Query=${encodeURIComponent('count by (tenant) (up)')} HTTP/1.1\r\nHost: gw\r\n${AUTH}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const [a] = answers(await rawRequest(gw.url, raw));
    assert.equal(a!.status, 200);
    assert.deepEqual(tenants(a!), ['team-fruit']);
  });

  it('Expect: anything-but-100-continue → one 400 envelope', async () => {
    const [a] = answers(await rawRequest(gw.url, `GET /api/v1/query?query=up HTTP/1.1\r\nHost: gw\r\n${AUTH}Expect: 200-ok\r\nConnection: close\r\n\r\n`));
    assert.equal(a!.status, 400);
    assert.equal(a!.body.code, 'bad_request');
  });

  it('label values of the tenant label itself list only team-fruit', async () => {
    const [a] = answers(await rawRequest(gw.url, `GET /api/v1/label/tenant/values HTTP/1.1\r\nHost: gw\r\n${AUTH}Connection: close\r\n\r\n`));
    assert.equal(a!.status, 200);
    assert.deepEqual(a!.body.data, ['team-fruit']);
  });
});
