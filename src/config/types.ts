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
  };
  /**
   * Named upstreams. YAML `upstream:` is `prometheus` (the Prometheus-compatible query API);
   * the Alertmanager issue adds `alertmanager`.
   */
  upstreams: {
    prometheus: UpstreamConfig;
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
    /** winston level. Default "info". */
    level: 'error' | 'warn' | 'info' | 'debug';
  };
}

/** One Prometheus-compatible (or Alertmanager) upstream. */
export interface UpstreamConfig {
  /** Base URL, may carry a path prefix: http://mimir:8080/prometheus. Normalised: no trailing "/", no query, no credentials. */
  url: string;
  /** Upstream request timeout in ms. Default 120000 ("2m"). */
  timeout_ms: number;
  /** Credential promfence sends upstream (never the client's), resolved secret. */
  bearer_token: string | undefined;
}

/**
 * One configured authentication method (a member per provider of src/auth/providers).
 * Adding a provider adds a member here and a case in src/auth/providers/index.ts.
 */
export type AuthProviderConfig =
  /** `auth.bearer_tokens`: static bearer tokens. */
  | { kind: 'bearer_tokens'; tokens: BearerTokenEntry[] }
  /** `auth.basic_users` with `auth.basic_cache_ttl` (ms; default 60000, 0 disables the cache). */
  | { kind: 'basic'; users: BasicUserEntry[]; cache_ttl_ms: number };

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
