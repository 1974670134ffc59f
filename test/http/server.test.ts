/**
 * The real listening server (startServer / serveCommand): raw-socket behaviour that
 * supertest cannot exercise — header overflow, unparsable requests, path tricks as sent.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parseListen, serveCommand, startServer, type RunningServer } from '../../src/commands/serve.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { fakeAuth, fakeEnforcer, rawRequest, startUpstream, testConfig, waitFor, type RecordingUpstream } from './kit.ts';

let up: RecordingUpstream;
let gw: RunningServer;

before(async () => {
  up = await startUpstream();
  gw = await startServer(testConfig(up.url, (c) => (c.server.max_header_bytes = 2048)), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() });
});
after(async () => {
  await gw.close();
  await up.close();
});
beforeEach(() => {
  up.requests.length = 0;
});

function parseRaw(raw: string): { status: number; headers: string; body: string } {
  const i = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, i);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head, body: raw.slice(i + 4) };
}

describe('startServer', () => {
  it('reports the actual URL for port 0', () => {
    assert.match(gw.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(!gw.url.endsWith(':0'));
  });

  it('oversized headers → 431 with the JSON envelope', async () => {
    const raw = await rawRequest(gw.url, `GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`);
    const r = parseRaw(raw);
    assert.equal(r.status, 431);
    assert.match(r.headers, /Content-Type: application\/json/);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(body.status, 'error');
    assert.equal(body.code, 'headers_too_large');
    assert.equal(body.errorType, 'bad_data');
    assert.equal(up.requests.length, 0);
  });

  it('an unparsable request → 400 with the JSON envelope', async () => {
    const r = parseRaw(await rawRequest(gw.url, 'GARBAGE\r\n\r\n'));
    assert.equal(r.status, 400);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'bad_request');
  });

  const tricks = ['//api/v1/query?query=up', '/api/v1/./query?query=up', '/api/v1/query/?query=up', '/api/v1/%71uery?query=up', '/API/v1/query?query=up', '/api/v1/x/../query?query=up', '/api/v1/query%2F?query=up', 'http://127.0.0.1/api/v1/query?query=up', '/api/v1/label/a%2Fb/values', '/api/v1/label/../values', '/api/v1/%zz', '/api/v1/query%3Fquery=up'];
  for (const target of tricks) {
    it(`path trick ${target} → 404 envelope, nothing forwarded`, async () => {
      const r = parseRaw(await rawRequest(gw.url, `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nConnection: close\r\n\r\n`));
      assert.equal(r.status, 404, target);
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'unknown_route');
      assert.equal(up.requests.length, 0);
    });
  }

  it('a raw request with both a URL and a body query (smuggling) → 400, nothing forwarded', async () => {
    const body = 'query=theirs';
    const r = parseRaw(await rawRequest(gw.url, `POST /api/v1/query?query=mine HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`));
    assert.equal(r.status, 400);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'duplicate_parameter');
    assert.equal(up.requests.length, 0);
  });

  it('request smuggling framing (Content-Length + Transfer-Encoding) → 400 envelope, nothing forwarded', async () => {
    const r = parseRaw(await rawRequest(gw.url, 'POST /api/v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nquery=up\r\n0\r\n\r\n'));
    assert.equal(r.status, 400);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'bad_request');
    assert.equal(up.requests.length, 0);
  });

  it('HEAD /-/healthy answers 200 without credentials', async () => {
    const res = await fetch(`${gw.url}/-/healthy`, { method: 'HEAD' });
    assert.equal(res.status, 200);
  });

  it('serves a normal request end to end', async () => {
    const res = await fetch(`${gw.url}/api/v1/query?query=up`, { headers: { Authorization: 'Bearer alice-token' } });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(up.requests.length, 1);
  });

  it('close() is graceful and idempotent', async () => {
    const other = await startServer(testConfig(up.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() });
    await Promise.all([other.close(), other.close()]);
    await assert.rejects(fetch(`${other.url}/-/healthy`));
  });

  it('listen failure rejects', async () => {
    const port = new URL(gw.url).port;
    await assert.rejects(startServer(testConfig(up.url, (c) => (c.server.listen = `127.0.0.1:${port}`)), { logger: silentLogger(), authenticate: fakeAuth }), /EADDRINUSE/);
  });
});

describe('parseListen', () => {
  it('host:port, [v6]:port, :port', () => {
    assert.deepEqual(parseListen('127.0.0.1:9095'), { host: '127.0.0.1', port: 9095 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseListen(':9095'), { host: undefined, port: 9095 });
    assert.throws(() => parseListen('127.0.0.1:x'), RangeError);
    assert.throws(() => parseListen('127.0.0.1:70000'), RangeError);
  });
});

describe('serveCommand', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { stdin: process.stdin, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } } };
  };

  it('a configuration error is printed to stderr and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfence-serve-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'server: [unclosed\n');
    const t = io();
    assert.equal(await serveCommand({ config: file }, t.io), 1);
    assert.ok(t.err.join('').length > 0);
    const t2 = io();
    assert.equal(await serveCommand({ config: join(dir, 'missing.yaml') }, t2.io), 1);
    assert.ok(t2.err.join('').length > 0);
  });

  it('runs until SIGTERM, then exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfence-serve-'));
    const file = join(dir, 'ok.yaml');
    await writeFile(file, [
      'server:',
      '  listen: "127.0.0.1:0"',
      'upstream:',
      `  url: "${up.url}"`,
      'promql:',
      '  syntax: prometheus3',
      'auth:',
      '  bearer_tokens:',
      '    - subject: alice',
      '      token: "alice-secret-token-123"',
      'access:',
      '  subjects:',
      '    alice: ["team-fruit"]',
      'log:',
      '  level: error',
      '',
    ].join('\n'));
    const t = io();
    const before = process.listenerCount('SIGTERM');
    const done = serveCommand({ config: file }, t.io);
    await waitFor(() => process.listenerCount('SIGTERM') > before, 5000);
    process.emit('SIGTERM');
    assert.equal(await done, 0, t.err.join(''));
    assert.equal(process.listenerCount('SIGTERM'), before);
  });
});
