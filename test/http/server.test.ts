/**
 * The real listening server (startServer / serveCommand): raw-socket behaviour that
 * supertest cannot exercise — header overflow, unparsable requests, path tricks as sent.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { serveCommand } from '../../src/commands/serve.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
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

  it('close() is graceful (an in-flight request completes) and idempotent', async () => {
    const slow = await startUpstream((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
      }, 300);
    });
    try {
      const other = await startServer(testConfig(slow.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() });
      const inflight = fetch(`${other.url}/api/v1/query?query=up`, { headers: { Authorization: 'Bearer alice-token' } });
      await waitFor(() => slow.requests.length === 1);
      let closed = false;
      const closing = Promise.all([other.close(), other.close()]).then(() => {
        closed = true;
      });
      const res = await inflight;
      assert.equal(res.status, 200);
      assert.match(await res.text(), /"success"/);
      await closing;
      assert.ok(closed);
      await assert.rejects(fetch(`${other.url}/-/healthy`));
    } finally {
      await slow.close();
    }
  });

  it('reload() swaps the application: new requests see the new config, in-flight ones finish on the old', async () => {
    let delay = 300;
    const slow = await startUpstream((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
      }, delay);
    });
    try {
      const other = await startServer(testConfig(slow.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() });
      try {
        const before = other.app;
        const inflight = fetch(`${other.url}/api/v1/query?query=up`, { headers: { Authorization: 'Bearer alice-token' } });
        await waitFor(() => slow.requests.length === 1);
        other.reload(testConfig(slow.url, (c) => (c.access.subjects = { alice: ['team-veggie'] })));
        assert.notEqual(other.app, before);
        delay = 0;
        const fresh = await fetch(`${other.url}/api/v1/query?query=up`, { headers: { Authorization: 'Bearer alice-token' } });
        assert.equal(fresh.status, 200);
        await fresh.text();
        const old = await inflight;
        assert.equal(old.status, 200);
        await old.text();
        assert.equal(new URL(`http://x/?${slow.requests[0]!.query}`).searchParams.get('query'), 'E[team-fruit](up)');
        assert.equal(new URL(`http://x/?${slow.requests[1]!.query}`).searchParams.get('query'), 'E[team-veggie](up)');
      } finally {
        await other.close();
      }
    } finally {
      await slow.close();
    }
  });

  it('listen failure rejects', async () => {
    const port = new URL(gw.url).port;
    await assert.rejects(startServer(testConfig(up.url, (c) => (c.server.listen = `127.0.0.1:${port}`)), { logger: silentLogger(), authenticate: fakeAuth }), /EADDRINUSE/);
  });
});

describe('listen addresses: the server reads them exactly as the config does', () => {
  for (const bad of [':9095', '127.0.0.1:x', '127.0.0.1:70000', 'localhost']) {
    it(`${JSON.stringify(bad)} is refused by startServer (as by the config schema)`, async () => {
      await assert.rejects(startServer(testConfig(up.url, (c) => (c.server.listen = bad)), { logger: silentLogger(), authenticate: fakeAuth }), RangeError);
    });
  }
  it('[::1]:0 listens on IPv6 loopback when available', async () => {
    let s: RunningServer | undefined;
    try {
      s = await startServer(testConfig(up.url, (c) => (c.server.listen = '[::1]:0')), { logger: silentLogger(), authenticate: fakeAuth });
      assert.match(s.url, /^http:\/\/\[::1\]:\d+$/);
    } catch (err) {
      assert.match(String(err), /EADDRNOTAVAIL|EAFNOSUPPORT/);
    } finally {
      await s?.close();
    }
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

  for (const entry of ['dist/cli.js', 'bin/promfence.js']) {
    it(`the compiled command (node ${entry} serve) serves a request and exits 0 on SIGTERM, no TypeScript loader involved`, async () => {
      const { spawn } = await import('node:child_process');
      const { fileURLToPath } = await import('node:url');
      const root = fileURLToPath(new URL('../../', import.meta.url));
      const dir = await mkdtemp(join(tmpdir(), 'promfence-dist-'));
      const file = join(dir, 'ok.yaml');
      await writeFile(file, `server: {listen: "127.0.0.1:0"}\nupstream: {url: "${up.url}"}\npromql: {syntax: prometheus3}\nauth: {bearer_tokens: [{subject: alice, token: "alice-secret-token-123"}]}\naccess: {subjects: {alice: [team-fruit]}}\n`);
      // No --import tsx: the child runs plain JavaScript from dist/.
      const child = spawn(process.execPath, [join(root, entry), 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      try {
        await waitFor(() => /"msg":"listening"/.test(out), 15_000);
        const url = (JSON.parse(out.split('\n').find((l) => l.includes('"listening"')) ?? '{}') as { url: string }).url;
        const res = await fetch(`${url}/api/v1/query?query=up`, { headers: { Authorization: 'Bearer alice-secret-token-123' } });
        assert.equal(res.status, 200);
        await res.text();
        assert.equal(new URL(`http://x/?${up.requests.at(-1)!.query}`).searchParams.get('query'), 'up{tenant="team-fruit"}');
      } finally {
        child.kill('SIGTERM');
      }
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      assert.equal(code, 0, out);
    });
  }
});
