/**
 * Human summary and warnings of a validated configuration (for `check-config` and startup logs).
 * Never includes a secret: tokens, hashes and the upstream credential are only counted.
 */
import { providerConfig, type Config } from './types.ts';
import { redisEndpoint } from './ops-values.ts';
import { formatDurationMs } from './values.ts';
import { formatPath } from './schema.ts';
import { AccessError } from '../access/errors.ts';
import { principal, type AuthMethod } from '../access/principal.ts';
import { grantedTenants } from '../access/resolve.ts';
import { hasDynamicSubjects, identitySummaryLines, identityWarnings } from './identity-summary.ts';
import { combinePolicy } from '../access/label-policy.ts';
import { policySelectors } from '../enforce/enforce.ts';

interface AuthSubject {
  subject: string;
  groups: readonly string[];
  where: string;
  method: AuthMethod;
}

function authSubjects(config: Config): AuthSubject[] {
  return config.auth.providers.flatMap((pc): AuthSubject[] => {
    switch (pc.kind) {
      case 'bearer_tokens':
        return pc.tokens.map((e, i) => ({ subject: e.subject, groups: e.groups, where: `auth.bearer_tokens[${i}]`, method: pc.kind }));
      case 'basic':
        return pc.users.map((e, i) => ({ subject: e.subject, groups: e.groups, where: `auth.basic_users[${i}]`, method: pc.kind }));
      default:
        return []; // JWT, certificate and header subjects are known only per request
    }
  });
}

/**
 * Things that are valid but probably not intended. Returned, not thrown: an operator may
 * keep a grant for a subject that is added later.
 *
 * - an `access.subjects` entry no auth entry defines (the grant is unused; not reported
 *   when JWTs, client certificates or proxy headers can bring any subject);
 * - an auth subject with no `access.subjects` entry and no granted group (its requests get 403 `no_tenants`);
 * - an `access.groups` entry no auth entry carries;
 * - a tenant ID containing `*` other than the lone `"*"` (it is a literal ID, not a wildcard);
 * - a tenant list holding `"*"` and other tenants (the others are redundant);
 * - the identity warnings of ./identity-summary.ts (short HMAC secrets, keys over plain
 *   HTTP, a server certificate about to expire).
 * - an `access.label_policies` entry or an `access.trust_label_policy_header` subject no auth entry defines.
 *
 * @returns one human sentence per warning (empty when none)
 */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const subjects = authSubjects(config);
  const defined = new Set(subjects.map((s) => s.subject));
  const groups = new Set(subjects.flatMap((s) => s.groups));
  const { access } = config;
  const dynamic = hasDynamicSubjects(config);

  for (const name of Object.keys(access.subjects)) {
    if (!dynamic && !defined.has(name)) {
      warnings.push(`${formatPath(['access', 'subjects', name])}: no auth entry defines subject ${JSON.stringify(name)} (auth.bearer_tokens or auth.basic_users); the grant is unused`);
    }
  }
  for (const name of Object.keys(access.groups)) {
    if (!dynamic && !groups.has(name)) {
      warnings.push(`${formatPath(['access', 'groups', name])}: no auth entry has group ${JSON.stringify(name)}; the grant is unused`);
    }
  }
  for (const name of Object.keys(access.label_policies.subjects)) {
    if (!defined.has(name)) warnings.push(`${formatPath(['access', 'label_policies', 'subjects', name])}: no auth entry defines subject ${JSON.stringify(name)}; the policy is unused`);
  }
  for (const name of Object.keys(access.label_policies.groups)) {
    if (!groups.has(name)) warnings.push(`${formatPath(['access', 'label_policies', 'groups', name])}: no auth entry has group ${JSON.stringify(name)}; the policy is unused`);
  }
  access.trust_label_policy_header.forEach((name, i) => {
    if (!defined.has(name)) warnings.push(`${formatPath(['access', 'trust_label_policy_header', i])}: no auth entry defines subject ${JSON.stringify(name)}; nobody sends a trusted X-Prom-Label-Policy`);
  });
  const reported = new Set<string>();
  for (const s of subjects) {
    if (reported.has(s.subject)) continue;
    const granted = Object.hasOwn(access.subjects, s.subject) || s.groups.some((g) => Object.hasOwn(access.groups, g))
      || Object.hasOwn(access.label_policies.subjects, s.subject) || s.groups.some((g) => Object.hasOwn(access.label_policies.groups, g));
    if (!granted) {
      reported.add(s.subject);
      warnings.push(`${s.where}: subject ${JSON.stringify(s.subject)} has no tenants (no access.subjects entry and no group in access.groups); its requests will get 403 no_tenants`);
    }
  }
  for (const [kind, rec] of [['subjects', access.subjects], ['groups', access.groups]] as const) {
    for (const [name, tenants] of Object.entries(rec)) {
      tenants.forEach((t, i) => {
        if (t !== '*' && t.includes('*')) {
          warnings.push(`${formatPath(['access', kind, name, i])}: tenant ${JSON.stringify(t)} contains "*" but is a literal tenant ID, not a wildcard; only a lone "*" means all tenants`);
        }
      });
      if (tenants.includes('*') && tenants.length > 1) {
        warnings.push(`${formatPath(['access', kind, name])}: lists "*" (all tenants) and other tenants; the others are redundant`);
      }
    }
  }
  warnings.push(...identityWarnings(config));
  if (config.upstreams.prometheus.tls?.insecure_skip_verify === true) {
    warnings.push('upstream.tls.insecure_skip_verify: the upstream\'s certificate is not verified; anyone on the path can read and answer queries');
  }
  return warnings;
}

/**
 * A human summary, one line per array item: listen addresses, upstream (URL, timeout, whether
 * an upstream credential is set), enforcement, PromQL syntax, credential counts, every
 * authenticated subject with its effective tenants (`*` shown as "ALL tenants (unrestricted)"),
 * and the warnings of {@link configWarnings}.
 *
 * @example summarizeConfig(config) // → ['listen: 127.0.0.1:9095', 'upstream: http://127.0.0.1:9090 (timeout 2m, no upstream credential)', …]
 */
export function summarizeConfig(config: Config): string[] {
  const lines: string[] = [];
  const { server, enforce, promql, auth } = config;
  const upstream = config.upstreams.prometheus;
  const bearer = providerConfig(auth, 'bearer_tokens');
  const basic = providerConfig(auth, 'basic');
  lines.push(`listen: ${server.listen}` + (server.internal_listen ? ` (internal: ${server.internal_listen})` : ' (no internal listener)'));
  const credential = upstream.bearer_token ? 'sends its own bearer token' : upstream.basic_auth ? 'sends basic credentials' : 'no upstream credential';
  const extras = [
    upstream.tls ? `TLS${upstream.tls.ca ? ' with its own CA' : ''}${upstream.tls.cert ? ', client certificate' : ''}` : '',
    Object.keys(upstream.headers ?? {}).length > 0 ? `headers ${Object.keys(upstream.headers ?? {}).join(', ')}` : '',
    upstream.host ? `Host ${upstream.host}` : '',
  ].filter((x) => x !== '');
  lines.push(`upstream: ${upstream.url} (timeout ${formatDurationMs(upstream.timeout_ms)}, ${credential}${extras.length > 0 ? `; ${extras.join('; ')}` : ''})`);
  if (server.path_prefix) lines.push(`path prefix: ${server.path_prefix} (API at ${server.path_prefix}/api/v1/…)`);
  for (const l of server.listeners ?? []) lines.push(`listener: ${l.listen} -> tenants ${l.tenants.join(', ')}`);
  const am = config.upstreams.alertmanager;
  if (am !== undefined) {
    lines.push(`alertmanager: ${am.url} (timeout ${formatDurationMs(am.timeout_ms)}, ${am.bearer_token ? 'sends its own bearer token' : am.basic_auth ? 'sends basic credentials' : 'no upstream credential'}; status ${config.alertmanager?.status ?? 'deny'}, receivers ${config.alertmanager?.receivers ?? 'deny'})`);
  }
  const headerPart = enforce.mode === 'label' ? '' : `, header ${enforce.header}`;
  lines.push(`enforce: label "${enforce.label}", mode ${enforce.mode}${headerPart}; narrowing via ?${enforce.select_param}= or ${enforce.select_header}; foreign tenant matchers ${enforce.reject_foreign_tenant ? 'rejected (403)' : 'allowed (empty result)'}`);
  lines.push(`promql: syntax ${promql.syntax}, max query ${promql.max_query_bytes} bytes, cache ${promql.cache_size === 0 ? 'disabled' : `${promql.cache_size} entries, ${promql.cache_max_bytes} bytes`}`);
  const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`;
  lines.push(`limits: ${describeLimits(config)}`);
  const basicCache = basic === undefined ? '' : `, basic cache ${basic.cache_ttl_ms === 0 ? 'disabled' : formatDurationMs(basic.cache_ttl_ms)}`;
  lines.push(`auth: ${n(bearer?.tokens.length ?? 0, 'bearer token', 'bearer tokens')}, ${n(basic?.users.length ?? 0, 'basic user', 'basic users')} (order ${auth.providers.map((p) => p.kind).join(', ')}; realm "${auth.realm}"${basicCache})`);
  lines.push(...identitySummaryLines(config));
  lines.push('subjects:');
  const seen = new Set<string>();
  for (const s of authSubjects(config)) {
    const methods = [...new Set(authSubjects(config).filter((x) => x.subject === s.subject).map((x) => (x.method === 'bearer_tokens' ? 'bearer' : x.method)))];
    if (seen.has(s.subject)) continue;
    seen.add(s.subject);
    const allGroups = [...new Set(authSubjects(config).filter((x) => x.subject === s.subject).flatMap((x) => x.groups))];
    let tenants: string;
    try {
      const set = grantedTenants(principal(s.subject, s.method, { groups: allGroups }), config.access);
      tenants = set.kind === 'all' ? 'ALL tenants (unrestricted)' : set.tenants.join(', ');
    } catch (err) {
      if (!(err instanceof AccessError)) throw err;
      tenants = 'NO tenants (requests get 403 no_tenants)';
    }
    const selectors = [s.subject].flatMap((x) => (Object.hasOwn(config.access.label_policies.subjects, x) ? config.access.label_policies.subjects[x] ?? [] : []))
      .concat(allGroups.flatMap((g) => (Object.hasOwn(config.access.label_policies.groups, g) ? config.access.label_policies.groups[g] ?? [] : [])));
    if (selectors.length > 0) {
      const policy = policySelectors(combinePolicy(config.enforce.label, undefined, selectors));
      tenants = tenants.startsWith('NO tenants') ? `label policy ${policy.join(' or ')}` : `${tenants} + label policy ${policy.join(' or ')}`;
    }
    if (config.access.trust_label_policy_header.includes(s.subject)) tenants += ' (X-Prom-Label-Policy trusted)';
    const groupPart = allGroups.length > 0 ? `; groups: ${allGroups.join(', ')}` : '';
    lines.push(`  ${s.subject} (${methods.join('+')}${groupPart}) -> ${tenants}`);
  }
  const warnings = configWarnings(config);
  if (warnings.length > 0) {
    lines.push(`warnings (${warnings.length}):`);
    for (const w of warnings) lines.push(`  - ${w}`);
  }
  return lines;
}

/** One line of `limits`: range and tenant caps, rate and in-flight limits, and where they are kept (never the Redis URL's credentials). */
function describeLimits(config: Config): string {
  const l = config.limits;
  const bucket = (r: { requests_per_second: number; burst: number } | undefined, what: string) => (r === undefined ? `no ${what} rate limit` : `${what} rate ${r.requests_per_second}/s burst ${r.burst}`);
  const parts = [
    `max ${l.max_points} points per series`,
    (l.max_subquery_points ?? 0) > 0 ? `max ${l.max_subquery_points} subquery steps per series` : 'no subquery limit',
    l.max_range_ms > 0 ? `max range ${formatDurationMs(l.max_range_ms)}` : 'no range limit',
    l.max_tenants > 0 ? `max ${l.max_tenants} tenants per request` : 'no tenant count limit',
    bucket(l.rate, 'subject'),
    bucket(l.tenant_rate, 'tenant'),
    l.max_inflight_per_subject > 0 ? `max ${l.max_inflight_per_subject} in flight per subject` : 'no in-flight limit',
  ];
  const store = l.store === 'redis' && l.redis !== undefined ? `redis ${redisEndpoint(l.redis.url)} (on error: ${l.redis.on_error})` : 'memory';
  return `${parts.join(', ')}; store ${store}`;
}
