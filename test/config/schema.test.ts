import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import type { createConfigSchema } from '../../src/config/schema.ts';
import type { Config } from '../../src/config/types.ts';
import type { z } from 'zod';
import { providerConfig, type BasicUserEntry, type BearerTokenEntry } from '../../src/config/types.ts';

const tokensOf = (c: Config): BearerTokenEntry[] => providerConfig(c.auth, 'bearer_tokens')?.tokens ?? [];
const usersOf = (c: Config): BasicUserEntry[] => providerConfig(c.auth, 'basic')?.users ?? [];

// Type-level contract: the schema's output is exactly Config (both directions assignable).
type SchemaOut = z.output<ReturnType<typeof createConfigSchema>>;
const _outIsConfig: (c: SchemaOut) => Config = (c) => c;
const _configIsOut: (c: Config) => SchemaOut = (c) => c;
void _outIsConfig;
void _configIsOut;

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const HASH = '$2b$04$CCCCCCCCCCCCCCCCCCCCC.tc0DlVVKb6PbexJ3mr/5eeGyOp09Uc2';
const MIN = `upstream: {url: "http://127.0.0.1:9090"}
auth: {bearer_tokens: [{subject: alice, token: fruit-secret}]}
access: {subjects: {alice: [team-fruit]}}
`;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'promfence-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function parse(text: string, env: Record<string, string> = {}): Config {
  return parseConfig(text, { baseDir: dir, env });
}

function issuesOf(text: string, env: Record<string, string> = {}): readonly string[] {
  try {
    parse(text, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'config_error');
    assert.equal(err.message, err.issues.join('\n'));
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

/** A config whose auth section is replaced. */
function withAuth(auth: string, access = '{subjects: {alice: [team-fruit]}}'): string {
  return `upstream: {url: "http://127.0.0.1:9090"}\nauth: ${auth}\naccess: ${access}\n`;
}

describe('config defaults', () => {
  it('fills every documented default from a minimal file', () => {
    const c = parse(MIN);
    assert.deepEqual(c.server, {
      listen: '127.0.0.1:9095', internal_listen: undefined, max_header_bytes: 1048576, max_request_target_bytes: 262144, max_pipelined_requests: 16, workers: 1, max_connections: 8192, max_connections_per_client: 256, watch_config: false, shutdown_timeout_ms: 30000,
      headers_timeout_ms: 10000, request_timeout_ms: 30000, idle_timeout_ms: 65000, ready_probe_interval_ms: 10000, cors_allowed_origins: [],
      path_prefix: '', listeners: [],
    });
    assert.deepEqual(c.upstreams, { prometheus: { url: 'http://127.0.0.1:9090', timeout_ms: 120000, bearer_token: undefined, basic_auth: undefined, tls: undefined, headers: {}, host: undefined } });
    assert.deepEqual(c.enforce, {
      label: 'tenant', mode: 'label', header: 'X-Scope-OrgID', select_param: 'tenant',
      select_header: 'X-Promfence-Tenant', reject_foreign_tenant: true, allow_stats: false, allow_status_flags: false, label_policy_header: false,
    });
    assert.deepEqual(c.params, { unknown: 'forward' });
    assert.deepEqual(c.promql, { syntax: 'auto', max_query_bytes: 32768, cache_size: 10000, cache_max_bytes: 33554432, max_enforced_bytes: 262144 });
    assert.deepEqual([Object.keys(c.access.label_policies.subjects), Object.keys(c.access.label_policies.groups)], [[], []]);
    assert.deepEqual(c.access.trust_label_policy_header, []);
    assert.deepEqual(c.limits, {
      max_body_bytes: 1048576, max_match_params: 1000, max_filtered_response_bytes: 16777216, max_points: 11000, max_subquery_points: 100000, max_range_ms: 0, max_tenants: 0,
      rate: undefined, tenant_rate: undefined, max_inflight_per_subject: 0, store: 'memory', redis: undefined,
    });
    assert.equal(c.auth.realm, 'promfence');
    assert.deepEqual(c.auth.providers.map((p) => p.kind), ['bearer_tokens'], 'no basic provider without basic users');
    assert.deepEqual(usersOf(c), []);
    assert.deepEqual(c.log, { level: 'info', audit: true, audit_file: undefined });
  });

  it('hashes a clear token and does not keep it', () => {
    const c = parse(MIN);
    assert.deepEqual(tokensOf(c), [{ subject: 'alice', token_sha256: sha('fruit-secret'), groups: [] }]);
    assert.ok(!JSON.stringify(c).includes('fruit-secret'));
  });

  it('access maps have no prototype (a subject named "constructor" reads nothing)', () => {
    const c = parse(MIN);
    assert.equal(Object.getPrototypeOf(c.access.subjects), null);
    assert.equal(Object.getPrototypeOf(c.access.groups), null);
    assert.deepEqual({ ...c.access.subjects }, { alice: ['team-fruit'] });
  });

  it('reads every explicit value', () => {
    const c = parse(`
server: {listen: "[::1]:9100", internal_listen: "127.0.0.1:9101", max_header_bytes: 65536}
upstream: {url: "https://mimir:8080/prometheus/", timeout: "1m30s", bearer_token: up-secret}
enforce: {label: team, mode: label+header, header: THANOS-TENANT, select_param: team, select_header: X-Team, reject_foreign_tenant: false}
promql: {syntax: prometheus2, max_query_bytes: 1000, cache_size: 0}
limits: {max_body_bytes: 2048}
auth:
  bearer_tokens: [{subject: alice, token: fruit-secret, groups: [a, a, b]}]
  basic_users: [{subject: bob, password_hash: "${HASH}"}]
  realm: gw
  basic_cache_ttl: 0
access: {subjects: {alice: [team-fruit, team-fruit]}, groups: {b: ["*"]}}
log: {level: debug}
`);
    assert.deepEqual({ ...c.server, cors_allowed_origins: undefined }, {
      listen: '[::1]:9100', internal_listen: '127.0.0.1:9101', max_header_bytes: 65536, max_request_target_bytes: 262144, max_pipelined_requests: 16, workers: 1, max_connections: 8192, max_connections_per_client: 256, watch_config: false, shutdown_timeout_ms: 30000,
      headers_timeout_ms: 10000, request_timeout_ms: 30000, idle_timeout_ms: 65000, ready_probe_interval_ms: 10000, cors_allowed_origins: undefined,
      path_prefix: '', listeners: [],
    });
    assert.deepEqual(c.upstreams.prometheus, { url: 'https://mimir:8080/prometheus', timeout_ms: 90000, bearer_token: 'up-secret', basic_auth: undefined, tls: undefined, headers: {}, host: undefined });
    assert.equal(c.enforce.mode, 'label+header');
    assert.equal(c.enforce.reject_foreign_tenant, false);
    assert.equal(c.promql.syntax, 'prometheus2');
    assert.equal(c.promql.cache_size, 0);
    assert.equal(c.limits.max_body_bytes, 2048);
    assert.deepEqual(tokensOf(c)[0]?.groups, ['a', 'b']);
    assert.deepEqual(usersOf(c), [{ subject: 'bob', password_hash: HASH, groups: [] }]);
    assert.equal(c.auth.realm, 'gw');
    assert.equal(providerConfig(c.auth, 'basic')?.cache_ttl_ms, 0);
    assert.deepEqual(c.auth.providers.map((p) => p.kind), ['bearer_tokens', 'basic']);
    assert.deepEqual(c.access.subjects.alice, ['team-fruit']);
    assert.deepEqual(c.access.groups.b, ['*']);
    assert.equal(c.log.level, 'debug');
  });

  for (const [input, ms] of [['"2m"', 120000], ['30', 30000], ['1.5', 1500], ['"1.5"', 1500], ['"500ms"', 500], ['"1h30m"', 5400000], ['"1d"', 86400000]] as const) {
    it(`upstream.timeout ${input} = ${ms} ms`, () => {
      const c = parse(`upstream: {url: "http://u:1", timeout: ${input}}\nauth: {bearer_tokens: [{subject: a, token: t0123456}]}\n`);
      assert.equal(c.upstreams.prometheus.timeout_ms, ms);
    });
  }

  it('accepts token_sha256 and token_file', () => {
    writeFileSync(join(dir, 'tok'), 'file-secret\n');
    const c = parse(withAuth(`{bearer_tokens: [{subject: a, token_sha256: "${sha('x')}"}, {subject: b, token_file: tok}]}`));
    assert.deepEqual(tokensOf(c).map((e) => e.token_sha256), [sha('x'), sha('file-secret')]);
  });

  it('reads password_hash_file relative to baseDir, CRLF trimmed once', () => {
    mkdirSync(join(dir, 'sec'), { recursive: true });
    writeFileSync(join(dir, 'sec', 'bob.bcrypt'), `${HASH}\r\n`);
    const c = parse(withAuth(`{basic_users: [{subject: bob, password_hash_file: sec/bob.bcrypt}]}`, '{}'));
    assert.equal(usersOf(c)[0]?.password_hash, HASH);
  });

  it('reads upstream.bearer_token_file', () => {
    writeFileSync(join(dir, 'up'), 'up-secret\n');
    const c = parse(`upstream: {url: "http://u:1", bearer_token_file: up}\nauth: {bearer_tokens: [{subject: a, token: t0123456}]}\n`);
    assert.equal(c.upstreams.prometheus.bearer_token, 'up-secret');
  });

  it('substitutes ${env:NAME} in any string, $${ is a literal', () => {
    const c = parse(`upstream: {url: "http://\${env:HOST}:9090", bearer_token: "\${env:UP}"}
auth: {bearer_tokens: [{subject: alice, token: "pre-\${env:TOK}"}], realm: "a$\${b"}
`, { HOST: 'prom', UP: 'up-secret', TOK: 'abc' });
    assert.equal(c.upstreams.prometheus.url, 'http://prom:9090');
    assert.equal(c.upstreams.prometheus.bearer_token, 'up-secret');
    assert.equal(tokensOf(c)[0]?.token_sha256, sha('pre-abc'));
    assert.equal(c.auth.realm, 'a${b');
  });
});

describe('config errors name the key path and what to do', () => {
  const cases: Array<[string, string, string[]]> = [
    ['empty file', '', ['config: the file is empty; at least upstream.url and one auth entry are required (see examples/promfence.example.yaml)']],
    ['upstream missing', 'auth: {bearer_tokens: [{subject: a, token: t0123456}]}', ['config: upstream is required']],
    ['upstream.url not http', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}').replace('http://127.0.0.1:9090', 'ftp://x'),
      ['config: upstream.url: must be an http(s) URL like http://127.0.0.1:9090 (a path prefix is allowed: http://mimir:8080/prometheus)']],
    ['upstream.url with credentials', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}').replace('http://127.0.0.1', 'http://u:p@127.0.0.1'),
      ['config: upstream.url: must not contain credentials (user:password@); use upstream.bearer_token or upstream.bearer_token_file']],
    ['upstream.url with query', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}').replace(':9090', ':9090/?x=1'),
      ['config: upstream.url: must not have a query string or fragment; promfence builds the query itself']],
    ['upstream.timeout garbage', MIN.replace('9090"}', '9090", timeout: "2 minutes"}'),
      ['config: upstream.timeout: "2 minutes" is not a duration; write it like "30s", "2m", "1h30m" or a number of seconds']],
    ['upstream.timeout zero', MIN.replace('9090"}', '9090", timeout: 0}'), ['config: upstream.timeout: must be greater than 0']],
    ['upstream both tokens', MIN.replace('9090"}', '9090", bearer_token: a, bearer_token_file: b}'),
      ['config: upstream: has bearer_token and bearer_token_file; keep at most one']],
    ['unknown top-level key', MIN + 'acess: {}\n',
      ['config: unknown key "acess" (did you mean "access"?); allowed keys: server, upstream, enforce, params, promql, limits, auth, access, log, alertmanager, remote_read'.replace('config: ', 'config: ')]],
    ['unknown nested key', withAuth('{bearer_tokens: [{subject: alice, tokn: x}]}'),
      ['config: auth.bearer_tokens[0]: unknown key "tokn" (did you mean "token"?); allowed keys: subject, token, token_sha256, token_file, groups',
        'config: auth.bearer_tokens[0]: needs one of token, token_sha256, token_file']],
    ['empty token', withAuth('{bearer_tokens: [{subject: a, token: x1}, {subject: b, token: x2}, {subject: alice, token: ""}]}'),
      ['config: auth.bearer_tokens[2].token is empty']],
    ['token with a space', withAuth('{bearer_tokens: [{subject: alice, token: "a b"}]}'),
      ['config: auth.bearer_tokens[0].token contains whitespace or a line break; a bearer token is sent as "Authorization: Bearer <token>" and cannot contain spaces']],
    ['no token kind', withAuth('{bearer_tokens: [{subject: alice}]}'),
      ['config: auth.bearer_tokens[0]: needs one of token, token_sha256, token_file']],
    ['two token kinds', withAuth(`{bearer_tokens: [{subject: alice, token: x, token_sha256: "${sha('x')}"}]}`),
      ['config: auth.bearer_tokens[0]: has token and token_sha256; keep exactly one of token, token_sha256, token_file']],
    ['bad sha256', withAuth('{bearer_tokens: [{subject: alice, token_sha256: abc}]}'),
      ['config: auth.bearer_tokens[0].token_sha256: must be 64 lowercase hex characters, the output of "promfence hash-token"']],
    ['uppercase sha256', withAuth(`{bearer_tokens: [{subject: alice, token_sha256: "${sha('x').toUpperCase()}"}]}`),
      ['config: auth.bearer_tokens[0].token_sha256: must be lowercase hex; write it in lowercase']],
    ['duplicate subject', withAuth('{bearer_tokens: [{subject: alice, token: x1}, {subject: alice, token: x2}]}'),
      ['config: auth.bearer_tokens[1].subject: "alice" is already defined by auth.bearer_tokens[0]; subjects must be unique']],
    ['duplicate token (clear vs hash)', withAuth(`{bearer_tokens: [{subject: alice, token: x1}, {subject: bob, token_sha256: "${sha('x1')}"}]}`),
      ['config: auth.bearer_tokens[1]: has the same token as auth.bearer_tokens[0]; every token must be unique (one token, one subject)']],
    ['duplicate basic user', withAuth(`{basic_users: [{subject: bob, password_hash: "${HASH}"}, {subject: bob, password_hash: "${HASH}"}]}`, '{}'),
      ['config: auth.basic_users[1].subject: "bob" is already defined by auth.basic_users[0]; subjects must be unique']],
    ['bad bcrypt hash', withAuth('{basic_users: [{subject: bob, password_hash: "$apr1$x$y"}]}', '{}'),
      ['config: auth.basic_users[0].password_hash: must be a bcrypt hash like $2y$10$… (cost 04-31; create one with "htpasswd -nbBC 10 USER PASSWORD" and keep the part after "USER:")']],
    ['htpasswd line pasted', withAuth(`{basic_users: [{subject: bob, password_hash: "bob:${HASH}"}]}`, '{}'),
      ['config: auth.basic_users[0].password_hash: must be a bcrypt hash like $2y$10$… (cost 04-31; create one with "htpasswd -nbBC 10 USER PASSWORD" and keep the part after "USER:") (it looks like a whole htpasswd line: keep only the part after "user:")']],
    ['bcrypt cost too low', withAuth(`{basic_users: [{subject: bob, password_hash: "${HASH.replace('$04$', '$03$')}"}]}`, '{}'),
      ['config: auth.basic_users[0].password_hash: must be a bcrypt hash like $2y$10$… (cost 04-31; create one with "htpasswd -nbBC 10 USER PASSWORD" and keep the part after "USER:")']],
    ['basic username with colon', withAuth(`{basic_users: [{subject: "b:b", password_hash: "${HASH}"}]}`, '{}'),
      ['config: auth.basic_users[0].subject: "b:b" contains ":", which HTTP basic usernames cannot contain']],
    ['no credentials at all', withAuth('{}', '{}'),
      ['config: auth: no credentials are configured, so every request would be refused; add auth.bearer_tokens, auth.basic_users, auth.jwt, auth.trusted_header or client certificates (server.tls.client_auth)']],
    ['empty tenant list', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}', '{subjects: {alice: []}}'),
      ['config: access.subjects.alice is empty; list at least one tenant ("*" = all tenants), or remove the entry']],
    ['tenant with |', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}', '{subjects: {alice: ["a|b"]}}'),
      ['config: access.subjects.alice[0]: tenant "a|b" contains "|"; allowed characters are 0-9 a-z A-Z ! - _ . * \' ( )']],
    ['tenant ..', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}', '{groups: {g: [".."]}}'),
      ['config: access.groups.g[0]: tenant ".." is not allowed (Mimir refuses "." and "..")']],
    ['tenant too long', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}', `{subjects: {alice: ["${'a'.repeat(151)}"]}}`),
      [`config: access.subjects.alice[0]: tenant "${'a'.repeat(151)}" is longer than 150 bytes`]],
    ['tenant empty', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}', '{subjects: {alice: [""]}}'),
      ['config: access.subjects.alice[0]: tenant "" is empty']],
    ['tenant as number', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}', '{subjects: {alice: [0123]}}'),
      ['config: access.subjects.alice[0]: must be a string, not a number; quote it ("123")']],
    ['subject key with odd chars', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}', '{subjects: {"constructor": [a]}}'),
      ['config: access.subjects.constructor: "constructor" is a reserved name']],
    ['listen without host', MIN + 'server: {listen: ":9095"}\n',
      ['config: server.listen: ":9095" has no host; write 0.0.0.0:9095 to listen on every interface, or 127.0.0.1:9095 for local only']],
    ['listen garbage', MIN + 'server: {listen: "localhost"}\n',
      ['config: server.listen: "localhost" is not host:port; write it like 127.0.0.1:9095 or [::1]:9095']],
    ['max_header_bytes string', MIN + 'server: {max_header_bytes: "1MiB"}\n', ['config: server.max_header_bytes: must be a number, not a string']],
    ['max_body_bytes fraction', MIN + 'limits: {max_body_bytes: 1.5}\n', ['config: limits.max_body_bytes: must be a whole number']],
    ['cache_size negative', MIN + 'promql: {cache_size: -1}\n', ['config: promql.cache_size: must be at least 0']],
    ['enum', MIN + 'enforce: {mode: lbl}\n', ['config: enforce.mode: must be one of "label", "header", "label+header"']],
    ['syntax enum', MIN + 'promql: {syntax: prometheus4}\n', ['config: promql.syntax: must be one of "auto", "prometheus2", "prometheus3"']],
    ['yes is not a boolean', MIN + 'enforce: {reject_foreign_tenant: yes}\n', ['config: enforce.reject_foreign_tenant: must be true or false, not a string']],
    ['reserved label', MIN + 'enforce: {label: __name__}\n',
      ['config: enforce.label: "__name__" is reserved (names starting with "__" are Prometheus-internal); use a label like "tenant"']],
    ['bad label', MIN + 'enforce: {label: "team-id"}\n',
      ['config: enforce.label: "team-id" is not a Prometheus label name (letters, digits and _, not starting with a digit)']],
    ['select_param collides', MIN + 'enforce: {select_param: query}\n',
      ['config: enforce.select_param: "query" is a Prometheus API parameter; pick another name like "tenant"']],
    ['select_header is a tenancy header', MIN + 'enforce: {select_header: X-Scope-OrgID}\n',
      ['config: enforce.select_header: "X-Scope-OrgID" is a tenancy header that promfence strips or sets itself; use a header of its own like "X-Promfence-Tenant"']],
    ['header is Authorization', MIN + 'enforce: {header: Authorization}\n',
      ['config: enforce.header: "Authorization" cannot be used; it is a standard HTTP header']],
    ['log level', MIN + 'log: {level: verbose}\n', ['config: log.level: must be one of "error", "warn", "info", "debug"']],
    ['realm with quote', MIN.replace('token: fruit-secret}]', 'token: fruit-secret}], realm: \'a"b\''), ['config: auth.realm: must be printable ASCII without " or \\']],
    ['section null', MIN + 'server:\n', ['config: server: must be a mapping, not an empty value']],
    ['missing env var', MIN.replace('fruit-secret', '"${env:ALICE_TOKEN}"'),
      ['config: auth.bearer_tokens[0].token: environment variable ALICE_TOKEN is not set (referenced as ${env:ALICE_TOKEN})']],
    ['shell-style reference', MIN.replace('fruit-secret', '"${ALICE_TOKEN}"'),
      ['config: auth.bearer_tokens[0].token: "${ALICE_TOKEN}" is not a valid reference; write ${env:NAME} (NAME = letters, digits, _), or $${ for a literal "${"']],
    ['missing token_file', withAuth('{bearer_tokens: [{subject: alice, token_file: nope}]}'),
      [`config: auth.bearer_tokens[0].token_file: cannot read ${JSON.stringify('DIR/nope')}: no such file (ENOENT)`]],
    ['not a mapping', '- a\n- b\n', ['config: must be a mapping, not a list']],
    ['several documents', MIN + '---\nlog: {}\n', ['config: invalid YAML (line 4, column 1): the file holds several YAML documents (---); keep exactly one']],
    ['alias bomb', 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
      ['config: invalid YAML: Excessive alias count indicates a resource exhaustion attack']],
    ['duplicate YAML key', MIN + 'log: {}\nlog: {}\n', ['config: invalid YAML (line 5, column 1): Map keys must be unique']],
    ['numeric key', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}', '{subjects: {0123: [a]}}'),
      ['config: key 0123 (line 3, column 21) must be a string; quote it ("0123") so it is not read as a number']],
    ['__proto__ key', withAuth('{bearer_tokens: [{subject: alice, token: x1}]}', '{subjects: {__proto__: [a]}}'),
      ['config: key "__proto__" (line 3, column 21) is not allowed']],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const got = issuesOf(text).map((l) => l.split(dir).join('DIR'));
      assert.deepEqual(got, expected);
    });
  }

  it('reports several problems at once, one line each', () => {
    const got = issuesOf(MIN + 'log: {level: x}\nenforce: {mode: y}\n');
    assert.equal(got.length, 2);
  });

  it('an empty token_file is an error naming the file, never the content', () => {
    writeFileSync(join(dir, 'empty'), '\n');
    assert.deepEqual(issuesOf(withAuth('{bearer_tokens: [{subject: alice, token_file: empty}]}')).map((l) => l.split(dir).join('DIR')),
      ['config: auth.bearer_tokens[0].token_file: file "DIR/empty" is empty']);
  });

  it('a token_file with two lines is refused without echoing it', () => {
    writeFileSync(join(dir, 'two'), 'line-one-secret\nline-two\n');
    const got = issuesOf(withAuth('{bearer_tokens: [{subject: alice, token_file: two}]}'));
    assert.deepEqual(got, ['config: auth.bearer_tokens[0].token_file: the file\'s content contains whitespace or a line break; a bearer token is sent as "Authorization: Bearer <token>" and cannot contain spaces']);
    assert.ok(!got.join().includes('line-one-secret'));
  });

  it('never echoes a secret string in a type error', () => {
    const got = issuesOf(withAuth('{bearer_tokens: [{subject: alice, token: [super-secret]}]}'));
    assert.deepEqual(got, ['config: auth.bearer_tokens[0].token: must be a string, not a list']);
  });
});
