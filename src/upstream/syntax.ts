/**
 * `promql.syntax: auto`: which PromQL dialect the upstream accepts, read from its
 * `GET <upstream>/api/v1/status/buildinfo` (the probe Grafana uses too, clients.md).
 *
 * `data.version` major ≥ 3 → `prometheus3`; anything else that answered (2.x, Thanos 0.x,
 * Mimir 2.x, an unparsable version) → `prometheus2`, the conservative set. A failed probe
 * (network error, non-2xx, not JSON) also means `prometheus2`, and the probe is retried
 * after {@link SYNTAX_RETRY_MS}. Concurrent callers share one probe.
 */
import type { Syntax } from '../enforce/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { BuildInfo } from './probe.ts';

/** Delay before a failed detection is retried, in ms (60 s). */
export const SYNTAX_RETRY_MS = 60_000;

/** Upper bound of the probe's own timeout, in ms (the probe delays the first query). */
export const SYNTAX_PROBE_TIMEOUT_MS = 10_000;

/** Dependencies of {@link createSyntaxResolver}. */
export interface SyntaxResolverDeps {
  /** Reads the upstream's buildinfo (src/upstream/probe.ts `fetchBuildInfo` in production). */
  readonly probe: () => Promise<BuildInfo>;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
  readonly logger: Logger;
}

/** Returns the dialect to enforce with; never rejects. */
export type SyntaxResolver = () => Promise<Syntax>;

/**
 * Maps a buildinfo `version` string to a dialect.
 *
 * @param version e.g. `3.1.0`, `v2.53.4`, `0.37.2` (Thanos)
 * @returns `prometheus3` when the major version is ≥ 3, else `prometheus2`
 */
export function syntaxForVersion(version: unknown): Syntax {
  if (typeof version !== 'string') return 'prometheus2';
  const m = /^v?(\d+)\./.exec(version.trim());
  return m && Number(m[1]) >= 3 ? 'prometheus3' : 'prometheus2';
}

/**
 * Creates the resolver for `promql.syntax`: a constant for `prometheus2` / `prometheus3`, the
 * cached buildinfo probe for `auto`.
 *
 * @param configured `config.promql.syntax`
 * @param deps probe, clock, logger
 */
export function createSyntaxResolver(configured: 'auto' | Syntax, deps: SyntaxResolverDeps): SyntaxResolver {
  if (configured !== 'auto') return () => Promise.resolve(configured);
  const now = deps.now ?? Date.now;
  let detected: Syntax | undefined;
  let retryAt = 0;
  let inflight: Promise<Syntax> | undefined;

  const probe = async (): Promise<Syntax> => {
    try {
      const info = await deps.probe();
      detected = syntaxForVersion(info.version);
      deps.logger.info('upstream PromQL syntax detected', { syntax: detected, version: info.version });
      return detected;
    } catch (err) {
      retryAt = now() + SYNTAX_RETRY_MS;
      deps.logger.warn('upstream buildinfo probe failed; using prometheus2 syntax, retrying later', { error: err instanceof Error ? err.message : String(err), retry_in_ms: SYNTAX_RETRY_MS });
      return 'prometheus2';
    }
  };

  return () => {
    if (detected !== undefined) return Promise.resolve(detected);
    if (inflight) return inflight;
    if (now() < retryAt) return Promise.resolve('prometheus2');
    // .finally runs asynchronously, so it always clears after this assignment.
    inflight = probe().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
}
