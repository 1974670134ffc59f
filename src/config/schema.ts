/**
 * The configuration schema (zod): structure, unknown-key refusal, defaults, semantic checks
 * and secret resolution. Its parsed output is exactly {@link Config} (./types.ts).
 *
 * Message convention: every issue message starts with its own separator, either `" is …"`
 * or `": …"`, so `config: ` + key path + message reads as a sentence
 * (`config: auth.bearer_tokens[2].token is empty`,
 * `config: upstream.url: must be an http(s) URL like http://127.0.0.1:9090`).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { AuthProviderConfig, BasicUserEntry, BearerTokenEntry, Config, ListenerConfig, UpstreamConfig, UpstreamTlsConfig } from './types.ts';
import { DEFAULT_MAX_QUERY_BYTES } from '../promql/parse.ts';
import { DEFAULT_CACHE_BYTES, DEFAULT_CACHE_ENTRIES } from '../enforce/engine.ts';
import { readSecretFile } from './secrets.ts';
import { corsOriginProblem, keyPrefixProblem, redisUrlProblem } from './ops-values.ts';
import {
  bcryptHashProblem, groupProblem, headerNameProblem, labelNameProblem, listenProblem, paramNameProblem,
  parseDurationMs, parseUpstreamUrl, realmProblem, sha256HexProblem, subjectProblem, tokenProblem,
} from './values.ts';
import { headerValueProblem, hostHeaderProblem, pathPrefixProblem, splitHostPort, upstreamHeaderNameProblem } from './values.ts';
import { tenantIdProblem } from '../access/tenant-id.ts';
import {
  authOrderSchema, finishAuth, finishIssuers, IDENTITY_DEFAULTS, jwtIssuerSchema, mtlsSchema, serverTlsSchema, trustedHeaderSchema, type AuthDraft,
} from './identity-schema.ts';
import { DEFAULT_MAX_ENFORCED_BYTES } from '../enforce/enforce.ts';
import { policySelectorMap, resolveLabelPolicies } from './label-policies.ts';

/** Most worker processes `server.workers` may ask for. */
export const MAX_WORKERS = 64;

/** Default values (units: ms for durations, bytes for sizes), as documented in ./types.ts. */
export const DEFAULTS = Object.freeze({
  listen: '127.0.0.1:9095',
  max_header_bytes: 1_048_576,
  max_request_target_bytes: 262_144,
  max_pipelined_requests: 16,
  max_connections: 8192,
  max_connections_per_client: 256,
  upstream_timeout_ms: 120_000,
  enforce_label: 'tenant',
  enforce_mode: 'label' as const,
  enforce_header: 'X-Scope-OrgID',
  select_param: 'tenant',
  select_header: 'X-Promfence-Tenant',
  reject_foreign_tenant: true,
  syntax: 'auto' as const,
  max_query_bytes: DEFAULT_MAX_QUERY_BYTES,
  cache_size: DEFAULT_CACHE_ENTRIES,
  cache_max_bytes: DEFAULT_CACHE_BYTES,
  max_body_bytes: 1_048_576,
  max_match_params: 1000,
  max_filtered_response_bytes: 16 * 1024 * 1024,
  max_enforced_bytes: DEFAULT_MAX_ENFORCED_BYTES,
  label_policy_header: false,
  realm: 'promfence',
  basic_cache_ttl_ms: 60_000,
  log_level: 'info' as const,
  remote_read_max_queries: 64,
  remote_read_max_decompressed_bytes: 4 * 1024 * 1024,
  shutdown_timeout_ms: 30_000,
  headers_timeout_ms: 10_000,
  request_timeout_ms: 30_000,
  idle_timeout_ms: 65_000,
  ready_probe_interval_ms: 10_000,
  max_points: 11_000,
  max_subquery_points: 100_000,
  redis_key_prefix: 'promfence',
  redis_timeout_ms: 250,
  path_prefix: '',
  unknown_params: 'forward' as const,
});

/** What the schema needs from outside: where `_file` paths are resolved. */
export interface SchemaContext {
  /** Directory `_file` paths are relative to (the config file's directory). */
  baseDir: string;
}

export type Ctx = z.RefinementCtx;
export type Problem = (v: string) => string | undefined;

/** A string checked by a `…Problem` function. */
export function checked(problem: Problem) {
  return z.string().superRefine((v, ctx) => {
    const p = problem(v);
    if (p !== undefined) ctx.addIssue({ code: 'custom', message: p });
  });
}

/** Levenshtein distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] ?? 0;
}

function unknownKeysMessage(keys: readonly string[], known: readonly string[]): string {
  const parts = keys.map((k) => {
    const best = known.map((n) => [n, distance(k.toLowerCase(), n)] as const).sort((x, y) => x[1] - y[1])[0];
    const hint = best && best[1] <= Math.max(2, Math.floor(k.length / 3)) ? ` (did you mean ${JSON.stringify(best[0])}?)` : '';
    return `${JSON.stringify(k)}${hint}`;
  });
  return `: unknown key${keys.length > 1 ? 's' : ''} ${parts.join(', ')}; allowed keys: ${known.join(', ')}`;
}

/** A strict object: unknown keys are an error naming them (typos in security config must not pass). */
export function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? unknownKeysMessage((iss as { keys: string[] }).keys, known) : undefined),
  });
}

export const positiveInt = (min: number) =>
  z.number().int({ error: ': must be a whole number' }).min(min, { error: `: must be at least ${min}` });

/** A duration (Prometheus string or seconds), output in ms. */
export function duration(opts: { allowZero: boolean }) {
  return z.union([z.string(), z.number()], { error: ': must be a duration like "2m" or a number of seconds' }).transform((v, ctx) => {
    const ms = parseDurationMs(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `: ${JSON.stringify(String(v))} is not a duration; write it like "30s", "2m", "1h30m" or a number of seconds` });
      return z.NEVER;
    }
    if (!opts.allowZero && ms === 0) {
      ctx.addIssue({ code: 'custom', message: ': must be greater than 0' });
      return z.NEVER;
    }
    return ms;
  });
}

/** A non-empty, de-duplicated list of tenant IDs; `"*"` accepted only when `allowWildcard`. */
function tenantIds(allowWildcard: boolean, emptyMessage: string) {
  return z
    .array(z.string().superRefine((v, ctx) => {
      const p = tenantIdProblem(v, allowWildcard);
      if (p !== undefined) ctx.addIssue({ code: 'custom', message: `: tenant ${JSON.stringify(v)} ${p}` });
    }))
    .superRefine((v, ctx) => {
      if (v.length === 0) ctx.addIssue({ code: 'custom', message: emptyMessage });
    })
    .transform((v) => [...new Set(v)]);
}

/** A list of tenant IDs (non-empty; lone "*" = all). */
const tenantListSchema = tenantIds(true, ' is empty; list at least one tenant ("*" = all tenants), or remove the entry');

const groupsSchema = z.array(checked(groupProblem)).transform((v) => [...new Set(v)]);

/** A list of explicit tenant IDs ("*" not allowed): server.listeners[].tenants, enforce.all_tenants. */
const explicitTenants = tenantIds(false, ' is empty; list at least one tenant');

/** A null-prototype copy, so lookups of "constructor"/"__proto__" never reach Object.prototype. */
function nullProto<V>(record: Record<string, V>): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  for (const [k, v] of Object.entries(record)) out[k] = v;
  return out;
}

/** access.subjects / access.groups: name → tenants. */
function grantMap(problem: Problem) {
  return z.record(z.string(), tenantListSchema).transform((rec, ctx) => {
    for (const key of Object.keys(rec)) {
      const p = problem(key);
      if (p !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: p });
    }
    return nullProto(rec);
  });
}

/** Reads `<key>_file` or checks `<key>`, reporting at the right path; undefined = an issue was added. */
export function resolveSecret(
  ctx: Ctx, sc: SchemaContext, key: string, inline: string | undefined, file: string | undefined, problem: Problem,
): string | undefined {
  if (file !== undefined) {
    const r = readSecretFile(file, sc.baseDir);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', path: [`${key}_file`], message: r.message.startsWith('is ') ? ` ${r.message}` : `: ${r.message}` });
      return undefined;
    }
    const p = problem(r.value);
    if (p !== undefined) {
      ctx.addIssue({ code: 'custom', path: [`${key}_file`], message: `: the file's content${p.startsWith(':') ? p.slice(1) : p}` });
      return undefined;
    }
    return r.value;
  }
  if (inline !== undefined) {
    const p = problem(inline);
    if (p !== undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: p });
      return undefined;
    }
    return inline;
  }
  return undefined;
}

export function exactlyOne(ctx: Ctx, entry: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const present = keys.filter((k) => entry[k] !== undefined);
  if (present.length === 1) return present[0];
  ctx.addIssue({
    code: 'custom',
    message: present.length === 0
      ? `: needs one of ${keys.join(', ')}`
      : `: has ${present.join(' and ')}; keep exactly one of ${keys.join(', ')}`,
  });
  return undefined;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/**
 * Builds the configuration schema. Input: the YAML document as plain JS values, after
 * `${env:NAME}` substitution (see ./load.ts). Output: {@link Config}.
 *
 * Secrets given as `<key>_file` are read synchronously while parsing, relative to
 * `sc.baseDir`. Clear bearer tokens are replaced by their SHA-256 (the clear token is not
 * kept in the output).
 *
 * @param sc where `_file` paths are resolved
 */
export function createConfigSchema(sc: SchemaContext): z.ZodType<Config, unknown> {
  const bearerEntry = strict({
    subject: checked((v) => subjectProblem(v)),
    token: z.string().optional(),
    token_sha256: z.string().optional(),
    token_file: z.string().optional(),
    groups: groupsSchema.default([]),
  }).transform((e, ctx): BearerTokenEntry => {
    const which = exactlyOne(ctx, e, ['token', 'token_sha256', 'token_file']);
    if (which === undefined) return z.NEVER;
    let hash: string | undefined;
    if (which === 'token_sha256') {
      const p = sha256HexProblem(e.token_sha256 ?? '');
      if (p !== undefined) ctx.addIssue({ code: 'custom', path: ['token_sha256'], message: p });
      else hash = e.token_sha256;
    } else {
      const token = resolveSecret(ctx, sc, 'token', e.token, e.token_file, tokenProblem);
      if (token !== undefined) hash = sha256Hex(token);
    }
    if (hash === undefined) return z.NEVER;
    return { subject: e.subject, token_sha256: hash, groups: e.groups };
  });

  const basicEntry = strict({
    subject: checked((v) => subjectProblem(v, true)),
    password_hash: z.string().optional(),
    password_hash_file: z.string().optional(),
    groups: groupsSchema.default([]),
  }).transform((e, ctx): BasicUserEntry => {
    const which = exactlyOne(ctx, e, ['password_hash', 'password_hash_file']);
    if (which === undefined) return z.NEVER;
    const hash = resolveSecret(ctx, sc, 'password_hash', e.password_hash, e.password_hash_file, bcryptHashProblem);
    if (hash === undefined) return z.NEVER;
    return { subject: e.subject, password_hash: hash, groups: e.groups };
  });

  const server = strict({
    listen: checked(listenProblem).default(DEFAULTS.listen),
    internal_listen: checked(listenProblem).optional(),
    max_header_bytes: positiveInt(1024).default(DEFAULTS.max_header_bytes),
    watch_config: z.boolean().default(false),
    shutdown_timeout: duration({ allowZero: true }).default(DEFAULTS.shutdown_timeout_ms),
    headers_timeout: duration({ allowZero: false }).default(DEFAULTS.headers_timeout_ms),
    request_timeout: duration({ allowZero: false }).default(DEFAULTS.request_timeout_ms),
    idle_timeout: duration({ allowZero: false }).default(DEFAULTS.idle_timeout_ms),
    ready_probe_interval: duration({ allowZero: false }).default(DEFAULTS.ready_probe_interval_ms),
    cors: strict({ allowed_origins: z.array(checked(corsOriginProblem)).default([]) }).prefault({}),
    tls: serverTlsSchema(sc).optional(),
    path_prefix: checked(pathPrefixProblem).default(DEFAULTS.path_prefix),
    listeners: z.array(strict({ listen: checked(listenProblem), tenants: explicitTenants })).default([]),
    max_request_target_bytes: positiveInt(256).default(DEFAULTS.max_request_target_bytes),
    max_pipelined_requests: positiveInt(1).default(DEFAULTS.max_pipelined_requests),
    workers: z.union([z.literal('auto'), positiveInt(1).refine((n) => n <= MAX_WORKERS, { message: ` must be at most ${MAX_WORKERS}` })], { error: ' must be a number of worker processes (1 or more) or "auto" (one per core)' }).default(1),
    max_connections: positiveInt(1).default(DEFAULTS.max_connections),
    max_connections_per_client: positiveInt(1).default(DEFAULTS.max_connections_per_client),
  }).prefault({}).superRefine((s, ctx) => {
    if (s.headers_timeout > s.request_timeout) {
      ctx.addIssue({ code: 'custom', path: ['headers_timeout'], message: ': must not be longer than server.request_timeout (the head is part of the request)' });
    }
    if (s.internal_listen !== undefined && s.internal_listen === s.listen && !s.listen.endsWith(':0')) {
      ctx.addIssue({ code: 'custom', path: ['internal_listen'], message: ': must differ from server.listen (metrics and reload are never served on the public listener)' });
    }
    const seen = new Map<string, string>([[s.listen, 'server.listen']]);
    s.listeners.forEach((l, i) => {
      const a = splitHostPort(l.listen);
      const clash = [...seen].find(([other]) => other === l.listen || (a !== undefined && a.port !== 0 && splitHostPort(other)?.port === a.port));
      if (clash !== undefined) ctx.addIssue({ code: 'custom', path: ['listeners', i, 'listen'], message: `: ${JSON.stringify(l.listen)} uses the port of ${clash[1]}; every listener needs its own port` });
      seen.set(l.listen, `server.listeners[${i}]`);
    });
  }).transform((s): Config['server'] => ({
    listen: s.listen,
    internal_listen: s.internal_listen,
    max_header_bytes: s.max_header_bytes,
    max_request_target_bytes: s.max_request_target_bytes,
    max_pipelined_requests: s.max_pipelined_requests,
    workers: s.workers,
    max_connections: s.max_connections,
    max_connections_per_client: s.max_connections_per_client,
    watch_config: s.watch_config,
    shutdown_timeout_ms: s.shutdown_timeout,
    headers_timeout_ms: s.headers_timeout,
    request_timeout_ms: s.request_timeout,
    idle_timeout_ms: s.idle_timeout,
    ready_probe_interval_ms: s.ready_probe_interval,
    cors_allowed_origins: [...new Set(s.cors.allowed_origins)],
    ...(s.tls !== undefined ? { tls: s.tls } : {}),
    path_prefix: s.path_prefix,
    listeners: s.listeners.map((l): ListenerConfig => ({ listen: l.listen, tenants: l.tenants })),
  }));

  const upstreamBasicAuth = strict({
    username: checked((v) => subjectProblem(v, true)),
    password: z.string().optional(),
    password_file: z.string().optional(),
  }).transform((b, ctx): { username: string; password: string } => {
    if (exactlyOne(ctx, b, ['password', 'password_file']) === undefined) return z.NEVER;
    const password = resolveSecret(ctx, sc, 'password', b.password, b.password_file, (v) => (v.length === 0 ? ' is empty' : headerValueProblem(v)));
    if (password === undefined) return z.NEVER;
    return { username: b.username, password };
  });

  /** A PEM file read at load time (its path relative to the config file). */
  const pem = (ctx: Ctx, key: string, path: string | undefined): string | undefined =>
    path === undefined ? undefined : resolveSecret(ctx, sc, key.replace(/_file$/, ''), undefined, path, (v) => (v.includes('-----BEGIN ') ? undefined : ' is not PEM (no "-----BEGIN" line)'));

  const upstreamTls = strict({
    ca_file: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    server_name: checked(hostHeaderProblem).optional(),
    insecure_skip_verify: z.boolean().default(false),
  }).transform((t, ctx): UpstreamTlsConfig => {
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
      ctx.addIssue({ code: 'custom', message: ': cert_file and key_file go together (client certificate for mTLS); give both or neither' });
      return z.NEVER;
    }
    const ca = pem(ctx, 'ca_file', t.ca_file);
    const cert = pem(ctx, 'cert_file', t.cert_file);
    const key = pem(ctx, 'key_file', t.key_file);
    if ((t.ca_file !== undefined && ca === undefined) || (t.cert_file !== undefined && (cert === undefined || key === undefined))) return z.NEVER;
    return { ca, cert, key, server_name: t.server_name, insecure_skip_verify: t.insecure_skip_verify };
  });

  const upstreamShape = {
    url: z.string().transform((v, ctx) => {
      const r = parseUpstreamUrl(v);
      if ('problem' in r) {
        ctx.addIssue({ code: 'custom', message: r.problem });
        return z.NEVER;
      }
      return r.url;
    }),
    timeout: duration({ allowZero: false }).default(DEFAULTS.upstream_timeout_ms),
    bearer_token: z.string().optional(),
    bearer_token_file: z.string().optional(),
    basic_auth: upstreamBasicAuth.optional(),
    tls: upstreamTls.optional(),
    headers: z.record(z.string(), z.union([z.string(), strict({ value_file: z.string() })])).default({}),
    host: checked(hostHeaderProblem).optional(),
  };
  type UpstreamInput = {
    url: string; timeout: number; bearer_token?: string | undefined; bearer_token_file?: string | undefined;
    basic_auth?: { username: string; password: string } | undefined; tls?: UpstreamTlsConfig | undefined;
    headers: Record<string, string | { value_file: string }>; host?: string | undefined;
  };
  const toUpstream = (u: UpstreamInput, ctx: Ctx): UpstreamConfig => {
    if (u.bearer_token !== undefined && u.bearer_token_file !== undefined) {
      ctx.addIssue({ code: 'custom', message: ': has bearer_token and bearer_token_file; keep at most one' });
      return z.NEVER;
    }
    if (u.basic_auth !== undefined && (u.bearer_token !== undefined || u.bearer_token_file !== undefined)) {
      ctx.addIssue({ code: 'custom', message: ': has bearer_token and basic_auth; keep at most one upstream credential' });
      return z.NEVER;
    }
    if (u.tls !== undefined && !u.url.startsWith('https:')) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: ': is set but upstream.url is not https; write the URL as https://…' });
      return z.NEVER;
    }
    const token = resolveSecret(ctx, sc, 'bearer_token', u.bearer_token, u.bearer_token_file, tokenProblem);
    if (token === undefined && (u.bearer_token !== undefined || u.bearer_token_file !== undefined)) return z.NEVER;
    const headers: Record<string, string> = {};
    for (const [name, v] of Object.entries(u.headers)) {
      const np = upstreamHeaderNameProblem(name);
      if (np !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: np });
        continue;
      }
      const read = typeof v === 'string' ? { ok: true as const, value: v } : readSecretFile(v.value_file, sc.baseDir);
      const path = typeof v === 'string' ? ['headers', name] : ['headers', name, 'value_file'];
      const problem = read.ok ? headerValueProblem(read.value) : read.message.startsWith('is ') ? ` ${read.message}` : `: ${read.message}`;
      if (problem !== undefined || !read.ok) ctx.addIssue({ code: 'custom', path, message: problem ?? '' });
      else headers[name] = read.value;
    }
    return { url: u.url, timeout_ms: u.timeout, bearer_token: token, basic_auth: u.basic_auth, tls: u.tls, headers, host: u.host };
  };
  const upstream = strict(upstreamShape).transform(toUpstream).transform((u): Config['upstreams'] => ({ prometheus: u }));

  const endpointAccess = z.enum(['deny', 'unrestricted', 'allow']).default('deny');
  const alertmanager = strict({ ...upstreamShape, status: endpointAccess, receivers: endpointAccess })
    .transform((a, ctx) => ({ upstream: toUpstream(a, ctx), endpoints: { status: a.status, receivers: a.receivers } }))
    .optional();

  const remoteRead = strict({
    max_queries: positiveInt(1).default(DEFAULTS.remote_read_max_queries),
    max_decompressed_bytes: positiveInt(1024).default(DEFAULTS.remote_read_max_decompressed_bytes),
  }).prefault({});

  const enforce = strict({
    label: checked(labelNameProblem).default(DEFAULTS.enforce_label),
    mode: z.enum(['label', 'header', 'label+header']).default(DEFAULTS.enforce_mode),
    header: checked(headerNameProblem).default(DEFAULTS.enforce_header),
    select_param: checked(paramNameProblem).default(DEFAULTS.select_param),
    select_header: checked(headerNameProblem).default(DEFAULTS.select_header),
    reject_foreign_tenant: z.boolean().default(DEFAULTS.reject_foreign_tenant),
    allow_stats: z.boolean().default(false),
    allow_status_flags: z.boolean().default(false),
    all_tenants: explicitTenants.optional(),
    label_policy_header: z.boolean().default(DEFAULTS.label_policy_header),
  }).prefault({}).superRefine((e, ctx) => {
    const tenancyHeaders = new Set(['x-scope-orgid', 'thanos-tenant', 'x-prom-label-policy', e.header.toLowerCase()]);
    if (tenancyHeaders.has(e.select_header.toLowerCase())) {
      ctx.addIssue({
        code: 'custom', path: ['select_header'],
        message: `: ${JSON.stringify(e.select_header)} is a tenancy header that promfence strips or sets itself; use a header of its own like "X-Promfence-Tenant"`,
      });
    }
  });

  const promql = strict({
    syntax: z.enum(['auto', 'prometheus2', 'prometheus3']).default(DEFAULTS.syntax),
    max_query_bytes: positiveInt(1).default(DEFAULTS.max_query_bytes),
    cache_size: positiveInt(0).default(DEFAULTS.cache_size),
    cache_max_bytes: positiveInt(1024).default(DEFAULTS.cache_max_bytes),
    max_enforced_bytes: positiveInt(1024).default(DEFAULTS.max_enforced_bytes),
  }).prefault({});

  const bucket = strict({
    requests_per_second: z.number({ error: ': must be a number' }).positive({ error: ': must be greater than 0' }),
    burst: positiveInt(1).optional(),
  }).transform((b) => ({ requests_per_second: b.requests_per_second, burst: b.burst ?? Math.max(1, Math.ceil(b.requests_per_second)) }));

  const redis = strict({
    url: z.string().superRefine((v, ctx) => {
      const p = redisUrlProblem(v);
      if (p !== undefined) ctx.addIssue({ code: 'custom', message: p });
    }),
    on_error: z.enum(['allow', 'deny']).default('allow'),
    key_prefix: checked(keyPrefixProblem).default(DEFAULTS.redis_key_prefix),
    timeout: duration({ allowZero: false }).default(DEFAULTS.redis_timeout_ms),
  }).transform(({ timeout, ...r }) => ({ ...r, timeout_ms: timeout }));

  const limits = strict({
    max_body_bytes: positiveInt(1).default(DEFAULTS.max_body_bytes),
    max_match_params: positiveInt(1).default(DEFAULTS.max_match_params),
    max_filtered_response_bytes: positiveInt(1024).default(DEFAULTS.max_filtered_response_bytes),
    max_points: positiveInt(1).default(DEFAULTS.max_points),
    max_subquery_points: positiveInt(0).default(DEFAULTS.max_subquery_points),
    max_range: duration({ allowZero: true }).default(0),
    max_tenants: positiveInt(0).default(0),
    rate: bucket.optional(),
    tenant_rate: bucket.optional(),
    max_inflight_per_subject: positiveInt(0).default(0),
    store: z.enum(['memory', 'redis']).default('memory'),
    redis: redis.optional(),
  }).prefault({}).superRefine((l, ctx) => {
    if (l.store === 'redis' && l.redis === undefined) {
      ctx.addIssue({ code: 'custom', path: ['redis'], message: ' is required when limits.store is "redis"; add limits.redis.url (redis://host:6379)' });
    }
    if (l.store === 'memory' && l.redis !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['store'], message: ': is "memory" but limits.redis is set; write store: "redis" to share limits through Redis, or remove limits.redis' });
    }
  }).transform(({ max_range, ...l }): Config['limits'] => ({ ...l, max_range_ms: max_range, rate: l.rate, tenant_rate: l.tenant_rate, redis: l.redis }));

  const auth = strict({
    bearer_tokens: z.array(bearerEntry).default([]),
    basic_users: z.array(basicEntry).default([]),
    realm: checked(realmProblem).default(DEFAULTS.realm),
    basic_cache_ttl: duration({ allowZero: true }).default(DEFAULTS.basic_cache_ttl_ms),
    order: authOrderSchema.optional(),
    jwt: z.array(jwtIssuerSchema(sc)).default([]),
    jwt_cache_size: positiveInt(0).default(IDENTITY_DEFAULTS.jwt_cache_size),
    jwt_cache_max_bytes: positiveInt(1024).default(IDENTITY_DEFAULTS.jwt_cache_max_bytes),
    mtls: mtlsSchema().optional(),
    trusted_header: trustedHeaderSchema().optional(),
  }).prefault({}).transform((a, ctx): AuthDraft => {
    const seen = (list: ReadonlyArray<{ subject: string }>, listName: string): void => {
      const first = new Map<string, number>();
      list.forEach((e, i) => {
        const j = first.get(e.subject);
        if (j === undefined) first.set(e.subject, i);
        else ctx.addIssue({ code: 'custom', path: [listName, i, 'subject'], message: `: ${JSON.stringify(e.subject)} is already defined by auth.${listName}[${j}]; subjects must be unique` });
      });
    };
    seen(a.bearer_tokens, 'bearer_tokens');
    seen(a.basic_users, 'basic_users');
    const tokens = new Map<string, number>();
    a.bearer_tokens.forEach((e, i) => {
      const j = tokens.get(e.token_sha256);
      if (j === undefined) tokens.set(e.token_sha256, i);
      else ctx.addIssue({ code: 'custom', path: ['bearer_tokens', i], message: `: has the same token as auth.bearer_tokens[${j}]; every token must be unique (one token, one subject)` });
    });
    const providers: AuthProviderConfig[] = [];
    if (a.bearer_tokens.length > 0) providers.push({ kind: 'bearer_tokens', tokens: a.bearer_tokens });
    if (a.basic_users.length > 0) providers.push({ kind: 'basic', users: a.basic_users, cache_ttl_ms: a.basic_cache_ttl });
    if (a.jwt.length > 0) providers.push({ kind: 'jwt', issuers: finishIssuers(a.jwt, ctx), cache_size: a.jwt_cache_size, cache_max_bytes: a.jwt_cache_max_bytes });
    if (a.trusted_header !== undefined) providers.push(a.trusted_header);
    return { realm: a.realm, providers, order: a.order, mtls: a.mtls };
  });

  const access = strict({
    subjects: grantMap((k) => subjectProblem(k)).prefault({}),
    groups: grantMap(groupProblem).prefault({}),
    label_policies: strict({
      subjects: policySelectorMap((k) => subjectProblem(k), nullProto).prefault({}),
      groups: policySelectorMap(groupProblem, nullProto).prefault({}),
    }).prefault({}),
    trust_label_policy_header: z.array(checked((v) => subjectProblem(v))).default([]).transform((v) => [...new Set(v)]),
  }).prefault({});

  const params = strict({
    unknown: z.enum(['forward', 'drop']).default(DEFAULTS.unknown_params),
  }).prefault({});

  const log = strict({
    level: z.enum(['error', 'warn', 'info', 'debug']).default(DEFAULTS.log_level),
    audit: z.boolean().default(true),
    audit_file: z.string().min(1, { error: ' is empty; give a file path or remove the key' }).optional(),
  }).prefault({}).transform((l): Config['log'] => ({
    level: l.level,
    audit: l.audit,
    audit_file: l.audit_file === undefined ? undefined : isAbsolute(l.audit_file) ? l.audit_file : resolvePath(sc.baseDir, l.audit_file),
  }));

  return strict({ server, upstream, enforce, params, promql, limits, auth, access, log, alertmanager, remote_read: remoteRead }).superRefine((c, ctx) => {
    // A static tenant header would fight the one header modes set.
    const tenantHeader = c.enforce.header.toLowerCase();
    for (const name of Object.keys(c.upstream?.prometheus?.headers ?? {})) {
      if (c.enforce.mode !== 'label' && name.toLowerCase() === tenantHeader) {
        ctx.addIssue({ code: 'custom', path: ['upstream', 'headers', name], message: `: is the tenant header promfence sets in enforce.mode ${c.enforce.mode}; remove it` });
      }
    }
  }).transform(({ upstream: upstreams, alertmanager: am, auth: draft, access: a, ...rest }, ctx): Config => {
    const label_policies = resolveLabelPolicies(a.label_policies, a.trust_label_policy_header, rest.enforce, ctx);
    return {
      ...rest,
      access: { ...a, label_policies },
      auth: finishAuth(draft, rest.server.tls, ctx),
      upstreams: am === undefined ? upstreams : { ...upstreams, alertmanager: am.upstream },
      alertmanager: am?.endpoints,
    };
  });
}

/** Formats a zod issue path as a config key path: `auth.bearer_tokens[2].token`, `access.subjects["system:sa"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function typeName(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'string') return 'a string';
  return typeof v;
}

const EXPECTED: Record<string, string> = {
  string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false',
  array: 'a list', object: 'a mapping', record: 'a mapping',
};

/**
 * Turns zod issues into `config: <path><message>` lines. Needs issues parsed with
 * `reportInput: true` to say what type was found; never prints a string value found in the
 * input (it could be a secret).
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    let msg: string;
    switch (issue.code) {
      case 'invalid_type': {
        const found = (issue as { input?: unknown }).input;
        const expected = EXPECTED[issue.expected] ?? issue.expected;
        if (found === undefined) msg = ' is required';
        else if (issue.expected === 'int' && typeof found === 'number') msg = ': must be a whole number';
        else if (typeof found === 'number' && issue.expected === 'string') msg = `: must be ${expected}, not a number; quote it ("${String(found)}")`;
        else msg = `: must be ${expected}, not ${typeName(found)}`;
        break;
      }
      case 'invalid_value':
        msg = `: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      default:
        msg = issue.message.startsWith(':') || issue.message.startsWith(' ') ? issue.message : `: ${issue.message}`;
    }
    const path = formatPath(issue.path);
    lines.push(path === '' ? `config${msg}` : `config: ${path}${msg}`);
  }
  return lines;
}
