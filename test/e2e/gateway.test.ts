/**
 * The whole gateway end to end: a real Prometheus 2.42 over backfilled fruit/veggie/platform
 * data, promfence started from a YAML config exactly as `promfence serve` does, and real
 * clients (fetch with GET and POST forms, Debian's promtool 2.42 with basic auth in the URL).
 *
 * For alice (team-fruit), bob (team-veggie), tom (both) and ops ("*") on every route, each
 * sees exactly its tenants' series; untenanted platform series are visible only to ops.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startPrometheus, requirePrometheus, type RunningPrometheus } from '../kit/prometheus.ts';
import type { RunningServer } from '../../src/server.ts';
import { startGateway } from '../kit/gateway.ts';

const FRUIT = 'team-fruit';
const VEGGIE = 'team-veggie';
/** What each user must see: the `tenant` label values ('' = untenanted platform series). */
const EXPECTED: Record<string, string[]> = {
  alice: [FRUIT],
  bob: [VEGGIE],
  tom: [FRUIT, VEGGIE],
  ops: ['', FRUIT, VEGGIE],
};
const TOKENS: Record<string, string> = { alice: 'fruit-token', bob: 'veggie-token', tom: 'tomato-token', ops: 'ops-token' };
const PASSWORDS: Record<string, string> = { alice: 'alice-pw', bob: 'bob-pw', tom: 'tom-pw', ops: 'ops-pw' };
const USERS = Object.keys(EXPECTED);
const METHODS = ['GET', 'POST'] as const;

let prom: RunningPrometheus;
let gw: RunningServer;

interface Answer {
  status: number;
  headers: Headers;
  body: { status: string; data?: unknown; error?: string; errorType?: string; code?: string };
  text: string;
}

/** One request to the gateway: GET with a query string or POST with a form body. */
async function call(
  method: 'GET' | 'POST',
  path: string,
  params: Record<string, string | string[]> = {},
  headers: Record<string, string> = {},
): Promise<Answer> {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) form.append(k, x);
  const url = method === 'GET' && form.size > 0 ? `${gw.url}${path}?${form}` : `${gw.url}${path}`;
  const res = await fetch(url, {
    method,
    headers: method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded', ...headers } : headers,
    ...(method === 'POST' ? { body: form.toString() } : {}),
  });
  const text = await res.text();
  let body: Answer['body'];
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    body = { status: 'not-json' };
  }
  return { status: res.status, headers: res.headers, body, text };
}

function bearer(user: string): Record<string, string> {
  return { authorization: `Bearer ${TOKENS[user]}` };
}

/** Sorted distinct `tenant` values ('' when absent) of a list of label sets. */
function tenantsOf(labelSets: Array<Record<string, string>>): string[] {
  return [...new Set(labelSets.map((l) => l['tenant'] ?? ''))].sort();
}

function vectorLabels(body: Answer['body']): Array<Record<string, string>> {
  const data = body.data as { result: Array<{ metric: Record<string, string> }> };
  return data.result.map((r) => r.metric);
}

/**
 * What the upstream itself answers on a labels/label-values path for the selector that
 * scopes `user` (no selector for ops): the gateway must answer exactly this.
 */
async function directLabels(path: string, user: string, window: Record<string, string>): Promise<string[]> {
  const tenants = EXPECTED[user]!.filter((t) => t !== '');
  const params: Record<string, string> = { ...window };
  if (user !== 'ops') params['match[]'] = `{tenant=~"${tenants.join('|')}"}`;
  const res = await fetch(`${prom.url}${path}?${new URLSearchParams(params)}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: string[] }).data;
}

before(async () => {
  requirePrometheus();
  prom = await startPrometheus();
  const tenantsOf = (u: string) => (u === 'ops' ? ['*'] : EXPECTED[u]!);
  gw = await startGateway(prom.url, Object.fromEntries(USERS.map((u) => [u, { token: TOKENS[u]!, password: PASSWORDS[u]!, tenants: tenantsOf(u) }])));
});

after(async () => {
  await gw?.close();
  await prom?.stop();
});

describe('every user sees exactly its tenants', () => {
  for (const user of USERS) {
    for (const method of METHODS) {
      it(`${user} ${method} /api/v1/query`, async () => {
        const r = await call(method, '/api/v1/query', { query: 'count by (tenant) ({__name__=~".+"})', time: String(prom.dataEnd) }, bearer(user));
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(tenantsOf(vectorLabels(r.body)), EXPECTED[user]);
      });

      it(`${user} ${method} /api/v1/query_range`, async () => {
        const r = await call(
          method,
          '/api/v1/query_range',
          { query: 'sum by (tenant) (rate(http_requests_total[5m]))', start: String(prom.dataEnd - 1800), end: String(prom.dataEnd), step: '60' },
          bearer(user),
        );
        assert.equal(r.status, 200, r.text);
        // http_requests_total exists only for the two teams.
        assert.deepEqual(tenantsOf(vectorLabels(r.body)), EXPECTED[user]!.filter((t) => t !== ''));
      });

      it(`${user} ${method} /api/v1/query_exemplars`, async () => {
        const r = await call(method, '/api/v1/query_exemplars', { query: 'http_requests_total', start: String(prom.dataEnd - 600), end: String(prom.dataEnd) }, bearer(user));
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.status, 'success');
      });

      it(`${user} ${method} /api/v1/series`, async () => {
        const r = await call(method, '/api/v1/series', { 'match[]': ['{__name__=~".+"}'], start: String(prom.dataEnd - 600), end: String(prom.dataEnd) }, bearer(user));
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(tenantsOf(r.body.data as Array<Record<string, string>>), EXPECTED[user]);
      });

      it(`${user} ${method} /api/v1/series with two match[] (up, fruit_harvested_total)`, async () => {
        const r = await call(method, '/api/v1/series', { 'match[]': ['up', 'fruit_harvested_total'], start: String(prom.dataEnd - 600), end: String(prom.dataEnd) }, bearer(user));
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(tenantsOf(r.body.data as Array<Record<string, string>>), EXPECTED[user]);
      });

      it(`${user} ${method} /api/v1/labels`, async () => {
        const window = { start: String(prom.dataEnd - 600), end: String(prom.dataEnd) };
        const r = await call(method, '/api/v1/labels', window, bearer(user));
        assert.equal(r.status, 200, r.text);
        const names = r.body.data as string[];
        assert.deepEqual(names, await directLabels('/api/v1/labels', user, window));
        const tenants = EXPECTED[user]!;
        assert.equal(names.includes('fruit'), tenants.includes(FRUIT), `label "fruit" for ${user}: ${names.join(',')}`);
        assert.equal(names.includes('veggie'), tenants.includes(VEGGIE), `label "veggie" for ${user}: ${names.join(',')}`);
      });
    }

    it(`${user} GET /api/v1/label/tenant/values`, async () => {
      const r = await call('GET', '/api/v1/label/tenant/values', { start: String(prom.dataEnd - 600), end: String(prom.dataEnd) }, bearer(user));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.data, EXPECTED[user]!.filter((t) => t !== ''));
    });

    it(`${user} GET /api/v1/label/__name__/values (metric browser)`, async () => {
      const r = await call('GET', '/api/v1/label/__name__/values', { start: String(prom.dataEnd - 600), end: String(prom.dataEnd), limit: '40000' }, bearer(user));
      assert.equal(r.status, 200, r.text);
      const names = r.body.data as string[];
      assert.deepEqual(names, await directLabels('/api/v1/label/__name__/values', user, { start: String(prom.dataEnd - 600), end: String(prom.dataEnd) }));
      const tenants = EXPECTED[user]!;
      assert.equal(names.includes('fruit_harvested_total'), tenants.includes(FRUIT));
      assert.equal(names.includes('veggie_harvested_total'), tenants.includes(VEGGIE));
    });

    it(`${user} GET /api/v1/label/<U__-escaped name>/values`, async () => {
      // U__t_65_nant is "tenant" with its "e" escaped the Prometheus 3 way; Prometheus 2.42
      // does not decode U__ names, so it answers for a label literally named so (none): the
      // point is that the gateway accepts the form and still scopes the request.
      const r = await call('GET', '/api/v1/label/U__t_65_nant/values', {}, bearer(user));
      assert.equal(r.status, 200, r.text);
      for (const v of r.body.data as string[]) assert.ok(EXPECTED[user]!.includes(v), v);
    });

    if (user !== 'ops') {
      it(`${user} GET /federate without match[] gets its tenants`, async () => {
        const r = await call('GET', '/federate', {}, bearer(user));
        assert.equal(r.status, 200, r.text.slice(0, 500));
        const seen = new Set([...r.text.matchAll(/tenant="([^"]*)"/g)].map((m) => m[1]));
        const lines = r.text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
        assert.ok(lines.length > 0, 'federate returned no series');
        for (const line of lines) assert.match(line, /tenant="/, `untenanted series federated to ${user}: ${line}`);
        assert.deepEqual([...seen].sort(), EXPECTED[user]);
      });
    }

    it(`${user} GET /federate with match[]`, async () => {
      const r = await call('GET', '/federate', { 'match[]': ['{__name__=~"up|fruit_harvested_total|veggie_harvested_total"}'] }, bearer(user));
      assert.equal(r.status, 200, r.text.slice(0, 500));
      const lines = r.text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      const seen = new Set(lines.map((l) => /tenant="([^"]*)"/.exec(l)?.[1] ?? ''));
      assert.deepEqual([...seen].sort(), EXPECTED[user]);
    });
  }
});

describe('tenant matchers in queries', () => {
  it('alice naming team-veggie in a query is 403 forbidden_tenant', async () => {
    const r = await call('POST', '/api/v1/query', { query: `up{tenant="${VEGGIE}"}`, time: String(prom.dataEnd) }, bearer('alice'));
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'forbidden_tenant');
    assert.equal(r.body.error, `tenant "${VEGGIE}" is not granted to subject "alice"`);
  });

  it('alice excluding her own tenant gets nothing, not the other tenants', async () => {
    const r = await call('POST', '/api/v1/query', { query: `count by (tenant) ({__name__=~".+", tenant!="${FRUIT}"})`, time: String(prom.dataEnd) }, bearer('alice'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(vectorLabels(r.body), []);
  });

  it('a regex on the tenant label cannot widen: tom with tenant=~".+" still sees two tenants', async () => {
    const r = await call('GET', '/api/v1/query', { query: 'count by (tenant) ({__name__=~".+", tenant=~".*"})', time: String(prom.dataEnd) }, bearer('tom'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(tenantsOf(vectorLabels(r.body)), [FRUIT, VEGGIE]);
  });

  it('aggregation parameters are scoped: quantile(scalar(<other tenant>), …) reads no foreign value', async () => {
    // scalar() of an empty vector is NaN: alice cannot see veggie series, so φ is NaN and the
    // quantile is NaN; tom sees six veggie series, so φ = 6 > 1 and the quantile is +Inf.
    const q = 'quantile(scalar(count(veggie_harvested_total)), fruit_harvested_total)';
    const a = await call('GET', '/api/v1/query', { query: q, time: String(prom.dataEnd) }, bearer('alice'));
    assert.equal(a.status, 200, a.text);
    const av = (a.body.data as { result: Array<{ value: [number, string] }> }).result;
    assert.equal(av.length, 1);
    assert.equal(av[0]!.value[1], 'NaN');
    const t = await call('GET', '/api/v1/query', { query: q, time: String(prom.dataEnd) }, bearer('tom'));
    assert.equal(t.status, 200, t.text);
    assert.equal((t.body.data as { result: Array<{ value: [number, string] }> }).result[0]!.value[1], '+Inf');
  });
});

describe('narrowing', () => {
  it('tom ?tenant=team-fruit sees only team-fruit', async () => {
    const r = await call('GET', '/api/v1/query', { query: 'count by (tenant) ({__name__=~".+"})', time: String(prom.dataEnd), tenant: FRUIT }, bearer('tom'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(tenantsOf(vectorLabels(r.body)), [FRUIT]);
  });

  it('tom narrowing in the POST body works the same', async () => {
    const r = await call('POST', '/api/v1/series', { 'match[]': ['up'], tenant: VEGGIE }, bearer('tom'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(tenantsOf(r.body.data as Array<Record<string, string>>), [VEGGIE]);
  });

  it('tom X-Promfence-Tenant: team-veggie sees only team-veggie', async () => {
    const r = await call('GET', '/api/v1/label/tenant/values', {}, { ...bearer('tom'), 'x-promfence-tenant': VEGGIE });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.data, [VEGGIE]);
  });

  it('ops narrowing to one tenant hides the untenanted series too', async () => {
    const r = await call('GET', '/api/v1/query', { query: 'count by (tenant) ({__name__=~".+"})', time: String(prom.dataEnd), tenant: FRUIT }, bearer('ops'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(tenantsOf(vectorLabels(r.body)), [FRUIT]);
  });

  for (const method of METHODS) {
    it(`alice narrowing to team-veggie is 403 (${method})`, async () => {
      const r = await call(method, '/api/v1/query', { query: 'up', tenant: VEGGIE }, bearer('alice'));
      assert.equal(r.status, 403);
      assert.equal(r.body.code, 'forbidden_tenant');
      assert.equal(r.body.error, `tenant "${VEGGIE}" is not granted to subject "alice"`);
    });
  }
});

describe('authentication', () => {
  it('no credentials: 401 envelope with WWW-Authenticate', async () => {
    const r = await call('GET', '/api/v1/query', { query: 'up' });
    assert.equal(r.status, 401);
    assert.equal(r.body.status, 'error');
    assert.equal(r.body.errorType, 'unauthorized');
    assert.equal(r.body.code, 'unauthenticated');
    assert.ok(r.headers.get('www-authenticate'));
  });

  it('a wrong token: 401 envelope', async () => {
    const r = await call('POST', '/api/v1/query', { query: 'up' }, { authorization: 'Bearer nope' });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'unauthenticated');
    assert.doesNotMatch(r.text, /nope/);
  });

  it('a wrong password: 401 envelope', async () => {
    const r = await call('GET', '/api/v1/labels', {}, { authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'unauthenticated');
  });

  it('access_token in the URL is refused, even with a valid header', async () => {
    const r = await call('GET', '/api/v1/query', { query: 'up', access_token: TOKENS['ops']! }, bearer('alice'));
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'credentials_in_url');
  });

  it('unknown route for an authenticated caller: 404 envelope; without credentials: 401', async () => {
    const a = await call('GET', '/api/v1/nope', {}, bearer('alice'));
    assert.equal(a.status, 404);
    assert.equal(a.body.code, 'unknown_route');
    const p = await call('GET', '/api/v1/status/tsdb', {}, bearer('alice'));
    assert.equal(p.status, 403);
    assert.equal(p.body.code, 'forbidden_endpoint');
    const b = await call('GET', '/api/v1/status/tsdb');
    assert.equal(b.status, 401);
  });

  it('Grafana "Save & test" (POST query 1+1 at time=4) answers a scalar', async () => {
    const r = await call('POST', '/api/v1/query', { query: '1+1', time: '4' }, bearer('alice'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.data, { resultType: 'scalar', result: [4, '2'] });
  });
});

describe('promtool 2.42 as a client, basic auth in the URL', () => {
  /** Runs promtool asynchronously: the gateway answers from this same process's event loop. */
  function promtool(args: string[]): Promise<{ stdout: string; stderr: string; status: number | null }> {
    const { promtool: bin } = requirePrometheus();
    return new Promise((resolve) => {
      execFile(bin, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
        const status = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ stdout, stderr, status });
      });
    });
  }
  function baseUrl(user: string): string {
    const u = new URL(gw.url);
    u.username = user;
    u.password = PASSWORDS[user]!;
    return u.toString().replace(/\/$/, '');
  }

  for (const user of ['alice', 'bob', 'tom']) {
    it(`${user}: query instant`, async () => {
      const r = await promtool(['query', 'instant', `--time=${prom.dataEnd}`, baseUrl(user), 'count by (tenant) ({__name__=~".+"})']);
      assert.equal(r.status, 0, r.stderr);
      const seen = [...r.stdout.matchAll(/tenant="([^"]*)"/g)].map((m) => m[1]).sort();
      assert.deepEqual(seen, EXPECTED[user]);
    });

    it(`${user}: query range`, async () => {
      const r = await promtool(['query', 'range', `--start=${prom.dataEnd - 600}`, `--end=${prom.dataEnd}`, '--step=1m', baseUrl(user), 'sum by (tenant) (up)']);
      assert.equal(r.status, 0, r.stderr);
      const seen = [...new Set([...r.stdout.matchAll(/tenant="([^"]*)"/g)].map((m) => m[1]))].sort();
      assert.deepEqual(seen, EXPECTED[user]);
    });

    it(`${user}: query series`, async () => {
      const r = await promtool(['query', 'series', '--match=up', `--start=${prom.dataEnd - 600}`, `--end=${prom.dataEnd}`, baseUrl(user)]);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
      assert.ok(lines.length > 0);
      const seen = [...new Set(lines.map((l) => /tenant="([^"]*)"/.exec(l)?.[1] ?? ''))].sort();
      assert.deepEqual(seen, EXPECTED[user]);
    });

    it(`${user}: query labels tenant`, async () => {
      const r = await promtool(['query', 'labels', baseUrl(user), 'tenant']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\n').filter((l) => l !== '').sort(), EXPECTED[user]);
    });
  }

  it('a wrong password fails', async () => {
    const u = new URL(gw.url);
    u.username = 'alice';
    u.password = 'wrong';
    const r = await promtool(['query', 'instant', u.toString().replace(/\/$/, ''), 'up']);
    assert.notEqual(r.status, 0);
  });
});
