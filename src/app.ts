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
import express from 'express';
import type { RequestHandler } from 'express';
import { createAuthenticator, type Authenticator } from './auth/authenticate.ts';
import type { ProviderSeams } from './auth/providers/index.ts';
import type { Config } from './config/types.ts';
import { Enforcer } from './enforce/index.ts';
import { createErrorHandler } from './http/error-handler.ts';
import { HttpError } from './http/errors.ts';
import { healthProbes } from './http/health.ts';
import { requestState } from './http/state.ts';
import { accessLogHook } from './observability/access-log.ts';
import { onRequestFinished, type RequestFinishedHook } from './observability/hooks.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createGatewayHandler, type GatewayDeps } from './routes/handler.ts';
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
}

/** A built application. */
export interface App {
  /** The request listener (an Express app) for `http.createServer` or a server's swap. */
  readonly handler: RequestListener;
  /** The enforcer (cache statistics). */
  readonly enforcer: GatewayDeps['enforcer'];
  /** Releases upstream keep-alive sockets and provider resources (after the last request). */
  close(): void;
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
  });
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

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Parameters are read from the raw query string with Go's rules (src/http/params.ts),
  // never by Express's qs parser.
  app.set('query parser', false);

  app.use(requestState((s, res) => onRequestFinished(res, s, res.req.method, hooks)));
  app.use(healthProbes());
  app.use(authenticate);
  app.use(createGatewayHandler({
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
      maxEnforcedBytes: config.promql.max_enforced_bytes,
      labelPolicyHeader: config.enforce.label_policy_header,
      trustLabelPolicyHeader: config.access.trust_label_policy_header,
    },
    maxBodyBytes: config.limits.max_body_bytes,
    maxFilteredBytes: config.limits.max_filtered_response_bytes,
    selectHeader: config.enforce.select_header.toLowerCase(),
    upstreams: { prometheus },
    syntax,
    logger,
  }));
  app.use(function promfenceFallthrough(_req, _res, next) {
    return next(new HttpError('internal_error', 'request fell through the pipeline (wiring bug)'));
  });
  app.use(createErrorHandler(logger));

  return {
    handler: app,
    enforcer,
    close() {
      prometheus.close();
      authenticator?.close();
    },
  };
}
