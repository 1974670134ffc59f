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
  upstream: {
    /** Base URL, may carry a path prefix: http://mimir:8080/prometheus. Normalised: no trailing "/", no query, no credentials. */
    url: string;
    /** Upstream request timeout in ms. Default 120000 ("2m"). */
    timeout_ms: number;
    /** Credential promfence sends upstream (never the client's), resolved secret. */
    bearer_token: string | undefined;
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
  };
  promql: {
    /** Default "auto". */
    syntax: 'auto' | 'prometheus2' | 'prometheus3';
    /** Default 32768. */
    max_query_bytes: number;
    /** Enforced-result cache entries. Default 10000; 0 disables. */
    cache_size: number;
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
  };
  auth: {
    bearer_tokens: BearerTokenEntry[];
    basic_users: BasicUserEntry[];
    /** Realm in WWW-Authenticate. Default "promfence". */
    realm: string;
    /** How long verified basic credentials are cached, ms. Default 60000. */
    basic_cache_ttl_ms: number;
  };
  access: {
    /** subject -> tenants ("*" = all). */
    subjects: Record<string, string[]>;
    /** group -> tenants ("*" = all). */
    groups: Record<string, string[]>;
  };
  log: {
    /** winston level. Default "info". */
    level: 'error' | 'warn' | 'info' | 'debug';
  };
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
