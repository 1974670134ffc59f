/**
 * Configuration of label-based access policies (issue #12): the schema of
 * `access.label_policies` and the checks that need other sections (the tenant label of
 * `enforce.label`, the mode of `enforce.mode`). Error messages name the key path, like
 * `config: access.label_policies.subjects.lisa[1] has no matcher on the tenant label "tenant"; …`.
 */
import { z } from 'zod';
import { parseMatcherSet, parsePolicySelector, type LabelPolicies } from '../access/label-policy.ts';
import type { MatcherSet } from '../access/policy.ts';
import type { Config } from './types.ts';

type Problem = (v: string) => string | undefined;

/** The raw form: name → selector texts, syntax-checked (the tenant label is checked later). */
export type RawLabelPolicies = { subjects: Record<string, string[]>; groups: Record<string, string[]> };

/**
 * One map of `access.label_policies` (`subjects` or `groups`): name → non-empty list of
 * selectors without a metric name, each syntax-checked with `parseMatcherSet`; names checked
 * with `keyProblem`; a null-prototype record out (`nullProto`, the main schema's).
 */
export function policySelectorMap(keyProblem: Problem, nullProto: <V>(r: Record<string, V>) => Record<string, V>) {
  const selector = z.string().superRefine((v, ctx) => {
    const r = parseMatcherSet(v);
    if ('problem' in r) ctx.addIssue({ code: 'custom', message: ` ${r.problem}` });
  });
  return z.record(z.string(), z.array(selector).superRefine((v, ctx) => {
    if (v.length === 0) ctx.addIssue({ code: 'custom', message: ' is empty; list at least one selector like \'{tenant="a", job="api"}\', or remove the entry' });
  })).transform((rec, ctx) => {
    for (const key of Object.keys(rec)) {
      const p = keyProblem(key);
      if (p !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: p });
    }
    return nullProto(rec);
  });
}

/**
 * Checks what needs `enforce` and builds the parsed policies: every selector names its tenants
 * with exactly one matcher on `enforce.label`; `enforce.label_policy_header` needs a header
 * mode, and in `header` mode the header `X-Scope-OrgID` (only Mimir/GEM read it); in `enforce.mode: header` without `label_policy_header`, no selector may restrict
 * other labels and no subject may be trusted for `X-Prom-Label-Policy` (the upstream would
 * not enforce them: a leak). Issues are added to `ctx` at the key's path.
 */
export function resolveLabelPolicies(raw: RawLabelPolicies, trusted: readonly string[], enforce: Config['enforce'], ctx: z.RefinementCtx): LabelPolicies {
  const headerOnly = enforce.mode === 'header' && !enforce.label_policy_header;
  const build = (kind: 'subjects' | 'groups'): Record<string, MatcherSet[]> => {
    const out = Object.create(null) as Record<string, MatcherSet[]>;
    for (const [name, texts] of Object.entries(raw[kind])) {
      out[name] = texts.flatMap((text, i) => {
        const path = ['access', 'label_policies', kind, name, i];
        const r = parsePolicySelector(text, enforce.label);
        if ('problem' in r) {
          ctx.addIssue({ code: 'custom', path, message: ` ${r.problem}` });
          return [];
        }
        if (headerOnly && r.set.length > 1) {
          ctx.addIssue({ code: 'custom', path, message: ' restricts labels besides the tenant, which enforce.mode: header cannot enforce; set enforce.label_policy_header: true (Mimir/GEM with label access control) or use enforce.mode label or label+header' });
        }
        return [r.set];
      });
    }
    return out;
  };
  const policies = { subjects: build('subjects'), groups: build('groups') };
  if (enforce.label_policy_header && enforce.mode === 'label') {
    ctx.addIssue({ code: 'custom', path: ['enforce', 'label_policy_header'], message: ': needs enforce.mode header or label+header (it sends the label policy to Mimir/GEM next to the tenant header)' });
  }
  if (enforce.label_policy_header && enforce.mode === 'header' && enforce.header.toLowerCase() !== 'x-scope-orgid') {
    ctx.addIssue({ code: 'custom', path: ['enforce', 'label_policy_header'], message: `: in enforce.mode header it needs enforce.header X-Scope-OrgID (only Mimir/GEM read X-Prom-Label-Policy; behind ${enforce.header} label restrictions would not be enforced); use enforce.mode label+header` });
  }
  if (headerOnly && trusted.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['access', 'trust_label_policy_header'], message: ': X-Prom-Label-Policy restricts labels, which enforce.mode: header cannot enforce; set enforce.label_policy_header: true or use enforce.mode label or label+header' });
  }
  return policies;
}
