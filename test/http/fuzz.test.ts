/**
 * HTTP fuzzing (issue #11): random requests — methods, paths and path tricks, parameter
 * placement (URL, form body, both), percent-encodings, duplicates, content types, credentials,
 * and PromQL from the grammar-based generator (test/promql/generators.ts) plus mutations and
 * hostile spellings — sent to the real listening server (real authenticator, real enforcer)
 * in front of a recording upstream. Property: every request ends in one JSON error envelope,
 * or the upstream receives only enforced selectors (every selector of every `query` and
 * `match[]` carries the caller's tenant matcher; no credential, narrowing or foreign tenancy
 * parameter; nothing un-enforced that carries selectors).
 *
 * `npm test` runs a fixed seed (PROMFENCE_FC_RUNS, default 300 runs); `npm run fuzz` runs it
 * long (PROMFENCE_FC_RUNS=100000 by default there, and a random seed unless
 * PROMFENCE_FC_SEED is set).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { literalAlternatives } from '../../src/access/policy.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { walk } from '../../src/promql/ast.ts';
import { parseExpr } from '../../src/promql/parse.ts';
import { printExpr } from '../../src/promql/print.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { exprArbitrary } from '../promql/generators.ts';
import { startUpstream, type RecordingUpstream } from './kit.ts';

const RUNS = Number(process.env['PROMFENCE_FC_RUNS'] ?? 300);
const SEED = process.env['PROMFENCE_FC_SEED'] !== undefined ? Number(process.env['PROMFENCE_FC_SEED']) : (RUNS > 300 ? undefined : 1111);

let up: RecordingUpstream;
let gw: RunningServer;

before(async () => {
  up = await startUpstream();
  const config = parseConfig(`
server: {listen: "127.0.0.1:0", max_request_target_bytes: 65536}
upstream: {url: "${up.url}"}
promql: {syntax: prometheus3, cache_size: 2000}
limits: {max_body_bytes: 65536}
auth:
  bearer_tokens:
    - {subject: alice, token: fruit-token}
    - {subject: tom, token: tomato-token}
access: {subjects: {alice: [team-fruit], tom: [team-fruit, team-veggie]}}
`, { baseDir: '/', env: {} });
  gw = await startServer(config, { logger: silentLogger() });
});
after(async () => {
  await gw.close();
  await up.close();
});

/** A promfence-added tenant matcher admitting only tenants of `grant` (narrowing may pick a subset). */
const within = (grant: readonly string[]) => (m: { name: string; op: string; value: string }): boolean => {
  if (m.name !== 'tenant') return false;
  if (m.op === '=') return grant.includes(m.value);
  const alternatives = m.op === '=~' ? literalAlternatives(m.value) : undefined;
  return alternatives !== undefined && alternatives.every((t) => grant.includes(t));
};
const CALLERS = {
  alice: { auth: 'Bearer fruit-token', matcher: within(['team-fruit']) },
  tom: { auth: 'Bearer tomato-token', matcher: within(['team-fruit', 'team-veggie']) },
} as const;

const PATHS = [
  '/api/v1/query', '/api/v1/query_range', '/api/v1/query_exemplars', '/api/v1/format_query', '/api/v1/series', '/api/v1/labels',
  '/api/v1/label/job/values', '/api/v1/label/__name__/values', '/api/v1/label/U__tenant/values', '/federate', '/api/v1/status/buildinfo',
  '/api/v1/rules', '/api/v1/status/tsdb', '/api/v1/read', '/api/v1/admin/tsdb/delete_series', '//api/v1/query', '/api/v1/query/',
  '/api/v1/%71uery', '/API/v1/query', '/prometheus/api/v1/query', '/api/v1/label/a%2Fb/values', '/-/healthy',
];

const REALISTIC = [
  'up', 'sum(rate(http_requests_total[5m]))', 'count by (tenant) ({__name__=~".+"})', '{tenant="team-veggie"}', 'up{tenant=~"team-veggie|x"}',
  'up{tenant=~".*"}', 'absent(up{tenant="team-veggie"})', 'label_replace(up, "tenant", "team-veggie", "", "")', '{__name__=~".+"}',
  'topk(scalar(secret), mine)', 'foo # c\r or bar', 'foo offset 5m', '-1^2', 'info(up)', '{}', '{job=~".*"}', 'holt_winters(x[5m], 0.5, 0.5)',
  'x @ start()', 'rate(x[5m:1m])', 'vector(1)', '1', '"str"', 'up or on() vector(0)', Array.from({ length: 300 }, (_, i) => `count(m${i})`).join(' or '),
];

/** Mutations of a query text: character edits, duplicated segments, injected tenant matchers and comments. */
const mutated = (base: fc.Arbitrary<string>) => fc.tuple(base, fc.nat(), fc.constantFrom('ins', 'del', 'dup', 'tenant', 'comment', 'none'), fc.constantFrom('{', '}', '(', ')', '"', '\\', ',', 'tenant="team-veggie"', '#', '\r', '\n', ' or ', '[5m]', ' offset 1m', '@', '=~', '%', '\u0000'))
  .map(([s, n, how, frag]) => {
    const i = s.length === 0 ? 0 : n % (s.length + 1);
    switch (how) {
      case 'ins': return s.slice(0, i) + frag + s.slice(i);
      case 'del': return s.slice(0, i) + s.slice(i + 1 + (n % 3));
      case 'dup': return s.slice(0, i) + s.slice(i, i + 8) + s.slice(i);
      case 'tenant': return s.replace('}', ', tenant="team-veggie"}').replace(/^([a-z_]+)$/, '$1{tenant=~"team-veggie"}');
      case 'comment': return s.slice(0, i) + ' # x' + frag + '\n' + s.slice(i);
      default: return s;
    }
  });

const promql = fc.oneof(
  { weight: 3, arbitrary: exprArbitrary(false).map((e) => printExpr(e, 'prometheus3')) },
  { weight: 4, arbitrary: fc.constantFrom(...REALISTIC) },
  { weight: 3, arbitrary: mutated(fc.oneof(fc.constantFrom(...REALISTIC), exprArbitrary(false).map((e) => printExpr(e, 'prometheus3')))) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

const paramName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('query', 'match[]') },
  { weight: 3, arbitrary: fc.constantFrom('time', 'start', 'end', 'step', 'stats', 'dedup', 'limit', 'tenant', 'storeMatch[]', 'extra_label', 'extra_filters[]') },
  { weight: 1, arbitrary: fc.constantFrom('access_token', 'ACCESS_TOKEN', 'query ', 'match', 'match[', 'Query', 'x') },
);
const paramValue = (name: string) => (name === 'query' || name === 'match[]' || name === 'storeMatch[]' || name === 'extra_filters[]'
  ? promql
  : fc.oneof(fc.constantFrom('1', '0', 'team-fruit', 'team-veggie', 'all', 'tenant=team-veggie', '', '2024-01-01T00:00:00Z'), fc.string({ maxLength: 8 })));
const param = paramName.chain((name) => fc.tuple(fc.constant(name), paramValue(name), fc.constantFrom('url', 'body', 'both'), fc.constantFrom('component', 'uri', 'plus', 'raw', 'double', 'lowerhex')));

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates as U+FFFD), keeping bytes `keep` accepts. */
function pct(s: string, keep: (b: number) => boolean): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += keep(b) ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  return out;
}
const unreserved = (b: number) => /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b));

function encode(s: string, how: string): string {
  const component = pct(s, unreserved);
  switch (how) {
    case 'uri': return pct(s, (b) => b > 0x20 && b < 0x7f && !'&#?=+;%'.includes(String.fromCharCode(b)));
    case 'plus': return component.replace(/%20/g, '+');
    case 'raw': return pct(s, (b) => b > 0x20 && b < 0x7f).replace(/%20/g, '+');
    case 'double': return pct(component, unreserved);
    case 'lowerhex': return component.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
    default: return component;
  }
}

const wild = fc.record({
  caller: fc.constantFrom<keyof typeof CALLERS | 'none' | 'wrong'>('alice', 'tom', 'none', 'wrong'),
  method: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS'),
  path: fc.constantFrom(...PATHS),
  params: fc.array(param, { maxLength: 5 }),
  contentType: fc.constantFrom<string | undefined>('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded; charset=latin1', 'application/json', 'multipart/form-data; boundary=x', 'text/plain', undefined, 'garbage'),
  narrowing: fc.constantFrom<string | undefined>(undefined, 'team-fruit', 'team-veggie', 'team-fruit,team-veggie', ''),
  orgId: fc.constantFrom<string | undefined>(undefined, 'team-veggie', 'team-fruit|team-veggie'),
});
// Requests that can succeed, so that most runs reach the upstream and the property checks
// what it received (the diagnostic prints how many did): an authenticated caller, GET or
// POST on a served route, a form body, one PromQL parameter first.
const plausiblePath = fc.constantFrom(...PATHS.slice(0, 10));
const plausible = plausiblePath.chain((path) => fc.record({
  caller: fc.constantFrom<keyof typeof CALLERS>('alice', 'tom'),
  method: fc.constantFrom('GET', path.startsWith('/api/v1/label/') || path === '/federate' ? 'GET' : 'POST'),
  path: fc.constant(path),
  params: fc.tuple(fc.constant(/query|format/.test(path) ? 'query' : 'match[]'), promql, fc.constantFrom('url', 'body'), fc.constantFrom('component', 'plus', 'lowerhex'))
    .chain((first) => fc.array(param.filter(([n]) => !/^(access_token|query|match)/i.test(n)), { maxLength: 2 }).map((rest) => [first, ...rest])),
  contentType: fc.constantFrom<string | undefined>('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8'),
  narrowing: fc.constantFrom<string | undefined>(undefined, undefined, 'team-fruit', 'team-veggie'),
  orgId: fc.constantFrom<string | undefined>(undefined, 'team-veggie'),
}));
const requestArb = fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 2, arbitrary: wild });

function send(method: string, target: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), method, path: target, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What the upstream received must be enforced for `caller`. */
function assertEnforced(caller: keyof typeof CALLERS, rec: (typeof up.requests)[number]): void {
  assert.equal(rec.headers['authorization'], undefined, 'a client credential reached the upstream');
  for (const h of ['x-scope-orgid', 'thanos-tenant', 'x-prom-label-policy', 'x-promfence-tenant']) assert.equal(rec.headers[h], undefined, `${h} reached the upstream`);
  const form = rec.method === 'POST' ? rec.body : rec.query;
  const params = [...new URLSearchParams(form)];
  for (const [k, v] of params) {
    assert.ok(!['access_token', 'tenant', 'extra_label', 'extra_filters[]'].includes(k), `parameter ${k} reached the upstream`);
    // storeMatch[] (Thanos) is forwarded only enforced, like match[].
    if (k === 'query' || k === 'match[]' || k === 'storeMatch[]') {
      const tree = parseExpr(v, { syntax: 'prometheus3', maxQueryBytes: 1 << 22, structureLimits: false });
      walk(tree, (n) => {
        if (n.kind === 'VectorSelector') assert.ok(n.matchers.some(CALLERS[caller].matcher), `un-enforced selector reached the upstream: ${v}`);
      });
    }
  }
  if (/^\/api\/v1\/(series|labels|label\/|federate)/.test(rec.path) || rec.path === '/federate') {
    assert.ok(params.some(([k]) => k === 'match[]'), 'a labels/series/federate request without match[] reached the upstream');
  }
  if (/^\/api\/v1\/(query|query_range|query_exemplars|format_query)$/.test(rec.path)) {
    assert.equal(params.filter(([k]) => k === 'query').length, 1, 'not exactly one query reached the upstream');
  }
}

describe('HTTP fuzzing: an error envelope, or only enforced selectors upstream', { timeout: 600_000 }, () => {
  it(`${RUNS} random requests${SEED === undefined ? '' : ` (seed ${SEED})`}`, async (t) => {
    let forwarded = 0;
    let refused = 0;
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        up.requests.length = 0;
        const url: string[] = [];
        const body: string[] = [];
        for (const [name, value, where, how] of r.params) {
          const pair = `${encode(name, how === 'double' ? 'component' : how)}=${encode(value, how)}`;
          if (where !== 'body') url.push(pair);
          if (where !== 'url') body.push(pair);
        }
        const headers: Record<string, string> = { host: 'gw' };
        if (r.caller === 'alice' || r.caller === 'tom') headers['authorization'] = CALLERS[r.caller].auth;
        if (r.caller === 'wrong') headers['authorization'] = 'Bearer nope';
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.narrowing !== undefined) headers['x-promfence-tenant'] = r.narrowing;
        if (r.orgId !== undefined) headers['x-scope-orgid'] = r.orgId;
        const hasBody = r.method !== 'GET' && r.method !== 'HEAD' && body.length > 0;
        const target = r.path + (url.length > 0 ? '?' + url.join('&') : '');
        const res = await send(r.method, target, headers, hasBody ? body.join('&') : undefined);
        if (res.status === 200 && (r.path === '/-/healthy')) return;
        if (res.status >= 400) {
          refused++;
          assert.equal(up.requests.length, 0, `refused (${res.status}) but forwarded`);
          if (r.method !== 'HEAD') {
            const env = JSON.parse(res.text) as { status: string; errorType: string; code: string; error: string };
            codes.set(env.code, (codes.get(env.code) ?? 0) + 1);
            assert.equal(env.status, 'error');
            assert.equal(typeof env.code, 'string');
            assert.ok(env.error.length > 0);
          }
          return;
        }
        assert.equal(res.status, 200, `${res.status} ${res.text.slice(0, 200)}`);
        assert.ok(r.caller === 'alice' || r.caller === 'tom', 'an unauthenticated request was answered 200');
        assert.equal(up.requests.length, 1, 'a 200 without exactly one upstream request');
        assertEnforced(r.caller, up.requests[0] as (typeof up.requests)[number]);
        forwarded++;
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true, includeErrorInReport: true },
    );
    t.diagnostic(`${forwarded} forwarded (every selector checked), ${refused} refused with an envelope: ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])))}`);
    assert.ok(forwarded >= RUNS / 8, `only ${forwarded} of ${RUNS} runs reached the upstream`);
  });
});
