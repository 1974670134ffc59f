/**
 * The audit log: one JSON line per request (health probes excepted), as a request-finished
 * hook, to stdout or to its own file (`log.audit_file`):
 *
 * ```json
 * {"time":"…","level":"info","msg":"audit","request_id":"…","subject":"tom","auth_method":"bearer_tokens",
 *  "granted":["team-fruit","team-veggie"],"tenants":["team-fruit"],"route":"query","method":"POST",
 *  "query":"up","enforced_query":"up{tenant=\"team-fruit\"}","decision":"allowed","status":200,
 *  "upstream_status":200,"duration_ms":3.1}
 * ```
 *
 * It carries what the pipeline learned, never a credential: no header value, no token, no
 * password, no cookie; only the `query` and `match[]` parameters (as sent and as enforced) are
 * taken from the request.
 */
import { createWriteStream } from 'node:fs';
import { grantedTenants, type Grants, type TenantSet } from '../access/index.ts';
import type { Config } from '../config/types.ts';
import type { RequestFinishedHook } from './hooks.ts';
import { createLogger, type Logger } from './logger.ts';
import { decisionOf } from './metrics.ts';

/** Longest query or selector text written, characters; longer ones are cut and marked `…[cut, N chars]`. */
export const MAX_AUDIT_TEXT = 8192;
/** Most `match[]` selectors written per request (`match_count` gives the total). */
export const MAX_AUDIT_SELECTORS = 50;

/** Routes that are never audited (load-balancer and Kubernetes probes, several per second). */
const PROBE_ROUTES = new Set(['healthy', 'ready']);

function cut(text: string): string {
  return text.length <= MAX_AUDIT_TEXT ? text : `${text.slice(0, MAX_AUDIT_TEXT)}…[cut, ${text.length} chars]`;
}

function selectors(list: readonly string[] | undefined): string[] | undefined {
  return list?.slice(0, MAX_AUDIT_SELECTORS).map(cut);
}

function tenantsField(set: TenantSet | undefined): string | readonly string[] | undefined {
  if (set === undefined) return undefined;
  return set.kind === 'all' ? '*' : set.tenants;
}

/**
 * Creates the audit sink of `log`: a JSON-lines logger to `log.audit_file` (appended; the
 * directory must exist) or, without it, to stdout next to the other lines.
 *
 * @param log `config.log`
 * @returns the logger, or undefined when `log.audit` is false
 */
export function createAuditLogger(log: Config['log']): Logger | undefined {
  if (!log.audit) return undefined;
  if (log.audit_file === undefined) return createLogger('info');
  return createLogger('info', { stream: createWriteStream(log.audit_file, { flags: 'a' }) });
}

/**
 * The audit hook of one configuration (the granted set is resolved with its `access`).
 *
 * Fields: `request_id`; `subject`, `auth_method` (absent when authentication failed; then
 * `auth_failures` lists `{method, reason}`); `granted` (the subject's tenants before
 * narrowing: `*` or a list) and `tenants` (what the request ran with); `route` (route name;
 * absent before routing); `method`; `query` and `enforced_query`, or `match` and
 * `enforced_match` (with `match_count`); `decision` (`allowed`, `refused`, `denied`, as in
 * `promfence_requests_total`); `code` (promfence error code); `status`; `upstream_status`;
 * `duration_ms`; `aborted` when the client left early.
 *
 * @param logger the audit sink ({@link createAuditLogger}); lines are written at `info`
 * @param grants `config.access`
 */
export function auditHook(logger: Logger, grants: Grants): RequestFinishedHook {
  return function promfenceAudit(r) {
    const s = r.state;
    if (s.route !== undefined && PROBE_ROUTES.has(s.route)) return;
    const p = s.principal;
    let granted: TenantSet | undefined;
    if (p !== undefined) {
      try {
        granted = grantedTenants(p, grants);
      } catch {
        granted = undefined;
      }
    }
    const original = s.original;
    const enforced = s.enforced;
    logger.info('audit', {
      request_id: s.id,
      subject: p?.subject,
      auth_method: p?.method,
      auth_failures: p === undefined && s.authFailures.length > 0 ? s.authFailures.map((f) => ({ method: f.method, reason: f.reason })) : undefined,
      granted: tenantsField(granted),
      tenants: tenantsField(s.policy?.tenants),
      route: s.route,
      method: r.method,
      query: original?.query === undefined ? undefined : cut(original.query),
      enforced_query: enforced?.query === undefined ? undefined : cut(enforced.query),
      match: selectors(original?.match),
      enforced_match: selectors(enforced?.match),
      match_count: original?.match !== undefined && original.match.length > MAX_AUDIT_SELECTORS ? original.match.length : undefined,
      decision: decisionOf(s),
      code: s.errorCode,
      status: r.status,
      upstream_status: s.upstream?.status,
      duration_ms: Math.round(r.durationMs * 1000) / 1000,
      aborted: r.aborted ? true : undefined,
    });
  };
}
