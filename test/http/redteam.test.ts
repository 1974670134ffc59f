/**
 * Red-team regressions of the HTTP layer, against the real listening server (startServer)
 * and a recording upstream: hostile or broken upstream answers, requests Node would answer
 * itself with an empty body, and pipelined requests on one connection.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { cannedResponder, CANNED, fakeAuth, fakeEnforcer, parseRawResponses, rawRequest, startUpstream, testConfig, type RawResponse, type RecordingUpstream, type Responder } from './kit.ts';

let up: RecordingUpstream;
let gw: RunningServer;

before(async () => {
  up = await startUpstream();
  gw = await startServer(testConfig(up.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() });
});
after(async () => {
  await gw.close();
  await up.close();
});
beforeEach(() => {
  up.requests.length = 0;
  up.responder = cannedResponder;
});

async function one(raw: string): Promise<RawResponse> {
  const all = parseRawResponses(await rawRequest(gw.url, raw));
  assert.equal(all.length, 1, 'exactly one response');
  return all[0]!;
}

function assertEnvelope(r: RawResponse, status: number, code: string): Record<string, unknown> {
  assert.equal(r.status, status, r.head + '\n' + r.body);
  assert.match(r.headers.get('content-type')?.[0] ?? '', /^application\/json/);
  const body = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(body.status, 'error');
  assert.equal(body.code, code);
  assert.equal(typeof body.errorType, 'string');
  assert.equal(typeof body.error, 'string');
  return body;
}

const ALICE = 'Authorization: Bearer alice-token\r\n';
const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: gw\r\n${ALICE}${extra}Connection: close\r\n\r\n`;

/** The upstream got the enforced request and nothing of the client's credentials. */
function assertForwardedClean(path = '/api/v1/query'): void {
  assert.equal(up.requests.length, 1);
  const rec = up.requests[0]!;
  assert.equal(rec.path, path);
  assert.equal(rec.headers.authorization, undefined);
  assert.ok(!rec.rawHeaders.some((h) => h.includes('alice-token')));
}

describe('hostile or broken upstream answers are refused, never passed through', () => {
  const refused: Array<[string, Responder]> = [
    ['an HTML 500 page with a cookie', (_q, res) => {
      res.writeHead(500, { 'Content-Type': 'text/html', 'Set-Cookie': 'sid=upstream-session' });
      res.end('<html><body>internal upstream page 10.0.0.7</body></html>');
    }],
    ['a text/plain 401 with a challenge (Mimir without X-Scope-OrgID)', (_q, res) => {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Basic realm="mimir"' });
      res.end('no org id\n');
    }],
    ['a redirect to an internal address', (_q, res) => {
      res.writeHead(302, { Location: 'http://10.0.0.7:9090/graph', 'Content-Type': 'application/json' });
      res.end('{}');
    }],
    ['an empty 200 without Content-Type', (_q, res) => {
      res.writeHead(200);
      res.end();
    }],
    ['an empty 200 JSON', (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end();
    }],
    ['a 204', (_q, res) => {
      res.writeHead(204);
      res.end();
    }],
    ['a 200 HTML page', (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>login</html>');
    }],
    ['headers, then the connection dies before any byte', (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 20);
    }],
  ];
  for (const [name, responder] of refused) {
    it(`${name} → one 502 upstream_unavailable envelope`, async () => {
      up.responder = responder;
      const r = await one(get('/api/v1/query?query=up'));
      const body = assertEnvelope(r, 502, 'upstream_unavailable');
      assert.match(String(body.error), /^upstream answered HTTP \d{3} with /);
      for (const h of ['set-cookie', 'www-authenticate', 'location']) assert.equal(r.headers.get(h), undefined, h);
      assert.ok(!r.body.includes('10.0.0.7') && !r.body.includes('no org id') && !r.body.includes('<html'), 'upstream body must not be shown');
      assertForwardedClean();
    });
  }

  it('a JSON success is relayed, minus cookies, challenges, redirects, CORS grants and the upstream request id', async () => {
    up.responder = (_q, res) => {
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Set-Cookie': 'sid=upstream-session',
        'WWW-Authenticate': 'Basic realm="up"',
        Location: 'http://10.0.0.7/',
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Credentials': 'true',
        'X-Request-Id': 'upstream-id',
        'X-Upstream': 'kept',
      });
      res.end(CANNED);
    };
    const r = await one(get('/api/v1/query?query=up', 'X-Request-Id: client-id-1\r\n'));
    assert.equal(r.status, 200);
    assert.equal(r.body, CANNED);
    for (const h of ['set-cookie', 'www-authenticate', 'location', 'access-control-allow-origin', 'access-control-allow-credentials']) assert.equal(r.headers.get(h), undefined, h);
    assert.deepEqual(r.headers.get('x-request-id'), ['client-id-1']);
    assert.deepEqual(r.headers.get('x-upstream'), ['kept']);
    assertForwardedClean();
  });

  it("the upstream's own JSON error is still relayed unchanged (status and body)", async () => {
    const err = '{"status":"error","errorType":"execution","error":"too many samples"}';
    up.responder = (_q, res) => {
      res.writeHead(422, { 'Content-Type': 'application/json; charset=utf-8', 'Set-Cookie': 'x=1' });
      res.end(err);
    };
    const r = await one(get('/api/v1/query?query=up'));
    assert.equal(r.status, 422);
    assert.equal(r.body, err);
    assert.equal(r.headers.get('set-cookie'), undefined);
  });

  it('federate: an empty text 200 (no series) is a legitimate answer; an HTML error page is not', async () => {
    up.responder = (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end();
    };
    let r = await one(get('/federate?match[]=up'));
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    assertForwardedClean('/federate');
    up.requests.length = 0;
    up.responder = (_q, res) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('bad match[]\n');
    };
    r = await one(get('/federate?match[]=up'));
    assertEnvelope(r, 502, 'upstream_unavailable');
    assertForwardedClean('/federate');
  });
});

describe('requests Node answers itself get the JSON envelope', () => {
  it('Expect other than 100-continue → 400 envelope (Node: empty 417), nothing forwarded', async () => {
    const r = await one(get('/api/v1/query?query=up', 'Expect: x-smuggle\r\n'));
    assertEnvelope(r, 400, 'bad_request');
    assert.equal(up.requests.length, 0);
  });

  it('Expect: 100-continue still works', async () => {
    const raw = await rawRequest(gw.url, `POST /api/v1/query HTTP/1.1\r\nHost: gw\r\n${ALICE}Expect: 100-continue\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\nConnection: close\r\n\r\nquery=up`);
    assert.match(raw, /HTTP\/1\.1 200 OK/);
    assert.equal(up.requests.length, 1);
    assert.equal(up.requests[0]!.body, 'query=E%5Bteam-fruit%5D%28up%29');
  });

  it('HTTP/1.1 without Host → 400 envelope (Node: empty 400), nothing forwarded', async () => {
    const r = await one(`GET /api/v1/query?query=up HTTP/1.1\r\n${ALICE}Connection: close\r\n\r\n`);
    assertEnvelope(r, 400, 'bad_request');
    assert.equal(up.requests.length, 0);
  });

  it('HTTP/1.0 without Host is served', async () => {
    const raw = await rawRequest(gw.url, `GET /api/v1/query?query=up HTTP/1.0\r\n${ALICE}\r\n`);
    assert.match(raw, /^HTTP\/1\.1 200 OK/);
    assertForwardedClean();
  });

  it('CONNECT → 400 envelope (Node: connection closed without an answer), nothing forwarded', async () => {
    const r = await one(`CONNECT 127.0.0.1:9090 HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n${ALICE}\r\n`);
    assertEnvelope(r, 400, 'bad_request');
    assert.equal(up.requests.length, 0);
  });
});

describe('pipelined requests on one connection', () => {
  it('each gets its own enforced upstream request and answer (was: 502 for the second)', async () => {
    up.responder = (req, res) => {
      // Answer slowly so the second request is enforced while the first is still in flight.
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: 'success', data: req.url }));
      }, 50);
    };
    const keep = (q: string) => `GET /api/v1/query?query=${q} HTTP/1.1\r\nHost: gw\r\n${ALICE}\r\n`;
    const raw = await rawRequest(gw.url, keep('a') + keep('b') + get('/api/v1/query?query=c'));
    const all = parseRawResponses(raw);
    assert.deepEqual(all.map((r) => r.status), [200, 200, 200]);
    assert.deepEqual(all.map((r) => (JSON.parse(r.body) as { data: string }).data), ['a', 'b', 'c'].map((q) => `/api/v1/query?query=E%5Bteam-fruit%5D%28${q}%29`));
    assert.equal(up.requests.length, 3);
    for (const rec of up.requests) assert.equal(rec.headers.authorization, undefined);
  });

  it('a request smuggled behind an unauthenticated body is parsed as its own request, with its own auth', async () => {
    const smuggled = `GET /api/v1/query?query=inner HTTP/1.1\r\nHost: gw\r\n\r\n`;
    const raw = await rawRequest(gw.url, `POST /api/v1/query HTTP/1.1\r\nHost: gw\r\n${ALICE}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${8}\r\n\r\nquery=up${smuggled.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`);
    const all = parseRawResponses(raw);
    assert.deepEqual(all.map((r) => r.status), [200, 401]);
    assert.equal(up.requests.length, 1);
    assert.equal(up.requests[0]!.body, 'query=E%5Bteam-fruit%5D%28up%29');
  });

  it('Transfer-Encoding together with Content-Length → 400 envelope, nothing forwarded', async () => {
    const r = await one(`POST /api/v1/query HTTP/1.1\r\nHost: gw\r\n${ALICE}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nquery=up\r\n0\r\n\r\n`);
    assertEnvelope(r, 400, 'bad_request');
    assert.equal(up.requests.length, 0);
  });
});

describe('promql.syntax: auto probe', () => {
  it('does not follow an upstream redirect (the upstream credential and the dialect stay with the configured upstream)', async () => {
    const { createSyntaxResolver } = await import('../../src/upstream/syntax.ts');
    const { createUpstreamClient } = await import('../../src/upstream/client.ts');
    const { fetchBuildInfo } = await import('../../src/upstream/probe.ts');
    const elsewhere = await startUpstream((_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"success","data":{"version":"3.5.0"}}');
    });
    const redirecting = await startUpstream((_q, res) => {
      res.writeHead(302, { Location: `${elsewhere.url}/api/v1/status/buildinfo` });
      res.end();
    });
    try {
      const client = createUpstreamClient({ name: 'prometheus', url: redirecting.url, timeoutMs: 5000, bearerToken: 'upstream-secret' });
      const r = createSyntaxResolver('auto', { probe: () => fetchBuildInfo(client, 'probe', 5000), logger: silentLogger() });
      assert.equal(await r(), 'prometheus2');
      assert.equal(redirecting.requests.length, 1);
      assert.equal(redirecting.requests[0]!.headers.authorization, 'Bearer upstream-secret');
      assert.equal(elsewhere.requests.length, 0, 'the redirect target received nothing');
    } finally {
      await redirecting.close();
      await elsewhere.close();
    }
  });
});

describe('pipelining cannot multiply upstream load', () => {
  it('requests pipelined on one connection reach the upstream one at a time, in order', async () => {
    let inflight = 0;
    let max = 0;
    up.responder = (req, res) => {
      inflight++;
      max = Math.max(max, inflight);
      setTimeout(() => {
        inflight--;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: 'success', data: req.url }));
      }, 20);
    };
    const n = 8;
    const raw = Array.from({ length: n }, (_, i) => `GET /api/v1/query?query=q${i} HTTP/1.1\r\nHost: gw\r\n${ALICE}${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n`).join('');
    const all = parseRawResponses(await rawRequest(gw.url, raw));
    assert.equal(all.length, n);
    assert.ok(all.every((r) => r.status === 200));
    assert.equal(max, 1, 'one upstream request at a time per connection');
    assert.deepEqual(up.requests.map((r) => r.url), Array.from({ length: n }, (_, i) => `/api/v1/query?query=E%5Bteam-fruit%5D%28q${i}%29`));
  });
});

describe('readBody on a request whose client already left', () => {
  it('rejects with bad_request instead of waiting forever (was: a promise that never settled)', async () => {
    const http = await import('node:http');
    const net = await import('node:net');
    const { readBody } = await import('../../src/http/params.ts');
    let settle: (v: string) => void = () => {};
    const outcome = new Promise<string>((r) => (settle = r));
    const server = http.createServer((req) => {
      req.once('close', () => {
        setTimeout(() => {
          readBody(req, 1000).then(() => settle('resolved'), (e: { code?: string }) => settle(`rejected ${e.code}`));
        }, 20);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('POST /api/v1/query HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nquery=');
        setTimeout(() => s.destroy(), 30);
      });
      const settled = await Promise.race([outcome, new Promise<string>((r) => setTimeout(() => r('HANG'), 2000))]);
      assert.equal(settled, 'rejected bad_request');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('refused upstream answers keep their retry semantics', () => {
  it('a text/plain 429 with Retry-After → 429 rate_limited envelope with Retry-After', async () => {
    up.responder = (_q, res) => {
      res.writeHead(429, { 'Content-Type': 'text/plain', 'Retry-After': '7' });
      res.end('too many outstanding requests\n');
    };
    const r = await one(get('/api/v1/query?query=up'));
    assertEnvelope(r, 429, 'rate_limited');
    assert.deepEqual(r.headers.get('retry-after'), ['7']);
    assert.ok(!r.body.includes('outstanding'));
    assertForwardedClean();
  });

  it('an HTML 504 from a load balancer → 504 upstream_timeout envelope', async () => {
    up.responder = (_q, res) => {
      res.writeHead(504, { 'Content-Type': 'text/html' });
      res.end('<html>Gateway Timeout</html>');
    };
    const r = await one(get('/api/v1/query?query=up'));
    assertEnvelope(r, 504, 'upstream_timeout');
    assertForwardedClean();
  });
});

describe('a text 404 from the upstream (Cortex has no buildinfo)', () => {
  it('→ 404 unknown_route envelope, so Grafana still detects Cortex', async () => {
    up.responder = (_q, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
    };
    const r = await one(get('/api/v1/status/buildinfo'));
    assertEnvelope(r, 404, 'unknown_route');
    assert.ok(!r.body.includes('page not found'));
    assertForwardedClean('/api/v1/status/buildinfo');
  });
});

describe('a refused upstream answer that never ends', () => {
  it('is cut: the client gets its envelope at once and the upstream connection is closed', async () => {
    let closed = false;
    up.responder = (_q, res) => {
      res.writeHead(500, { 'Content-Type': 'text/html' });
      const timer = setInterval(() => res.write('<p>'.repeat(1000)), 5);
      res.on('close', () => {
        closed = true;
        clearInterval(timer);
      });
    };
    const t0 = Date.now();
    const r = await one(get('/api/v1/query?query=up'));
    assertEnvelope(r, 502, 'upstream_unavailable');
    assert.ok(Date.now() - t0 < 2000);
    const deadline = Date.now() + 2000;
    while (!closed && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.ok(closed, 'the upstream response was abandoned, not read forever');
  });
});
