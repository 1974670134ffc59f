/**
 * Human summary and warnings of a validated configuration (for `check-config` and startup logs).
 * Never includes a secret: tokens, hashes and the upstream credential are only counted.
 */
import { providerConfig, type Config } from './types.ts';
import { formatDurationMs } from './values.ts';
import { formatPath } from './schema.ts';
import { AccessError } from '../access/errors.ts';
import { principal, type AuthMethod } from '../access/principal.ts';
import { grantedTenants } from '../access/resolve.ts';
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
    }
  });
}

/**
 * Things that are valid but probably not intended. Returned, not thrown: an operator may
 * keep a grant for a subject that is added later.
 *
 * - an `access.subjects` entry no auth entry defines (the grant is unused);
 * - an auth subject with no `access.subjects` entry and no granted group (its requests get 403 `no_tenants`);
 * - an `access.groups` entry no auth entry carries;
 * - a tenant ID containing `*` other than the lone `"*"` (it is a literal ID, not a wildcard);
 * - a tenant list holding `"*"` and other tenants (the others are redundant);
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
  lines.push(`upstream: ${upstream.url} (timeout ${formatDurationMs(upstream.timeout_ms)}, ${upstream.bearer_token ? 'sends its own bearer token' : 'no upstream credential'})`);
  const headerPart = enforce.mode === 'label' ? '' : `, header ${enforce.header}`;
  lines.push(`enforce: label "${enforce.label}", mode ${enforce.mode}${headerPart}; narrowing via ?${enforce.select_param}= or ${enforce.select_header}; foreign tenant matchers ${enforce.reject_foreign_tenant ? 'rejected (403)' : 'allowed (empty result)'}`);
  lines.push(`promql: syntax ${promql.syntax}, max query ${promql.max_query_bytes} bytes, cache ${promql.cache_size === 0 ? 'disabled' : `${promql.cache_size} entries, ${promql.cache_max_bytes} bytes`}`);
  const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`;
  const basicCache = basic === undefined ? '' : `, basic cache ${basic.cache_ttl_ms === 0 ? 'disabled' : formatDurationMs(basic.cache_ttl_ms)}`;
  lines.push(`auth: ${n(bearer?.tokens.length ?? 0, 'bearer token', 'bearer tokens')}, ${n(basic?.users.length ?? 0, 'basic user', 'basic users')} (order ${auth.providers.map((p) => p.kind).join(', ')}; realm "${auth.realm}"${basicCache})`);
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
