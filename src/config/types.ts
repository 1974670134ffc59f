import type { LabelPolicies } from '../access/label-policy.ts';

/**
 * The validated, defaulted configuration (output of the schema in ./schema.ts). Durations
 * are milliseconds, sizes are bytes, secrets are resolved (from `_file` / `${env:NAME}`).
 */
export interface Config {
  server: {
    /** host:port to listen on. Default "127.0.0.1:9095". */
    listen: string;
    /** host:port for /metrics and reload; undefined = not served. */
    internal_listen: string | undefined;
    /** Maximum request header bytes (Node's limit, raised). Default 1048576 (1 MiB, like Go). */
    max_header_bytes: number;
    /** Longest request target (path and query string) in bytes, checked before authentication → 414. Default 262144. */
    max_request_target_bytes: number;
    /** Pipelined requests one connection may have waiting; one more closes the connection. Default 16. */
    max_pipelined_requests: number;
    /**
     * Worker processes serving the public listeners (node:cluster): a number, or `auto` = one
     * per core (`os.availableParallelism()`). Default 1 (one process, no cluster). Read at
     * start only. Optional so configurations built by hand (tests) may omit it.
     */
    workers?: number | 'auto';
    /** Open connections over every listener; more are closed on accept. Default 8192 (the schema sets it; absent = the default). */
    max_connections?: number;
    /** Open connections from one client address; more are closed on accept. Default 256 (the schema sets it; absent = the default). */
    max_connections_per_client?: number;
    /** Reload when the configuration file changes (polled every second). Default false. */
    watch_config: boolean;
    /** Graceful shutdown: how long in-flight requests may drain, ms. Default 30000 ("30s"). */
    shutdown_timeout_ms: number;
    /** A client must send its whole request head within this, ms (Node `headersTimeout`). Default 10000. */
    headers_timeout_ms: number;
    /** A client must send its whole request (head and body) within this, ms (Node `requestTimeout`). Default 30000. */
    request_timeout_ms: number;
    /** An idle keep-alive connection is closed after this, ms (Node `keepAliveTimeout`). Default 65000. */
    idle_timeout_ms: number;
    /** Interval of the readiness probe of the upstream's buildinfo, ms. Default 10000. */
    ready_probe_interval_ms: number;
    /** CORS: origins allowed to call promfence from a browser (exact `scheme://host[:port]`, or `*`). Default none (no CORS headers). */
    cors_allowed_origins: string[];
    /** `server.tls`: serve HTTPS (and optionally verify client certificates); undefined = plain HTTP. */
    tls?: ServerTlsConfig | undefined;
    /**
     * Path prefix every API path is served under (`/prometheus` → `/prometheus/api/v1/query`,
     * Grafana's Mimir layout); `''` = none (default). Always set by the schema; optional so
     * configurations built by hand (tests) may omit it.
     */
    path_prefix?: string;
    /**
     * More listeners, each bound to a tenant set (`server.listeners[]`): a request arriving on
     * one reads only the intersection of its grant and `tenants` (the Thanos tutorial's
     * one-port-per-team). Default none.
     */
    listeners?: ListenerConfig[];
  };
  /**
   * Named upstreams. YAML `upstream:` is `prometheus` (the Prometheus-compatible query API);
   * the Alertmanager issue adds `alertmanager`.
   */
  upstreams: {
    prometheus: UpstreamConfig;
    /** YAML `alertmanager:` (url, timeout, bearer_token); unset = the Alertmanager API is not served. */
    alertmanager?: UpstreamConfig;
  };
  /** Endpoint policy of the Alertmanager API (YAML `alertmanager.status`, `.receivers`); undefined without `alertmanager.url`. */
  alertmanager?: AlertmanagerEndpoints | undefined;
  /** Prometheus remote read (`POST /api/v1/read`); the schema always sets it (absent = the defaults). */
  remote_read?: {
    /** Most queries in one ReadRequest; more → 400 `invalid_parameter`. Default 64. */
    max_queries: number;
    /** Largest ReadRequest after snappy decompression, bytes; larger → 413 `body_too_large`. Default 4194304 (4 MiB). */
    max_decompressed_bytes: number;
  };
  enforce: {
    /** Default "tenant". */
    label: string;
    /** Default "label". */
    mode: 'label' | 'header' | 'label+header';
    /** Default "X-Scope-OrgID". */
    header: string;
    /** Default "tenant". */
    select_param: string;
    /** Default "X-Promfence-Tenant". */
    select_header: string;
    /** Default true. */
    reject_foreign_tenant: boolean;
    /**
     * Header modes: send the caller's label policy as `X-Prom-Label-Policy` (Mimir/GEM label
     * access control) next to the tenant header. Default false.
     */
    label_policy_header: boolean;
    /** Forward `stats` and Thanos's `analyze` (query timings) upstream. Default false: stripped (a timing side channel). */
    allow_stats?: boolean;
    /** Forward `GET /api/v1/status/flags` (Grafana alerting's Thanos probe). Default false: 403 `forbidden_endpoint`. */
    allow_status_flags?: boolean;
    /**
     * The explicit tenant list an unrestricted (`"*"`) caller gets in the tenant header of
     * header modes; undefined (default) = `"*"` is refused there (403).
     */
    all_tenants?: string[] | undefined;
  };
  /** Request parameters. Always set by the schema; optional for hand-built configurations. */
  params?: {
    /** Parameters no route knows: `forward` (default, re-encoded) or `drop`. */
    unknown: 'forward' | 'drop';
  };
  promql: {
    /** Default "auto". */
    syntax: 'auto' | 'prometheus2' | 'prometheus3';
    /** Default 32768. */
    max_query_bytes: number;
    /** Enforcement cache entries. Default 10000; 0 disables. */
    cache_size: number;
    /** Enforcement cache bound in bytes (estimated). Default 33554432 (32 MiB). */
    cache_max_bytes: number;
    /** Largest enforced query or selector in UTF-8 bytes; larger → `query_too_large`. Default 262144. */
    max_enforced_bytes: number;
  };
  limits: {
    /** Maximum POST body bytes. Default 1048576. */
    max_body_bytes: number;
    /**
     * Most `match[]` values one request may carry (URL and body together); more → 400
     * `invalid_parameter`. Each is parsed, enforced and printed, so this bounds the work one
     * request can cause. Default 1000.
     */
    max_match_params: number;
    /**
     * Largest upstream answer promfence buffers to filter (rules, alerts, metadata), bytes
     * after decompression; larger → 502. Default 16777216 (16 MiB).
     */
    max_filtered_response_bytes: number;
    /**
     * Most points per series a range query may ask for: `(end - start) / step + 1` (the rule
     * and default of Prometheus's `query_range`, web/api/v1). More → 400 `too_many_points`.
     * Default 11000.
     */
    max_points: number;
    /**
     * Most steps per series one subquery may evaluate: `(range of the query and enclosing
     * subqueries + range) / step` (src/routes/limits.ts `checkSubqueries`); 0 = no limit. More →
     * 400 `too_many_points`. Default 100000 (the schema sets it; absent = no check).
     */
    max_subquery_points?: number;
    /** Longest `end - start` of a range query, ms; 0 = no limit (default). More → 400 `range_too_long`. */
    max_range_ms: number;
    /** Most tenants one request may read at once (after narrowing; `*` is not counted); 0 = no limit (default). More → 400 `too_many_tenants`. */
    max_tenants: number;
    /** Token bucket per subject; undefined = no rate limit (default). */
    rate: RateLimitConfig | undefined;
    /** Token bucket per tenant read (every tenant of the request takes a token); undefined = none (default). */
    tenant_rate: RateLimitConfig | undefined;
    /** Most requests one subject may have in flight at once; 0 = no limit (default). */
    max_inflight_per_subject: number;
    /** Where buckets and in-flight counts live: `memory` (per process, default) or `redis` (shared by replicas). */
    store: 'memory' | 'redis';
    /** The Redis store (required when `store` is `redis`). */
    redis: RedisLimitsConfig | undefined;
  };
  auth: {
    /** Realm in WWW-Authenticate. Default "promfence". */
    realm: string;
    /**
     * The configured authentication methods, in the order they are tried (`auth.order`);
     * only methods with credentials appear (no basic users → no basic provider).
     */
    providers: AuthProviderConfig[];
  };
  access: {
    /** subject -> tenants ("*" = all). */
    subjects: Record<string, string[]>;
    /** group -> tenants ("*" = all). */
    groups: Record<string, string[]>;
    /** `access.label_policies`: subject/group -> policy matcher sets (parsed selectors, tenant matcher first). */
    label_policies: LabelPolicies;
    /** Subjects whose `X-Prom-Label-Policy` header (Grafana team LBAC) is honoured. Default none. */
    trust_label_policy_header: string[];
  };
  log: {
    /** Log level (pino). Default "info". */
    level: 'error' | 'warn' | 'info' | 'debug';
    /** Write one audit line per request. Default true. */
    audit: boolean;
    /** Audit lines go to this file (absolute path; relative ones are resolved against the config file) instead of stdout. Default unset (stdout). */
    audit_file: string | undefined;
  };
}

/**
 * Who may call an endpoint that is not scoped by tenant: nobody (`deny`, 403
 * `forbidden_endpoint`), unrestricted (`*`) callers only, or every authenticated caller.
 */
export type EndpointAccess = 'deny' | 'unrestricted' | 'allow';

/** `alertmanager.status` (GET /api/v2/status) and `alertmanager.receivers` (GET /api/v2/receivers). Default `deny` each. */
export interface AlertmanagerEndpoints {
  status: EndpointAccess;
  receivers: EndpointAccess;
}

/** A token bucket: `burst` tokens at most, refilled at `requests_per_second`. */
export interface RateLimitConfig {
  /** Refill rate, tokens per second (fractions allowed: 0.5 = one request every 2 s). */
  requests_per_second: number;
  /** Bucket capacity (requests that may arrive at once). Default: max(1, ceil(requests_per_second)). */
  burst: number;
}

/** `limits.redis`. */
export interface RedisLimitsConfig {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (a secret: never logged). */
  url: string;
  /** When Redis cannot answer: `allow` the request (default) or `deny` it (503 `limiter_unavailable`). Logged and counted either way. */
  on_error: 'allow' | 'deny';
  /** Prefix of every key promfence writes. Default "promfence". */
  key_prefix: string;
  /** How long one limiter call may wait for Redis, ms. Default 250. */
  timeout_ms: number;
}

/** One Prometheus-compatible (or Alertmanager) upstream. */
export interface UpstreamConfig {
  /** Base URL, may carry a path prefix: http://mimir:8080/prometheus. Normalised: no trailing "/", no query, no credentials. */
  url: string;
  /** Upstream request timeout in ms. Default 120000 ("2m"). */
  timeout_ms: number;
  /** Credential promfence sends upstream (never the client's), resolved secret. */
  bearer_token: string | undefined;
  /** HTTP basic credentials sent upstream instead of a bearer token (resolved secret). Default none. */
  basic_auth?: { username: string; password: string } | undefined;
  /** TLS towards an https upstream: PEM contents read from the configured files. Default: system CAs, verify. */
  tls?: UpstreamTlsConfig | undefined;
  /** Static headers sent with every upstream request (values resolved from `value_file` / `${env:NAME}`). */
  headers?: Record<string, string>;
  /** `Host` header sent upstream (and TLS server name unless `tls.server_name`); default the URL's host. */
  host?: string | undefined;
}

/** `upstream.tls`: PEM texts (read from `ca_file`, `cert_file`, `key_file`) and verification settings. */
export interface UpstreamTlsConfig {
  /** CA bundle that verifies the upstream's certificate (replaces the system CAs). */
  ca: string | undefined;
  /** Client certificate and key for mTLS to the upstream (both or neither). */
  cert: string | undefined;
  key: string | undefined;
  /** Server name to verify (and send as SNI); default the URL's host. */
  server_name: string | undefined;
  /** Skip certificate verification (tests only; logged as a warning by check-config). Default false. */
  insecure_skip_verify: boolean;
}

/** One `server.listeners[]` entry. */
export interface ListenerConfig {
  /** host:port. */
  listen: string;
  /** Tenants this listener serves (never `"*"`). */
  tenants: string[];
}

/**
 * One configured authentication method (a member per provider of src/auth/providers).
 * Adding a provider adds a member here and a case in src/auth/providers/index.ts.
 */
export type AuthProviderConfig =
  /** `auth.bearer_tokens`: static bearer tokens. */
  | { kind: 'bearer_tokens'; tokens: BearerTokenEntry[] }
  /** `auth.basic_users` with `auth.basic_cache_ttl` (ms; default 60000, 0 disables the cache). */
  | { kind: 'basic'; users: BasicUserEntry[]; cache_ttl_ms: number }
  /** `auth.jwt`: JWT issuers, and the verified-token cache bound (`auth.jwt_cache_size` entries, `auth.jwt_cache_max_bytes`). */
  | { kind: 'jwt'; issuers: JwtIssuerConfig[]; cache_size: number; cache_max_bytes: number }
  /** `auth.mtls` (with `server.tls.client_auth` optional or require): client certificates. */
  | { kind: 'mtls'; subject_from: MtlsSubjectField; groups_from: MtlsGroupField[] }
  /** `auth.trusted_header`: identity headers set by an auth proxy at one of `trusted_cidrs`. */
  | { kind: 'trusted_header'; user_header: string; groups_header: string | undefined; trusted_cidrs: string[] };

/** The provider config of `kind` in `config.auth.providers`, if configured. */
export function providerConfig<K extends AuthProviderConfig['kind']>(auth: { providers: readonly AuthProviderConfig[] }, kind: K): Extract<AuthProviderConfig, { kind: K }> | undefined {
  return auth.providers.find((p): p is Extract<AuthProviderConfig, { kind: K }> => p.kind === kind);
}

/** A static bearer token; exactly one of token / token_sha256 was configured (token_file resolves to token). */
export interface BearerTokenEntry {
  subject: string;
  /** Lowercase hex SHA-256 of the token (computed from `token` when given in clear). */
  token_sha256: string;
  groups: string[];
}

/** An HTTP basic user with a bcrypt hash ($2a$/$2b$/$2y$, as `htpasswd -B` writes). */
export interface BasicUserEntry {
  subject: string;
  password_hash: string;
  groups: string[];
}

/** `server.tls`: the HTTPS listener (files are watched and reloaded without a restart). */
export interface ServerTlsConfig {
  /** Absolute path of the PEM certificate (chain: leaf first). */
  cert_file: string;
  /** Absolute path of the PEM private key. */
  key_file: string;
  /** Absolute path of the PEM CA bundle client certificates must chain to; undefined = none requested. */
  client_ca_file: string | undefined;
  /** `none` (default): no client certificate asked; `optional`: verified when sent; `require`: the handshake fails without a valid one. */
  client_auth: 'none' | 'optional' | 'require';
  /** Lowest TLS version accepted. Default `TLSv1.2`. */
  min_version: 'TLSv1.2' | 'TLSv1.3';
  /** How often the files are checked for changes, ms. Default 10000. */
  reload_interval_ms: number;
}

/** Which certificate field is the subject of an mTLS client (`auth.mtls.subject_from`). */
export type MtlsSubjectField = 'cn' | 'san_uri' | 'san_dns' | 'san_email';
/** Certificate subject attributes read as groups (`auth.mtls.groups_from`). */
export type MtlsGroupField = 'O' | 'OU';

/** Where an issuer's verification keys come from. */
export type JwtKeySource =
  /** `hmac_secret` / `hmac_secret_file`: a shared secret (its UTF-8 bytes), HS256/384/512. */
  | { kind: 'hmac'; secret: string }
  /** `public_keys` / `public_keys_file`: static public keys, as JWKs (PEMs are converted at load). */
  | { kind: 'public_keys'; keys: JsonWebKeyEntry[] }
  /** `jwks_url`: a JWK Set fetched and cached. */
  | { kind: 'jwks_url'; url: string }
  /** `discovery: true`: `<issuer>/.well-known/openid-configuration` → `jwks_uri`. */
  | { kind: 'discovery'; url: string };

/** A public JSON Web Key (RFC 7517) as configured or converted from PEM. */
export type JsonWebKeyEntry = Readonly<Record<string, unknown>> & { readonly kty: string; readonly kid?: string };

/** One entry of `auth.jwt`. */
export interface JwtIssuerConfig {
  /** For logs, metrics and messages: `name`, else `issuer`, else `auth.jwt[<i>]`. */
  name: string;
  /** Required `iss` value; undefined only for HMAC issuers (tried for any `iss`). */
  issuer: string | undefined;
  /** Accepted `aud` values (one must be present); undefined = `aud` not checked. */
  audience: string[] | undefined;
  keys: JwtKeySource;
  /** Allowed `alg` values (default: HS256/384/512 for HMAC, every asymmetric JWS algorithm otherwise). */
  algorithms: string[];
  /** Claim holding the subject (exact name, else a dot path). Default `sub`. */
  subject_claim: string;
  /** Claim holding groups (string or array of strings); undefined = none read. */
  groups_claim: string | undefined;
  /** Claim holding tenant IDs (string, comma list or array of strings); undefined = none read. */
  tenants_claim: string | undefined;
  /** Prefix put before the subject (like kube-apiserver's --oidc-username-prefix). Default "". */
  subject_prefix: string;
  /** Prefix put before each group. Default "". */
  groups_prefix: string;
  /** Leeway for `exp`/`nbf`, ms. Default 30000. */
  clock_tolerance_ms: number;
  /** A token without `exp` is refused. Default true. */
  require_exp: boolean;
  /** `"*"` in the tenants claim grants every tenant (otherwise the token is refused). Default false. */
  allow_unrestricted_claim: boolean;
  /** Timeout of one discovery or JWKS fetch, ms. Default 5000. */
  fetch_timeout_ms: number;
  /** Age after which fetched keys are refreshed in the background, ms. Default 600000 (10 min). */
  refresh_interval_ms: number;
  /** PEM CA bundle (contents of `ca_file`) trusted for HTTPS fetches; undefined = the system's CAs. */
  ca: string | undefined;
  /** `ca_file` as configured (absolute), for the summary. */
  ca_file: string | undefined;
}
