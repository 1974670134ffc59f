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
import type { AuthProviderConfig, BasicUserEntry, BearerTokenEntry, Config, UpstreamConfig } from './types.ts';
import { DEFAULT_MAX_QUERY_BYTES } from '../promql/parse.ts';
import { DEFAULT_CACHE_BYTES, DEFAULT_CACHE_ENTRIES } from '../enforce/engine.ts';
import { readSecretFile } from './secrets.ts';
import {
  bcryptHashProblem, groupProblem, headerNameProblem, labelNameProblem, listenProblem, paramNameProblem,
  parseDurationMs, parseUpstreamUrl, realmProblem, sha256HexProblem, subjectProblem, tokenProblem,
} from './values.ts';
import { tenantIdProblem } from '../access/tenant-id.ts';
import { DEFAULT_MAX_ENFORCED_BYTES } from '../enforce/enforce.ts';
import { policySelectorMap, resolveLabelPolicies } from './label-policies.ts';

/** Default values (units: ms for durations, bytes for sizes), as documented in ./types.ts. */
export const DEFAULTS = Object.freeze({
  listen: '127.0.0.1:9095',
  max_header_bytes: 1_048_576,
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
});

/** What the schema needs from outside: where `_file` paths are resolved. */
export interface SchemaContext {
  /** Directory `_file` paths are relative to (the config file's directory). */
  baseDir: string;
}

type Ctx = z.RefinementCtx;
type Problem = (v: string) => string | undefined;

/** A string checked by a `…Problem` function. */
function checked(problem: Problem) {
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
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? unknownKeysMessage((iss as { keys: string[] }).keys, known) : undefined),
  });
}

const positiveInt = (min: number) =>
  z.number().int({ error: ': must be a whole number' }).min(min, { error: `: must be at least ${min}` });

/** A duration (Prometheus string or seconds), output in ms. */
function duration(opts: { allowZero: boolean }) {
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

/** A list of tenant IDs (non-empty; lone "*" = all). */
const tenantListSchema = z
  .array(z.string().superRefine((v, ctx) => {
    const p = tenantIdProblem(v, true);
    if (p !== undefined) ctx.addIssue({ code: 'custom', message: `: tenant ${JSON.stringify(v)} ${p}` });
  }))
  .superRefine((v, ctx) => {
    if (v.length === 0) ctx.addIssue({ code: 'custom', message: ' is empty; list at least one tenant ("*" = all tenants), or remove the entry' });
  })
  .transform((v) => [...new Set(v)]);

const groupsSchema = z.array(checked(groupProblem)).transform((v) => [...new Set(v)]);

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
function resolveSecret(
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

function exactlyOne(ctx: Ctx, entry: Record<string, unknown>, keys: readonly string[]): string | undefined {
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
  }).prefault({}).transform((s): Config['server'] => ({
    listen: s.listen,
    internal_listen: s.internal_listen,
    max_header_bytes: s.max_header_bytes,
  }));

  const upstream = strict({
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
  }).transform((u, ctx): UpstreamConfig => {
    if (u.bearer_token !== undefined && u.bearer_token_file !== undefined) {
      ctx.addIssue({ code: 'custom', message: ': has bearer_token and bearer_token_file; keep at most one' });
      return z.NEVER;
    }
    const token = resolveSecret(ctx, sc, 'bearer_token', u.bearer_token, u.bearer_token_file, tokenProblem);
    if (token === undefined && (u.bearer_token !== undefined || u.bearer_token_file !== undefined)) return z.NEVER;
    return { url: u.url, timeout_ms: u.timeout, bearer_token: token };
  }).transform((u): Config['upstreams'] => ({ prometheus: u }));

  const enforce = strict({
    label: checked(labelNameProblem).default(DEFAULTS.enforce_label),
    mode: z.enum(['label', 'header', 'label+header']).default(DEFAULTS.enforce_mode),
    header: checked(headerNameProblem).default(DEFAULTS.enforce_header),
    select_param: checked(paramNameProblem).default(DEFAULTS.select_param),
    select_header: checked(headerNameProblem).default(DEFAULTS.select_header),
    reject_foreign_tenant: z.boolean().default(DEFAULTS.reject_foreign_tenant),
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

  const limits = strict({
    max_body_bytes: positiveInt(1).default(DEFAULTS.max_body_bytes),
    max_match_params: positiveInt(1).default(DEFAULTS.max_match_params),
    max_filtered_response_bytes: positiveInt(1024).default(DEFAULTS.max_filtered_response_bytes),
  }).prefault({});

  const auth = strict({
    bearer_tokens: z.array(bearerEntry).default([]),
    basic_users: z.array(basicEntry).default([]),
    realm: checked(realmProblem).default(DEFAULTS.realm),
    basic_cache_ttl: duration({ allowZero: true }).default(DEFAULTS.basic_cache_ttl_ms),
  }).prefault({}).transform((a, ctx): Config['auth'] => {
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
    if (a.bearer_tokens.length === 0 && a.basic_users.length === 0) {
      ctx.addIssue({ code: 'custom', message: ': no credentials are configured, so every request would be refused; add auth.bearer_tokens or auth.basic_users' });
    }
    const providers: AuthProviderConfig[] = [];
    if (a.bearer_tokens.length > 0) providers.push({ kind: 'bearer_tokens', tokens: a.bearer_tokens });
    if (a.basic_users.length > 0) providers.push({ kind: 'basic', users: a.basic_users, cache_ttl_ms: a.basic_cache_ttl });
    return { realm: a.realm, providers };
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

  const log = strict({
    level: z.enum(['error', 'warn', 'info', 'debug']).default(DEFAULTS.log_level),
  }).prefault({});

  return strict({ server, upstream, enforce, promql, limits, auth, access, log }).transform(({ upstream: upstreams, access: a, ...rest }, ctx): Config => {
    const label_policies = resolveLabelPolicies(a.label_policies, a.trust_label_policy_header, rest.enforce, ctx);
    return { ...rest, access: { ...a, label_policies }, upstreams };
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
