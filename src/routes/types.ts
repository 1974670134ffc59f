/**
 * The types a request carries from the route table to the relay: what a route is (data),
 * what the planner hands its `plan()` ({@link PlanInput}), and what is sent upstream
 * ({@link ForwardPlan}).
 */
import type { AccessPolicy } from '../access/policy.ts';
import type { RawBodySpec } from '../http/raw-body.ts';

export type { RawBodySpec } from '../http/raw-body.ts';

/** HTTP methods routes may allow. */
export type Method = 'GET' | 'POST' | 'DELETE';

/** Named upstreams (config: `upstream` is `prometheus`; the Alertmanager issue adds `alertmanager`). */
export type UpstreamName = 'prometheus' | 'alertmanager';

/** Ordered name/value pairs (Go's `r.Form` order), as decoded or as sent. */
export type Pairs = ReadonlyArray<readonly [string, string]>;

/**
 * How a route's PromQL-bearing parameters are enforced.
 *
 * - `query`: `query` is PromQL: required, enforced, replaced by the enforced text;
 * - `match`: each `match[]` is enforced; none given → the policy's selectors are added;
 * - `match_required`: like `match`, but at least one `match[]` is required (Prometheus's
 *   `series` answers 400 without one);
 * - `none`: the route carries no PromQL (buildinfo).
 */
export type PromQLParams = 'query' | 'match' | 'match_required' | 'none';

/** Context a response filter runs with. */
export interface FilterContext {
  /**
   * What the caller may read, as enforced on the upstream request: the caller's policy in
   * `label` and `label+header` modes; unrestricted in `header` mode (the upstream scopes the
   * answer by the tenant header there, exactly as for queries).
   */
  readonly policy: AccessPolicy;
  /** The parameters of the request (after enforcement, before the route's own plan), for filters that honour them (`limit`). */
  readonly params?: Pairs;
  /**
   * Metric names the caller can see (the enforced `label/__name__/values`), for routes whose
   * filter declares `needs: 'metric_names'`; undefined when the policy is unrestricted.
   */
  readonly metricNames?: ReadonlySet<string>;
}

/**
 * How the upstream's answer reaches the client.
 *
 * - `stream`: relayed chunk by chunk as it arrives, after its status and Content-Type were
 *   checked (`body: 'json'` = a Prometheus JSON answer; `'exposition'` = any 2xx body, for
 *   `/federate`'s text or protobuf exposition format);
 * - `filter`: buffered (bounded), decompressed when the upstream compressed it, parsed as
 *   JSON, passed through `filter`, and re-encoded (identity, with an exact Content-Length).
 *   For answers that cannot be scoped by rewriting the request (rules, alerts, metadata).
 */
export type ResponseMode =
  | { readonly kind: 'stream'; readonly body: 'json' | 'exposition' }
  | { readonly kind: 'filter'; readonly filter: (body: unknown, ctx: FilterContext) => unknown; readonly needs?: 'metric_names' }
  | BinaryStreamMode;

/**
 * `binary`: a binary answer (remote read's snappy protobuf or its chunked stream) relayed chunk
 * by chunk like `stream`, never decoded; a 2xx is relayed only when its Content-Type's media
 * type is one of `contentTypes` (lower-case, e.g. `application/x-protobuf`), an upstream
 * error only when it is JSON; anything else is refused with one envelope.
 */
export interface BinaryStreamMode {
  readonly kind: 'binary';
  readonly contentTypes: readonly string[];
}

/**
 * A request sent before the forwarded one, whose answer decides whether the forwarded one may
 * go at all (an Alertmanager silence is updated or expired only when the caller can see the
 * current one). The handler sends `target`, buffers its answer (bounded by
 * `limits.max_filtered_response_bytes`), parses it as JSON (`undefined` for a body that is
 * not JSON) and calls `check`; `check` throws a coded HttpError to refuse.
 */
export interface Precheck {
  readonly target: Omit<ForwardPlan, 'response' | 'precheck'>;
  readonly check: (status: number, body: unknown) => void;
}

/** What a route's `plan()` receives: the request after validation, policy and enforcement. */
export interface PlanInput {
  /** The client's method. */
  readonly method: Method;
  /** The canonical API path matched (percent-encoded, without any prefix), e.g. `/api/v1/query`. */
  readonly path: string;
  /** Every parameter to forward, enforced, narrowing and stripped parameters removed, in `r.Form` order. */
  readonly params: Pairs;
  /** What the caller may read (after narrowing). */
  readonly policy: AccessPolicy;
  /** Headers promfence sets for tenancy (the tenant header in header modes), lower-case names. */
  readonly tenancyHeaders: Readonly<Record<string, string>>;
  /** The raw POST body of a route with a {@link RawBodySpec} (at most `limits.max_body_bytes`). */
  readonly body?: Buffer;
  /** The decoded variable path segment, when the route has one. */
  readonly segment?: string;
  /** The authenticated subject, for messages. */
  readonly subject?: string;
}

/**
 * The request promfence sends upstream, rebuilt from parsed and enforced values only
 * (docs/security.md invariant 1): never the client's raw bytes.
 */
export interface ForwardPlan {
  /** Which upstream receives it. */
  readonly upstream: UpstreamName;
  readonly method: Method;
  /** Path without the upstream's prefix, already percent-encoded, e.g. `/api/v1/query`. */
  readonly path: string;
  /**
   * Parameters: for GET (and DELETE) the query string; for POST without `body` the
   * `application/x-www-form-urlencoded` body (the URL then carries none); for POST with
   * `body`, the query string.
   */
  readonly params: Pairs;
  /** A body promfence built itself (JSON, protobuf), when the route sends one. */
  readonly body?: { readonly contentType: string; readonly data: Buffer };
  /** Headers promfence sets (tenancy), lower-case names; client headers are added by the header policy. */
  readonly headers: Readonly<Record<string, string>>;
  /** How the answer reaches the client. */
  readonly response: ResponseMode;
  /** A request whose answer must allow this one first (see {@link Precheck}). */
  readonly precheck?: Precheck;
}

/**
 * What a route's `plan()` returns: the forward plan; without `response` the route's own
 * `response` is used (a route whose methods answer differently sets it per request).
 */
export type ForwardTarget = Omit<ForwardPlan, 'response'> & { readonly response?: ResponseMode };

/**
 * One route of the table: `{ name, path, methods, params (singular, promql), plan(input) →
 * ForwardPlan, response: 'stream' | filter }`. Data, plus the one function that turns a
 * planned request into what is sent upstream.
 */
export interface Route {
  /** Stable name, used in logs and metrics labels, e.g. `query_range`. */
  readonly name: string;
  /**
   * Canonical path. At most one `{name}` segment: a variable path segment (decoded strictly,
   * never empty, `.`, `..` or containing `/`), forwarded re-encoded.
   */
  readonly path: string;
  /** Allowed methods. */
  readonly methods: readonly Method[];
  /**
   * Parameters the route knows that may be given once (URL and body together): a second
   * value is 400 `duplicate_parameter`. `match[]`, the narrowing parameter and unknown
   * parameters are not singular.
   */
  readonly singular: readonly string[];
  /** How PromQL parameters are enforced. */
  readonly promql: PromQLParams;
  /** False for routes that read no tenant data (buildinfo): header modes need no tenant there. */
  readonly tenantScoped: boolean;
  /** Builds what is sent upstream. Pure; may throw a coded error (HttpError) to refuse. */
  readonly plan: (input: PlanInput) => ForwardTarget;
  /** How the upstream's answer reaches the client (stream, or buffer and filter). */
  readonly response: ResponseMode;
  /** The upstream the route needs (default `prometheus`); a route of an unconfigured upstream is 404. */
  readonly upstream?: UpstreamName;
  /**
   * Filter the answer with the caller's whole policy in every mode: an Alertmanager may have no
   * tenancy of its own, so its routes always filter. Default false (see {@link headerScope}).
   */
  readonly filterWithPolicy?: boolean;
  /**
   * What the upstream's tenant header scopes on this route in `enforce.mode: header`:
   * - `query` (default): everything the caller may see: the tenant by the header, label
   *   restrictions by `X-Prom-Label-Policy` (Mimir/GEM). promfence adds nothing.
   * - `tenant`: at most the tenant, and only under Cortex/Mimir's `X-Scope-OrgID`. Thanos
   *   scopes none of rules, alerts, metadata or exemplars by `THANOS-TENANT`
   *   (thanos-io/thanos#8140), and GEM applies label policies to neither the ruler nor
   *   metadata. promfence enforces what is left itself (src/routes/tenancy.ts
   *   `headerResidualPolicy`): the whole policy under any other header, the label restrictions
   *   of the one tenant under `X-Scope-OrgID`.
   */
  readonly headerScope?: 'query' | 'tenant';
  /** Set when POST bodies are read raw instead of as a form (see {@link RawBodySpec}). */
  readonly body?: RawBodySpec;
  /**
   * Repeatable parameters the route knows besides `match[]` (`rule_name[]`, …): kept when
   * `params.unknown: drop`. Default none.
   */
  readonly known?: readonly string[];
  /**
   * The configuration switch that enables the route (`allow_status_flags`); while it is off
   * the route answers 403 `forbidden_endpoint`. Default: always enabled.
   */
  readonly enabledBy?: string;
  /**
   * Answers the request inside promfence instead of sending it upstream (the explain
   * endpoint): returns the `data` of a Prometheus success envelope.
   */
  readonly local?: (input: LocalInput) => unknown;
}

/** What a local route ({@link Route.local}) answers from: the planned request, never sent anywhere. */
export interface LocalInput {
  readonly subject: string;
  readonly policy: AccessPolicy;
  /** The enforced texts (`query`, `match`). */
  readonly enforced: { readonly query?: string; readonly match?: readonly string[] };
  /** The tenancy headers the request would carry upstream (header modes). */
  readonly tenancyHeaders: Readonly<Record<string, string>>;
  /** The request's parameters (the original `query` among them). */
  readonly original: string | undefined;
}

/** A matched route and its canonical path (percent-encoded, variable segment re-encoded). */
export interface RouteMatch {
  readonly route: Route;
  readonly path: string;
  /** The decoded variable segment, when the route has one. */
  readonly segment: string | undefined;
}
