/**
 * The gateway application: the one place the middleware order is written.
 *
 * ```
 * request state (id, request-finished hook) → /-/healthy, /-/ready (no auth) → authenticate
 *   → gateway: route table → parameters → plan (validate → policy → enforce) → upstream → relay
 * errors anywhere → one JSON envelope (src/http/error-handler.ts)
 * ```
 */
import type { RequestListener } from 'node:http';
import cors from 'cors';
import express from 'express';
import type { RequestHandler } from 'express';
import { createAuthenticator, type Authenticator } from './auth/authenticate.ts';
import type { ProviderSeams } from './auth/providers/index.ts';
import { DEFAULTS } from './config/schema.ts';
import type { Config } from './config/types.ts';
import { Enforcer } from './enforce/index.ts';
import { createErrorHandler } from './http/error-handler.ts';
import { HttpError } from './http/errors.ts';
import { healthProbes } from './http/health.ts';
import { sequence } from './http/pipeline.ts';
import { requestState } from './http/state.ts';
import { accessLogHook } from './observability/access-log.ts';
import { onRequestFinished, type RequestFinishedHook } from './observability/hooks.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { alertmanagerRoutes } from './routes/alertmanager.ts';
import { createGatewayHandler, type GatewayDeps } from './routes/handler.ts';
import { remoteReadRoute } from './routes/remote-read.ts';
import { ROUTES, routeTable } from './routes/table.ts';
import { createLimiter, type Limiter } from './limits/limiter.ts';
import { subjectLimits } from './limits/middleware.ts';
import { auditHook } from './observability/audit.ts';
import type { ReadyState } from './observability/readiness.ts';
import { createMetricNames } from './routes/metric-names.ts';
import { createUpstreamClient } from './upstream/client.ts';
import { fetchBuildInfo, type BuildInfo } from './upstream/probe.ts';
import { createSyntaxResolver, SYNTAX_PROBE_TIMEOUT_MS } from './upstream/syntax.ts';

/** Replaceable collaborators of {@link createApp} (tests inject fakes; production uses none). */
export interface AppDeps {
  /** Default: `createLogger(config.log.level)`. */
  logger?: Logger;
  /** Authentication middleware. Default: the authenticator of `config.auth` (src/auth). */
  authenticate?: RequestHandler;
  /** Test seams of the real authenticator (bcrypt compare, clock, cache size). */
  authSeams?: ProviderSeams;
  /** PromQL enforcer. Default: an {@link Enforcer} bounded by `promql.cache_size` / `cache_max_bytes`. */
  enforcer?: GatewayDeps['enforcer'];
  /** The `promql.syntax: auto` probe. Default: GET buildinfo through the prometheus upstream. */
  probe?: () => Promise<BuildInfo>;
  /** Clock in ms for the probe's retry delay. Default: Date.now. */
  now?: () => number;
  /** More request-finished hooks (metrics, audit), after the access log. */
  hooks?: readonly RequestFinishedHook[];
  /** What `/-/ready` reports. Default: always ready (an application without a server). */
  readiness?: () => ReadyState;
  /** The process's rate/concurrency limiter (it outlives reloads). Default: one of this app's own, from `config.limits`. */
  limiter?: Limiter;
  /** Audit sink (src/observability/audit.ts); the app adds the audit hook of its `access` grants. Default: no audit. */
  auditLogger?: Logger;
}

/** A built application. */
export interface App {
  /** The request listener (an Express app) for `http.createServer` or a server's swap. */
  readonly handler: RequestListener;
  /** The enforcer (cache statistics). */
  readonly enforcer: GatewayDeps['enforcer'];
  /** Releases upstream keep-alive sockets and provider resources (after the last request). */
  close(): void;
  /** Probes the upstream's buildinfo through this app's client (readiness); rejects on failure. */
  probeUpstream(timeoutMs: number): Promise<BuildInfo>;
}

/**
 * Builds the gateway application for a validated configuration.
 *
 * @param config the validated, defaulted configuration (src/config/types.ts)
 * @param deps optional collaborators (see {@link AppDeps})
 * @returns `{ handler, enforcer, close }`
 * @throws TypeError when an upstream URL is not http(s) (the schema refuses it first)
 * @example const app = createApp(config); http.createServer(app.handler).listen(9095)
 */
export function createApp(config: Config, deps: AppDeps = {}): App {
  const logger = deps.logger ?? createLogger(config.log.level);
  const prometheus = createUpstreamClient({
    name: 'prometheus',
    url: config.upstreams.prometheus.url,
    timeoutMs: config.upstreams.prometheus.timeout_ms,
    bearerToken: config.upstreams.prometheus.bearer_token,
    basicAuth: config.upstreams.prometheus.basic_auth,
    tls: config.upstreams.prometheus.tls,
    headers: config.upstreams.prometheus.headers,
    host: config.upstreams.prometheus.host,
  });
  const amConfig = config.upstreams.alertmanager;
  const alertmanager = amConfig === undefined ? undefined : createUpstreamClient({
    name: 'alertmanager',
    url: amConfig.url,
    timeoutMs: amConfig.timeout_ms,
    bearerToken: amConfig.bearer_token,
    basicAuth: amConfig.basic_auth,
    tls: amConfig.tls,
    headers: amConfig.headers,
    host: amConfig.host,
  });
  const routes = routeTable([
    ...ROUTES,
    remoteReadRoute({
      mode: config.enforce.mode,
      rejectForeignTenant: config.enforce.reject_foreign_tenant,
      maxQueries: config.remote_read?.max_queries ?? DEFAULTS.remote_read_max_queries,
      maxDecompressedBytes: config.remote_read?.max_decompressed_bytes ?? DEFAULTS.remote_read_max_decompressed_bytes,
    }),
    ...(alertmanager === undefined ? [] : alertmanagerRoutes(config.alertmanager ?? { status: 'deny', receivers: 'deny' })),
  ]);
  const probe = deps.probe ?? (() => fetchBuildInfo(prometheus, 'promfence-syntax-probe', Math.min(config.upstreams.prometheus.timeout_ms, SYNTAX_PROBE_TIMEOUT_MS)));
  const syntax = createSyntaxResolver(config.promql.syntax, { probe, logger, ...(deps.now ? { now: deps.now } : {}) });
  const enforcer = deps.enforcer ?? new Enforcer({ maxEntries: config.promql.cache_size, maxBytes: config.promql.cache_max_bytes });
  let authenticator: Authenticator | undefined;
  let authenticate = deps.authenticate;
  if (authenticate === undefined) {
    authenticator = createAuthenticator(config, logger, deps.authSeams);
    authenticate = authenticator.middleware;
  }
  const hooks: RequestFinishedHook[] = [accessLogHook(logger), ...(deps.hooks ?? [])];
  if (deps.auditLogger !== undefined) hooks.push(auditHook(deps.auditLogger, config.access));
  const ownLimiter = deps.limiter === undefined ? createLimiter(config, { logger }) : undefined;
  const limiter = deps.limiter ?? (ownLimiter as Limiter);

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Parameters are read from the raw query string with Go's rules (src/http/params.ts),
  // never by Express's qs parser.
  app.set('query parser', false);

  // The fixed chain, one Express layer (src/http/pipeline.ts).
  app.use(sequence([
    requestState((s, res) => onRequestFinished(res, s, res.req.method, hooks)),
    ...(config.server.cors_allowed_origins.length > 0 ? [corsMiddleware(config.server.cors_allowed_origins, config.enforce.select_header)] : []),
    healthProbes(deps.readiness),
    authenticate,
    subjectLimits(limiter),
    createGatewayHandler({
    enforcer,
    grants: config.access,
    plan: {
      label: config.enforce.label,
      mode: config.enforce.mode,
      header: config.enforce.header,
      selectParam: config.enforce.select_param,
      selectHeader: config.enforce.select_header,
      rejectForeignTenant: config.enforce.reject_foreign_tenant,
      maxQueryBytes: config.promql.max_query_bytes,
      maxMatchParams: config.limits.max_match_params,
      maxPoints: config.limits.max_points,
      maxSubqueryPoints: config.limits.max_subquery_points ?? 0,
      maxRangeMs: config.limits.max_range_ms,
      maxTenants: config.limits.max_tenants,
      allowStats: config.enforce.allow_stats ?? false,
      unknownParams: config.params?.unknown ?? 'forward',
      allTenants: config.enforce.all_tenants,
      maxEnforcedBytes: config.promql.max_enforced_bytes,
      labelPolicyHeader: config.enforce.label_policy_header,
      trustLabelPolicyHeader: config.access.trust_label_policy_header,
    },
    beforeForward: (s) => (s.policy === undefined ? Promise.resolve() : limiter.admitTenants(s.policy.tenants)),
    pathPrefix: config.server.path_prefix ?? '',
    enabled: new Set(config.enforce.allow_status_flags === true ? ['allow_status_flags'] : []),
    metricNames: createMetricNames(prometheus, config.limits.max_filtered_response_bytes),
    maxBodyBytes: config.limits.max_body_bytes,
    maxFilteredBytes: config.limits.max_filtered_response_bytes,
    selectHeader: config.enforce.select_header.toLowerCase(),
    upstreams: { prometheus, ...(alertmanager === undefined ? {} : { alertmanager }) },
    syntax,
    logger,
    routes,
  }),
  ]));
  app.use(function promfenceFallthrough(_req, _res, next) {
    return next(new HttpError('internal_error', 'request fell through the pipeline (wiring bug)'));
  });
  app.use(createErrorHandler(logger));

  return {
    handler: app,
    enforcer,
    close() {
      prometheus.close();
      alertmanager?.close();
      authenticator?.close();
      void ownLimiter?.close();
    },
    probeUpstream: (timeoutMs) => fetchBuildInfo(prometheus, 'promfence-ready-probe', timeoutMs),
  };
}

/**
 * CORS for browsers (the `cors` package): only origins of `server.cors.allowed_origins` get
 * `Access-Control-Allow-Origin` (exact match, or any origin with `*`), with `Vary: Origin`;
 * preflights (`OPTIONS`) are answered before authentication (browsers send no credentials
 * there). No cookies are involved: credentials are `Authorization` headers.
 */
function corsMiddleware(origins: readonly string[], selectHeader: string): RequestHandler {
  return cors({
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'POST', 'HEAD', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', selectHeader],
    exposedHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: 600,
  });
}
