/**
 * `promfence explain`: in-process with fake streams, and once through the real binary.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { explainCommand, type ExplainArgs } from '../../src/commands/explain.ts';
import type { CommandIO } from '../../src/commands/io.ts';

function fakeIO(stdin: string | Buffer = ''): { io: CommandIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdin: Readable.from([typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin]),
      stdout: { write: (s: string) => { out += s; return true; } },
      stderr: { write: (s: string) => { err += s; return true; } },
    },
    out: () => out,
    err: () => err,
  };
}

const BASE: ExplainArgs = { label: 'tenant', tenants: ['team-fruit'], syntax: 'prometheus3', jsonl: false, maxQueryBytes: 32768 };

describe('explain (in-process)', () => {
  it('prints the enforced query and exits 0', async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, query: 'sum(rate(x[5m])) by (job)' }, f.io), 0);
    assert.equal(f.out(), 'sum by (job) (rate(x{tenant="team-fruit"}[5m]))\n');
    assert.equal(f.err(), '');
  });
  it('prints code: message on stderr and exits 1 when refused', async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, query: 'foo{tenant="team-veggie"}' }, f.io), 1);
    assert.equal(f.out(), '');
    assert.equal(f.err(), 'forbidden_tenant: tenant "team-veggie" is not granted (granted: team-fruit)\n');
  });
  it("'*' is unrestricted", async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, tenants: ['*'], query: 'up' }, f.io), 0);
    assert.equal(f.out(), 'up\n');
  });
  it('several tenants give an escaped alternation', async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, tenants: ['b', 'a.b'], query: 'up' }, f.io), 0);
    assert.equal(f.out(), 'up{tenant=~"a\\\\.b|b"}\n');
  });
  it('prometheus2 syntax', async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, syntax: 'prometheus2', query: 'holt_winters(x[5m], 0.5, 0.5)' }, f.io), 0);
    assert.equal(f.out(), 'holt_winters(x{tenant="team-fruit"}[5m], 0.5, 0.5)\n');
  });
  it('max query bytes', async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, maxQueryBytes: 3, query: 'abcd' }, f.io), 1);
    assert.match(f.err(), /^query_too_large: /);
  });
  it('no tenant is a usage error (exit 2)', async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, tenants: [], query: 'up' }, f.io), 2);
    assert.match(f.err(), /usage/);
  });
  it('stdin: one query per line, empty lines skipped, CRLF tolerated', async () => {
    const f = fakeIO('up\r\n\n{}\nfoo{tenant="x"}\n   \nrate(x[5m])');
    assert.equal(await explainCommand(BASE, f.io), 0);
    const lines = f.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines, [
      { query: 'up', enforced: 'up{tenant="team-fruit"}' },
      { query: '{}', error: { code: 'empty_selector', message: 'vector selector must contain at least one non-empty matcher (a metric name or a matcher that does not match the empty string)' } },
      { query: 'foo{tenant="x"}', error: { code: 'forbidden_tenant', message: 'tenant "x" is not granted (granted: team-fruit)' } },
      { query: 'rate(x[5m])', enforced: 'rate(x{tenant="team-fruit"}[5m])' },
    ]);
  });
  it('stdin --jsonl: multi-line queries; bad lines reported and exit 1', async () => {
    const input = [
      JSON.stringify({ query: 'sum(\n  up # comment\n)' }),
      'not json',
      JSON.stringify({ q: 'up' }),
      JSON.stringify({ query: 'up # c\r or down' }),
      '',
    ].join('\n');
    const f = fakeIO(input);
    assert.equal(await explainCommand({ ...BASE, jsonl: true }, f.io), 1);
    const lines = f.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 4);
    assert.deepEqual(lines[0], { query: 'sum(\n  up # comment\n)', enforced: 'sum(up{tenant="team-fruit"})' });
    assert.deepEqual(lines[1], { line: 2, error: { code: 'invalid_input', message: 'expected a JSON object with a string "query"' } });
    assert.deepEqual(lines[2], { line: 3, error: { code: 'invalid_input', message: 'expected a JSON object with a string "query"' } });
    assert.equal((lines[3] as { error: { code: string } }).error.code, 'parse_error');
  });
  it('stdin: a line that is not UTF-8 is reported, exit 1', async () => {
    const f = fakeIO(Buffer.concat([Buffer.from('up\n'), Buffer.from([0x66, 0xff, 0x0a]), Buffer.from('down\n')]));
    assert.equal(await explainCommand(BASE, f.io), 1);
    const lines = f.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[1], { line: 2, error: { code: 'invalid_input', message: 'line is not valid UTF-8' } });
    assert.equal(lines.length, 3);
  });
});

describe('explain (binary)', () => {
  const bin = fileURLToPath(new URL('../../bin/promfence.js', import.meta.url));
  it('node bin/promfence.js explain -l tenant -t a -t b QUERY', () => {
    const r = spawnSync(process.execPath, [bin, 'explain', '-l', 'tenant', '-t', 'a', '-t', 'b', 'sum(rate(http_requests_total[5m])) by (job)'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'sum by (job) (rate(http_requests_total{tenant=~"a|b"}[5m]))\n');
  });
  it('refusal through the binary: exit 1, code on stderr', () => {
    const r = spawnSync(process.execPath, [bin, 'explain', '-l', 'tenant', '-t', 'a', 'info(up)'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^unsupported_function: info\(\) is refused/);
  });
  it('stdin through the binary', () => {
    const r = spawnSync(process.execPath, [bin, 'explain', '-l', 'tenant', '-t', '*', '--syntax', 'prometheus2'], { input: 'up\n0755\n', encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '{"query":"up","enforced":"up"}\n{"query":"0755","enforced":"493"}\n');
  });
});
