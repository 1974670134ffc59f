/**
 * One access line per request, written when the response finishes or the connection
 * closes (whichever comes first):
 * `{"msg":"request","request_id","subject","tenants","route","method","status","duration_ms","code"?}`.
 * It never carries a credential, a header value or a query: only what the pipeline learned.
 */
import type { RequestHandler } from 'express';
import type winston from 'winston';
import { describeTenants } from '../enforce/tenants.ts';
import { ctx } from '../http/context.ts';

/**
 * Installs the access log hook on every request.
 *
 * Fields: `subject` (absent before authentication), `tenants` (`*` or `a,b`; absent when not
 * resolved), `route` (route table name; absent for probes and unknown paths), `status`
 * (499 when the client went away before a response was sent, with `aborted: true`),
 * `duration_ms` (float, ms), `code` (promfence error code, when one was sent).
 *
 * @param logger the process logger; lines are written at `info`
 */
export function accessLog(logger: winston.Logger): RequestHandler {
  return function promfenceAccessLog(req, res, next) {
    const c = ctx(res);
    let logged = false;
    const write = () => {
      if (logged) return;
      logged = true;
      const aborted = !res.writableFinished;
      logger.info('request', {
        request_id: c.id,
        subject: c.principal?.subject,
        tenants: c.tenants ? describeTenants(c.tenants) : undefined,
        route: c.route,
        method: req.method,
        status: aborted && !res.headersSent ? 499 : res.statusCode,
        duration_ms: Math.round((performance.now() - c.startedAt) * 1000) / 1000,
        code: c.errorCode,
        aborted: aborted ? true : undefined,
      });
    };
    res.once('finish', write);
    res.once('close', write);
    return next();
  };
}
