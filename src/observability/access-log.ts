/**
 * The access log: one line per request, as a request-finished hook (./hooks.ts):
 * `{"msg":"request","request_id","subject","tenants","route","method","status","duration_ms","code"?,"aborted"?}`.
 * It never carries a credential, a header value or a query: only what the pipeline learned.
 */
import { describeTenants } from '../access/tenants.ts';
import type { RequestFinishedHook } from './hooks.ts';
import type { Logger } from './logger.ts';

/**
 * The access-log hook.
 *
 * Fields: `subject` (absent before authentication), `tenants` (`*` or `a,b`; absent when not
 * resolved), `route` (route table name, `healthy`/`ready` for probes; absent for unknown paths), `status`
 * (499 when the client went away before a response was sent, with `aborted: true`),
 * `duration_ms` (float, ms, 3 decimals), `code` (promfence error code, when one was sent).
 *
 * @param logger lines are written at `info`
 */
export function accessLogHook(logger: Logger): RequestFinishedHook {
  return function promfenceAccessLog(r) {
    if (!logger.isEnabled('info')) return;
    const s = r.state;
    logger.info('request', {
      request_id: s.id,
      subject: s.principal?.subject,
      tenants: s.policy ? describeTenants(s.policy.tenants) : undefined,
      route: s.route,
      method: r.method,
      status: r.status,
      duration_ms: Math.round(r.durationMs * 1000) / 1000,
      code: s.errorCode,
      aborted: r.aborted ? true : undefined,
    });
  };
}
