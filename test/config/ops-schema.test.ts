/**
 * The operational configuration keys (issue #9): server timeouts, shutdown, readiness probe,
 * CORS, watch_config; limits (points, range, tenants, rate, in-flight, store, redis); log
 * audit. Explicit values, defaults, and the message of every refusal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig, summarizeConfig } from '../../src/config/load.ts';

const MIN = `upstream: {url: "http://127.0.0.1:9090"}
auth: {bearer_tokens: [{subject: alice, token: fruit-secret}]}
access: {subjects: {alice: [team-fruit]}}
`;

const parse = (text: string) => parseConfig(text, { baseDir: '/etc/promfence', env: {} });

function issuesOf(text: string): readonly string[] {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

describe('operational configuration', () => {
  it('reads explicit server, limits and log values (durations in ms, audit_file relative to the config file)', () => {
    const c = parse(MIN + `server:
  watch_config: true
  shutdown_timeout: 45s
  headers_timeout: 5s
  request_timeout: 1m
  idle_timeout: 2m
  ready_probe_interval: 2s
  cors: {allowed_origins: ["https://grafana.example.com", "https://grafana.example.com", "http://localhost:3000"]}
limits:
  max_points: 5000
  max_range: 31d
  max_tenants: 3
  rate: {requests_per_second: 2.5}
  tenant_rate: {requests_per_second: 100, burst: 500}
  max_inflight_per_subject: 8
  store: redis
  redis: {url: "redis://:pw@redis:6379/2", on_error: deny}
log: {audit_file: audit/promfence-audit.log}
`);
    assert.equal(c.server.watch_config, true);
    assert.equal(c.server.shutdown_timeout_ms, 45_000);
    assert.equal(c.server.headers_timeout_ms, 5000);
    assert.equal(c.server.request_timeout_ms, 60_000);
    assert.equal(c.server.idle_timeout_ms, 120_000);
    assert.equal(c.server.ready_probe_interval_ms, 2000);
    assert.deepEqual(c.server.cors_allowed_origins, ['https://grafana.example.com', 'http://localhost:3000']);
    assert.equal(c.limits.max_points, 5000);
    assert.equal(c.limits.max_range_ms, 31 * 86_400_000);
    assert.equal(c.limits.max_tenants, 3);
    assert.deepEqual(c.limits.rate, { requests_per_second: 2.5, burst: 3 });
    assert.deepEqual(c.limits.tenant_rate, { requests_per_second: 100, burst: 500 });
    assert.equal(c.limits.max_inflight_per_subject, 8);
    assert.deepEqual(c.limits.redis, { url: 'redis://:pw@redis:6379/2', on_error: 'deny', key_prefix: 'promfence', timeout_ms: 250 });
    assert.equal(c.log.audit_file, '/etc/promfence/audit/promfence-audit.log');
    assert.equal(c.log.audit, true);
    const line = summarizeConfig(c).find((l) => l.startsWith('limits: '));
    assert.equal(line, 'limits: max 5000 points per series, max 100000 subquery steps per series, max range 4w3d, max 3 tenants per request, subject rate 2.5/s burst 3, tenant rate 100/s burst 500, max 8 in flight per subject; store redis redis://redis:6379/2 (on error: deny)');
  });

  const cases: Array<[string, string, string[]]> = [
    ['redis store without redis', 'limits: {store: redis}\n',
      ['config: limits.redis is required when limits.store is "redis"; add limits.redis.url (redis://host:6379)']],
    ['redis without the redis store', 'limits: {redis: {url: "redis://r:6379"}}\n',
      ['config: limits.store: is "memory" but limits.redis is set; write store: "redis" to share limits through Redis, or remove limits.redis']],
    ['redis URL of another scheme (the value is never echoed)', 'limits: {store: redis, redis: {url: "http://:secret@r:6379"}}\n',
      ['config: limits.redis.url: must be a Redis URL like redis://127.0.0.1:6379 (or rediss:// for TLS)']],
    ['redis on_error', 'limits: {store: redis, redis: {url: "redis://r:6379", on_error: fail}}\n', ['config: limits.redis.on_error: must be one of "allow", "deny"']],
    ['rate zero', 'limits: {rate: {requests_per_second: 0}}\n', ['config: limits.rate.requests_per_second: must be greater than 0']],
    ['rate burst zero', 'limits: {rate: {requests_per_second: 1, burst: 0}}\n', ['config: limits.rate.burst: must be at least 1']],
    ['rate unknown key', 'limits: {rate: {rps: 1}}\n',
      ['config: limits.rate.requests_per_second is required', 'config: limits.rate: unknown key "rps"; allowed keys: requests_per_second, burst']],
    ['max_points zero', 'limits: {max_points: 0}\n', ['config: limits.max_points: must be at least 1']],
    ['CORS origin with a path', 'server: {cors: {allowed_origins: ["https://grafana.example.com/"]}}\n',
      ['config: server.cors.allowed_origins[0]: "https://grafana.example.com/" is not an origin; write it like https://grafana.example.com (scheme, host, optional port, no path or trailing "/") or "*"']],
    ['headers timeout longer than the request timeout', 'server: {headers_timeout: 1m, request_timeout: 30s}\n',
      ['config: server.headers_timeout: must not be longer than server.request_timeout (the head is part of the request)']],
    ['internal listener on the public address', 'server: {listen: "127.0.0.1:9095", internal_listen: "127.0.0.1:9095"}\n',
      ['config: server.internal_listen: must differ from server.listen (metrics and reload are never served on the public listener)']],
    ['audit_file empty', 'log: {audit_file: ""}\n', ['config: log.audit_file is empty; give a file path or remove the key']],
  ];
  for (const [name, extra, expected] of cases) {
    it(`refuses ${name}`, () => {
      const issues = issuesOf(MIN + extra);
      assert.deepEqual(issues, expected);
      assert.ok(!issues.join('\n').includes('secret'));
    });
  }
});
