/**
 * The audit log (`log.audit_file`): one line per request with subject, method, granted and
 * effective tenants, route, original and enforced query or match[], decision, code, upstream
 * status and duration — and never a credential (the suite-wide log scan of
 * scripts/run-tests.mjs covers every other line).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { runGateway, type RunningGateway } from '../../src/runtime.ts';
import { startUpstream, waitFor, type RecordingUpstream } from '../http/kit.ts';
import { configDir, opsYaml } from './kit.ts';

const ALICE = 'audit-alice-token';
const TOM = 'audit-tom-token';

let up: RecordingUpstream;
let gw: RunningGateway;
let dir: ReturnType<typeof configDir>;
let lines: Array<Record<string, unknown>>;

function readAudit(): Array<Record<string, unknown>> {
  try {
    return readFileSync(join(dir.dir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

before(async () => {
  up = await startUpstream();
  const yaml = opsYaml(up.url, { alice: { token: ALICE, tenants: ['team-fruit'] }, tom: { token: TOM, tenants: ['team-fruit', 'team-veggie'] } }, { extra: 'log:\n  audit_file: audit.log' });
  dir = configDir(yaml);
  gw = await runGateway(parseConfig(yaml, { baseDir: dir.dir, env: {} }), { logger: silentLogger(), defaultMetrics: false });
  const base = gw.server.url;
  const send = async (path: string, token: string | undefined, init: RequestInit = {}) => {
    const headers: Record<string, string> = { 'X-Request-Id': `audit-${path.length}-${token?.length ?? 0}`, Cookie: `session=${ALICE}`, ...(init.headers as Record<string, string> | undefined) };
    if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
    const res = await fetch(base + path, { ...init, headers });
    await res.text();
    return res.status;
  };
  assert.equal(await send('/-/healthy', undefined), 200);
  assert.equal(await send('/api/v1/query?query=sum(rate(http_requests_total[5m]))', ALICE), 200);
  assert.equal(await send('/api/v1/series', TOM, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'match[]=up&match[]=process_cpu_seconds_total&tenant=team-veggie' }), 200);
  assert.equal(await send('/api/v1/query?query=up%7Btenant%3D%22team-veggie%22%7D', ALICE), 403);
  assert.equal(await send('/api/v1/query?query=up', 'not-' + ALICE), 401);
  assert.equal(await send(`/api/v1/query?query=up&access_token=${TOM}`, ALICE), 400);
  // Lines are written in the order requests end: once the last one is there, all are.
  assert.equal(await send('/api/v1/labels', undefined, { headers: { 'X-Request-Id': 'audit-last' } }), 401);
  await waitFor(() => readAudit().some((l) => l['request_id'] === 'audit-last'), 10_000);
  lines = readAudit();
});
after(async () => {
  await gw.shutdown();
  await up.close();
  dir.remove();
});

describe('audit log', () => {
  it('an allowed query: subject, auth method, tenants, original and enforced query, decision, upstream status, duration', () => {
    const l = lines.find((x) => x['route'] === 'query' && x['status'] === 200)!;
    assert.equal(l['msg'], 'audit');
    assert.equal(l['subject'], 'alice');
    assert.equal(l['auth_method'], 'bearer_tokens');
    assert.deepEqual(l['granted'], ['team-fruit']);
    assert.deepEqual(l['tenants'], ['team-fruit']);
    assert.equal(l['method'], 'GET');
    assert.equal(l['query'], 'sum(rate(http_requests_total[5m]))');
    assert.equal(l['enforced_query'], 'sum(rate(http_requests_total{tenant="team-fruit"}[5m]))');
    assert.equal(l['decision'], 'allowed');
    assert.equal(l['upstream_status'], 200);
    assert.equal(typeof l['duration_ms'], 'number');
    assert.match(String(l['request_id']), /^audit-/);
    assert.equal(l['code'], undefined);
  });

  it('match[] as sent and as enforced, with narrowing: granted two tenants, ran with one', () => {
    const l = lines.find((x) => x['route'] === 'series')!;
    assert.equal(l['subject'], 'tom');
    assert.deepEqual(l['granted'], ['team-fruit', 'team-veggie']);
    assert.deepEqual(l['tenants'], ['team-veggie']);
    assert.deepEqual(l['match'], ['up', 'process_cpu_seconds_total']);
    assert.deepEqual(l['enforced_match'], ['up{tenant="team-veggie"}', 'process_cpu_seconds_total{tenant="team-veggie"}']);
    assert.equal(l['method'], 'POST');
  });

  it('refused and denied requests: decision and code, no enforced query, no upstream status', () => {
    const forbidden = lines.find((x) => x['code'] === 'forbidden_tenant')!;
    assert.equal(forbidden['decision'], 'denied');
    assert.equal(forbidden['query'], 'up{tenant="team-veggie"}');
    assert.equal(forbidden['enforced_query'], undefined);
    assert.equal(forbidden['upstream_status'], undefined);
    assert.equal(forbidden['status'], 403);
    const unauth = lines.find((x) => x['code'] === 'unauthenticated')!;
    assert.equal(unauth['decision'], 'denied');
    assert.equal(unauth['subject'], undefined);
    assert.deepEqual(unauth['auth_failures'], [{ method: 'bearer_tokens', reason: 'invalid_bearer_token' }]);
    const inUrl = lines.find((x) => x['code'] === 'credentials_in_url')!;
    assert.equal(inUrl['decision'], 'refused');
    assert.equal(inUrl['status'], 400);
  });

  it('probes are not audited; exactly one line per other request', () => {
    assert.equal(lines.length, 6);
    assert.ok(!lines.some((x) => x['route'] === 'healthy' || x['route'] === 'ready'));
  });

  it('no credential in any audit line: tokens, the Authorization value, cookies, access_token', () => {
    const raw = readFileSync(join(dir.dir, 'audit.log'), 'utf8');
    for (const secret of [ALICE, TOM, 'not-' + ALICE, 'Bearer', 'session=']) assert.ok(!raw.includes(secret), secret);
  });
});
