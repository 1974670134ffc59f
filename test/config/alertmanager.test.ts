/** The `alertmanager` and `remote_read` sections: defaults, errors, summary. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfig } from '../../src/config/load.ts';
import { summarizeConfig } from '../../src/config/summary.ts';

const BASE = 'upstream: {url: "http://p:9090"}\nauth: {bearer_tokens: [{subject: a, token: t0k3n-value}]}\n';
const parse = (extra: string) => parseConfig(BASE + extra, { baseDir: '/', env: {} });
const issues = (extra: string): readonly string[] => {
  try {
    parse(extra);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

describe('config: alertmanager', () => {
  it('absent: no upstream, no endpoints; remote_read defaults', () => {
    const c = parse('');
    assert.equal(c.upstreams.alertmanager, undefined);
    assert.equal(c.alertmanager, undefined);
    assert.deepEqual(c.remote_read, { max_queries: 64, max_decompressed_bytes: 4194304 });
  });
  it('present: the upstream keys, status and receivers denied by default', () => {
    const c = parse('alertmanager: {url: "http://am:9093/alertmanager/", timeout: 30s, bearer_token: s3cr3t-value}\n');
    assert.deepEqual(c.upstreams.alertmanager, { url: 'http://am:9093/alertmanager', timeout_ms: 30000, bearer_token: 's3cr3t-value', basic_auth: undefined, tls: undefined, headers: {}, host: undefined });
    assert.deepEqual(c.alertmanager, { status: 'deny', receivers: 'deny' });
    assert.ok(summarizeConfig(c).includes('alertmanager: http://am:9093/alertmanager (timeout 30s, sends its own bearer token; status deny, receivers deny)'));
  });
  it('errors name the key', () => {
    assert.deepEqual(issues('alertmanager: {url: "http://am:9093", status: open}\n'), ['config: alertmanager.status: must be one of "deny", "unrestricted", "allow"']);
    assert.deepEqual(issues('alertmanager: {status: allow}\n'), ['config: alertmanager.url is required']);
    assert.match(issues('alertmanager: {url: "http://am:9093", recievers: allow}\n')[0] ?? '', /unknown key "recievers" \(did you mean "receivers"\?\)/);
    assert.match(issues('remote_read: {max_queries: 0}\n')[0] ?? '', /remote_read\.max_queries: must be at least 1/);
  });
});
