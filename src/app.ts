/**
 * The gateway's Express application: the one place the middleware order is written.
 *
 * ```
 * request id → access log → /-/healthy, /-/ready (no auth) → authenticate
 *   → route table (allow-list, exact canonical paths) → read params (URL + form body, Go semantics)
 *   → resolve tenants (grant, then narrowing) → enforce (PromQL / match[] / tenant header)
 *   → upstream proxy → [nothing else: a request falling through is a 500]
 * errors anywhere → one JSON envelope (src/http/error-handler.ts)
 * ```
 */
import express from 'express';
import type { RequestHandler } from 'express';
import type winston from 'winston';
import { createAuthMiddleware } from './auth/middleware.ts';
import type { Config } from './config/types.ts';
import { ctx } from './http/context.ts';
import { createErrorHandler } from './http/error-handler.ts';
import { HttpError } from './http/errors.ts';
import { healthProbes } from './http/health.ts';
import { requestId } from './http/request-id.ts';
import { accessLog } from './observability/access-log.ts';
import { createLogger } from './observability/logger.ts';
import { defaultEnforcer, enforceRequest, readRequestParams, resolveTenants, routeTable, type Enforcer, type Tenancy } from './routes/pipeline.ts';
import * as tenancyModule from './tenancy/index.ts';
import { createUpstreamProxy } from './upstream/proxy.ts';
import { createSyntaxResolver } from './upstream/syntax.ts';

/** Replaceable collaborators of {@link createApp} (tests inject fakes; production uses none). */
export interface AppDeps {
  /** Default: `createLogger(config.log.level)`. */
  logger?: winston.Logger;
  /** Authentication middleware. Default: `createAuthMiddleware(config, logger)` (src/auth). */
  authenticate?: RequestHandler;
  /** Tenant resolution. Default: src/tenancy. */
  tenancy?: Tenancy;
  /** PromQL engine. Default: src/enforce (with its cache of `promql.cache_size` entries). */
  enforcer?: Enforcer;
  /** fetch used by the `promql.syntax: auto` buildinfo probe. Default: global fetch. */
  fetch?: typeof fetch;
  /** Clock in ms for the probe's retry delay. Default: Date.now. */
  now?: () => number;
}

const closers = new WeakMap<express.Express, () => void>();

/**
 * Builds the gateway application for a validated configuration.
 *
 * @param config the validated, defaulted configuration (src/config/types.ts)
 * @param deps optional collaborators (see {@link AppDeps})
 * @returns an Express app to hand to `http.createServer`; release its upstream sockets with
 *   {@link closeApp}
 * @throws TypeError when `upstream.url` is not an http(s) URL
 * @example const server = http.createServer(createApp(config)).listen(9095)
 */
export function createApp(config: Config, deps: AppDeps = {}): express.Express {
  const logger = deps.logger ?? createLogger(config.log.level);
  const proxy = createUpstreamProxy(config, logger);
  const syntax = createSyntaxResolver(config, { logger, ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.now ? { now: deps.now } : {}) });
  const enforcer = deps.enforcer ?? defaultEnforcer(config.promql.cache_size);
  const tenancy = deps.tenancy ?? tenancyModule;
  const setCode = (res: express.Response, code: string) => {
    ctx(res).errorCode = code;
  };

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Parameters are read from the raw query string with Go's rules (src/http/params.ts),
  // never by Express's qs parser.
  app.set('query parser', false);

  app.use(requestId());
  app.use(accessLog(logger));
  app.use(healthProbes());
  app.use(deps.authenticate ?? createAuthMiddleware(config, logger));
  app.use(routeTable());
  app.use(readRequestParams(config));
  app.use(resolveTenants(config, logger, tenancy));
  app.use(enforceRequest(config, enforcer, syntax));
  app.use(proxy.handler);
  app.use(function promfenceFallthrough(_req, _res, next) {
    return next(new HttpError('internal_error', 'request fell through the pipeline (wiring bug)'));
  });
  app.use(createErrorHandler(logger, setCode));

  closers.set(app, () => proxy.close());
  return app;
}

/** Releases the app's upstream keep-alive sockets (call after the HTTP server closed). */
export function closeApp(app: express.Express): void {
  closers.get(app)?.();
}
