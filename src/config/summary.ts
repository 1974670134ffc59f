/**
 * Human summary and warnings of a validated configuration (for `check-config` and startup logs).
 * Never includes a secret: tokens, hashes and the upstream credential are only counted.
 */
import type { Config } from './types.ts';
import { formatDurationMs } from './values.ts';
import { formatPath } from './schema.ts';
import { grantedTenants } from '../tenancy/resolve.ts';
import { HttpError } from '../http/errors.ts';

interface AuthSubject {
  subject: string;
  groups: readonly string[];
  where: string;
  method: 'bearer' | 'basic';
}

function authSubjects(config: Config): AuthSubject[] {
  return [
    ...config.auth.bearer_tokens.map((e, i) => ({ subject: e.subject, groups: e.groups, where: `auth.bearer_tokens[${i}]`, method: 'bearer' as const })),
    ...config.auth.basic_users.map((e, i) => ({ subject: e.subject, groups: e.groups, where: `auth.basic_users[${i}]`, method: 'basic' as const })),
  ];
}

/**
 * Things that are valid but probably not intended. Returned, not thrown: an operator may
 * keep a grant for a subject that is added later.
 *
 * - an `access.subjects` entry no auth entry defines (the grant is unused);
 * - an auth subject with no `access.subjects` entry and no granted group (its requests get 403 `no_tenants`);
 * - an `access.groups` entry no auth entry carries;
 * - a tenant ID containing `*` other than the lone `"*"` (it is a literal ID, not a wildcard);
 * - a tenant list holding `"*"` and other tenants (the others are redundant).
 *
 * @returns one human sentence per warning (empty when none)
 */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const subjects = authSubjects(config);
  const defined = new Set(subjects.map((s) => s.subject));
  const groups = new Set(subjects.flatMap((s) => s.groups));
  const { access } = config;

  for (const name of Object.keys(access.subjects)) {
    if (!defined.has(name)) {
      warnings.push(`${formatPath(['access', 'subjects', name])}: no auth entry defines subject ${JSON.stringify(name)} (auth.bearer_tokens or auth.basic_users); the grant is unused`);
    }
  }
  for (const name of Object.keys(access.groups)) {
    if (!groups.has(name)) {
      warnings.push(`${formatPath(['access', 'groups', name])}: no auth entry has group ${JSON.stringify(name)}; the grant is unused`);
    }
  }
  const reported = new Set<string>();
  for (const s of subjects) {
    if (reported.has(s.subject)) continue;
    const granted = Object.hasOwn(access.subjects, s.subject) || s.groups.some((g) => Object.hasOwn(access.groups, g));
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
  const { server, upstream, enforce, promql, auth } = config;
  lines.push(`listen: ${server.listen}` + (server.internal_listen ? ` (internal: ${server.internal_listen})` : ' (no internal listener)'));
  lines.push(`upstream: ${upstream.url} (timeout ${formatDurationMs(upstream.timeout_ms)}, ${upstream.bearer_token ? 'sends its own bearer token' : 'no upstream credential'})`);
  const headerPart = enforce.mode === 'label' ? '' : `, header ${enforce.header}`;
  lines.push(`enforce: label "${enforce.label}", mode ${enforce.mode}${headerPart}; narrowing via ?${enforce.select_param}= or ${enforce.select_header}; foreign tenant matchers ${enforce.reject_foreign_tenant ? 'rejected (403)' : 'allowed (empty result)'}`);
  lines.push(`promql: syntax ${promql.syntax}, max query ${promql.max_query_bytes} bytes, cache ${promql.cache_size === 0 ? 'disabled' : `${promql.cache_size} entries`}`);
  const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`;
  lines.push(`auth: ${n(auth.bearer_tokens.length, 'bearer token', 'bearer tokens')}, ${n(auth.basic_users.length, 'basic user', 'basic users')} (realm "${auth.realm}", basic cache ${auth.basic_cache_ttl_ms === 0 ? 'disabled' : formatDurationMs(auth.basic_cache_ttl_ms)})`);
  lines.push('subjects:');
  const seen = new Set<string>();
  for (const s of authSubjects(config)) {
    const methods = [
      ...(config.auth.bearer_tokens.some((e) => e.subject === s.subject) ? ['bearer'] : []),
      ...(config.auth.basic_users.some((e) => e.subject === s.subject) ? ['basic'] : []),
    ];
    if (seen.has(s.subject)) continue;
    seen.add(s.subject);
    const allGroups = [...new Set(authSubjects(config).filter((x) => x.subject === s.subject).flatMap((x) => x.groups))];
    let tenants: string;
    try {
      const set = grantedTenants({ subject: s.subject, groups: allGroups, method: s.method }, config.access);
      tenants = set.kind === 'all' ? 'ALL tenants (unrestricted)' : set.tenants.join(', ');
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      tenants = 'NO tenants (requests get 403 no_tenants)';
    }
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
