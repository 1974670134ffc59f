/**
 * Issue #11, transport and pre-authentication findings, against the real listening server
 * (startServer with the real authenticator) and a recording upstream: what the client gets,
 * and what the upstream received — or did not.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { parseRawResponses, rawRequest, startUpstream, type RecordingUpstream } from './kit.ts';

let up: RecordingUpstream;
let gw: RunningServer;
let hold: Array<() => void> = [];

before(async () => {
  // The upstream answers a query only when the test releases it, so that a connection's
  // first request stays in flight while more are pipelined behind it.
  up = await startUpstream((req, res) => {
    const answer = () => {
      if (res.destroyed) return;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
    };
    if ((req.url ?? '').includes('hold')) hold.push(answer);
    else answer();
  });
  const config = parseConfig(`
server: {listen: "127.0.0.1:0", max_header_bytes: 2097152, max_request_target_bytes: 65536, max_pipelined_requests: 4}
upstream: {url: "${up.url}"}
promql: {syntax: prometheus3}
auth: {bearer_tokens: [{subject: alice, token: fruit-token}]}
access: {subjects: {alice: [team-fruit]}}
`, { baseDir: '/', env: {} });
  gw = await startServer(config, { logger: silentLogger() });
});
after(async () => {
  for (const h of hold) h();
  await gw.close();
  await up.close();
});
beforeEach(() => {
  up.requests.length = 0;
  for (const h of hold) h();
  hold = [];
});

const AUTH = 'Authorization: Bearer fruit-token\r\n';
const held = `GET /api/v1/query?query=up&hold=1 HTTP/1.1\r\nHost: gw\r\n${AUTH}\r\n`;
const health = 'GET /-/healthy HTTP/1.1\r\nHost: gw\r\n\r\n';

/** Opens a connection, writes `raw`, resolves once the server closed it (or `ms` passed): what was read, and whether it closed. */
function exchange(raw: string | Buffer, ms = 10_000): Promise<{ text: string; closed: boolean }> {
  const { port } = new URL(gw.url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(Number(port), '127.0.0.1', () => sock.write(raw, () => {}));
    const done = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => done(false), ms);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', () => done(true));
    sock.on('error', () => {});
  });
}

describe('pipelining depth is capped per connection', { timeout: 60_000 }, () => {
  it('up to the cap: every pipelined request is answered, in order', async () => {
    const raw = health.repeat(4) + 'GET /-/ready HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n';
    const rs = parseRawResponses((await exchange(raw)).text);
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200, 200]);
    assert.equal(rs[4]?.body, 'promfence is Ready.\n');
  });

  it('one request more than the cap behind a slow one closes the connection, unanswered; the upstream saw the first only', async () => {
    const r = await exchange(held + health.repeat(5));
    assert.equal(r.closed, true);
    assert.equal(parseRawResponses(r.text).length, 0);
    assert.ok(up.requests.length <= 1, `upstream got ${up.requests.length}`);
    // The server is fine: a new connection is served.
    assert.equal(parseRawResponses((await exchange(health.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'))).text)[0]?.status, 200);
  });

  it('100,000 pipelined requests in one stream (3.8 MB) cost one closed connection', async () => {
    const r = await exchange(held + health.repeat(100_000));
    assert.equal(r.closed, true);
    assert.ok(up.requests.length <= 1);
    const again = await exchange(health.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
    assert.equal(parseRawResponses(again.text)[0]?.status, 200);
  });
});

describe('pre-authentication work is bounded by the request head', { timeout: 60_000 }, () => {
  it('a request target over server.max_request_target_bytes → 414 uri_too_long before authentication', async () => {
    for (const path of ['/api/v1/query?query=' + 'a'.repeat(70_000), '/-/healthy?' + 'x'.repeat(70_000)]) {
      const [res] = parseRawResponses(await rawRequest(gw.url, `GET ${path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`));
      assert.equal(res?.status, 414);
      const body = JSON.parse(res?.body ?? '') as { code: string; errorType: string; error: string };
      assert.equal(body.code, 'uri_too_long');
      assert.equal(body.errorType, 'bad_data');
      assert.match(body.error, /server\.max_request_target_bytes/);
    }
    assert.equal(up.requests.length, 0);
  });

  it('60 KB of malformed percent-escapes (%&…) → 401 without credentials, 400 with them; nothing forwarded', async () => {
    const target = '/api/v1/query?' + '%&'.repeat(30_000);
    const [anon] = parseRawResponses(await rawRequest(gw.url, `GET ${target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`));
    assert.equal(anon?.status, 401);
    const [authed] = parseRawResponses(await rawRequest(gw.url, `GET ${target} HTTP/1.1\r\nHost: gw\r\n${AUTH}Connection: close\r\n\r\n`));
    assert.equal(authed?.status, 400);
    assert.equal((JSON.parse(authed?.body ?? '') as { code: string }).code, 'invalid_parameter');
    assert.equal(up.requests.length, 0);
  });

  it('a Basic header with no basic users configured is a plain 401 (no password check exists to run)', async () => {
    const [res] = parseRawResponses(await rawRequest(gw.url, `GET /api/v1/query?query=up HTTP/1.1\r\nHost: gw\r\nAuthorization: Basic ${Buffer.from('alice:x').toString('base64')}\r\nConnection: close\r\n\r\n`));
    assert.equal(res?.status, 401);
    assert.match(JSON.parse(res?.body ?? '').error as string, /HTTP basic authentication is not enabled/);
  });
});

describe('authenticated enforcement cost is bounded before the upstream', { timeout: 60_000 }, () => {
  const post = (path: string, body: string) => `POST ${path} HTTP/1.1\r\nHost: gw\r\n${AUTH}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  const one = async (raw: string) => {
    const [res] = parseRawResponses(await rawRequest(gw.url, raw));
    return { status: res?.status, body: JSON.parse(res?.body ?? '{}') as { code?: string; error?: string } };
  };

  it('many large match[] together → 400 query_too_large, nothing forwarded', async () => {
    const selector = encodeURIComponent('{' + Array.from({ length: 1000 }, (_, i) => `a${i}="x"`).join(',') + '}');
    const body = Array(9).fill(`match[]=${selector}`).join('&'); // 9 × 4,002 tokens
    const r = await one(post('/api/v1/series', body));
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'query_too_large');
    assert.match(r.body.error ?? '', /tokens together; split the request/);
    assert.equal(up.requests.length, 0);
  });

  it('a 400-term count(x) or … chain is forwarded, every term scoped', async () => {
    const q = Array.from({ length: 400 }, (_, i) => `count(m${i})`).join(' or ');
    const r = await one(post('/api/v1/query', `query=${encodeURIComponent(q)}`));
    assert.equal(r.status, 200);
    assert.equal(up.requests.length, 1);
    const sent = new URLSearchParams(up.requests[0]?.body ?? '').get('query') ?? '';
    assert.equal(sent.split('{tenant="team-fruit"}').length - 1, 400);
  });

  it('a regex tenant matcher naming only foreign tenants → 403 forbidden_tenant, nothing forwarded', async () => {
    const r = await one(post('/api/v1/query', `query=${encodeURIComponent('count({tenant=~"team-veggie|team-platform"})')}`));
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'forbidden_tenant');
    assert.equal(r.body.error, 'tenant "team-veggie" is not granted to subject "alice"');
    assert.equal(up.requests.length, 0);
  });
});

// Red-team finding: 20,000 idle connections from one address (each after a 401) took every file
// descriptor of the process, and every other caller was refused while they were held.
describe('open connections are capped in all and per client address', { timeout: 60_000 }, () => {
  let capped: RunningServer;
  const open: net.Socket[] = [];
  before(async () => {
    const config = parseConfig(`
server: {listen: "127.0.0.1:0", max_connections: 4, max_connections_per_client: 2}
upstream: {url: "${up.url}"}
auth: {bearer_tokens: [{subject: alice, token: fruit-token}]}
access: {subjects: {alice: [team-fruit]}}
`, { baseDir: '/', env: {} });
    capped = await startServer(config, { logger: silentLogger() });
  });
  after(async () => {
    for (const s of open) s.destroy();
    await capped.close();
  });

  /** Connects from `from` (any 127/8 address is local on Linux), asks /-/healthy and keeps the connection: 'served', or 'closed' when the server closed it unanswered. */
  function connect(from: string): Promise<'served' | 'closed'> {
    const { port } = new URL(capped.url);
    return new Promise((resolve) => {
      const sock = net.connect({ port: Number(port), host: '127.0.0.1', localAddress: from }, () => sock.write(health));
      open.push(sock);
      let text = '';
      sock.on('data', (c: Buffer) => {
        text += c.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve(text.startsWith('HTTP/1.1 200') ? 'served' : 'closed');
      });
      sock.on('close', () => resolve('closed'));
      sock.on('error', () => {});
    });
  }

  it('per client: the third connection of one address is closed unanswered; other addresses are served', async () => {
    assert.equal(await connect('127.0.0.1'), 'served');
    assert.equal(await connect('127.0.0.1'), 'served');
    assert.equal(await connect('127.0.0.1'), 'closed');
    assert.equal(await connect('127.0.0.2'), 'served');
  });

  it('in all: over server.max_connections every address is refused, until one closes', async () => {
    assert.equal(await connect('127.0.0.3'), 'served');
    assert.equal(await connect('127.0.0.4'), 'closed');
    const first = open[0]!;
    await new Promise<void>((resolve) => {
      first.once('close', () => resolve());
      first.destroy();
    });
    // The server sees the close asynchronously: retry briefly.
    let got: 'served' | 'closed' = 'closed';
    for (let i = 0; i < 50 && got === 'closed'; i++) {
      got = await connect('127.0.0.4');
      if (got === 'closed') await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(got, 'served');
  });

  it('a 401 closes its connection (a caller without credentials holds no descriptor)', async () => {
    const r = await exchange('GET /api/v1/query?query=up HTTP/1.1\r\nHost: gw\r\n\r\n', 5000);
    assert.match(r.text, /^HTTP\/1\.1 401 /);
    assert.match(r.text, /\r\nConnection: close\r\n/i);
    assert.equal(r.closed, true);
  });
});
