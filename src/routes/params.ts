/**
 * Which request parameters a route knows, for `params.unknown: drop` (unknown parameters are
 * otherwise forwarded, re-encoded). Known: the route's singular parameters, its repeatable
 * ones (`Route.known`), `match[]` on `match[]` routes, and the Thanos Query parameters on every
 * PromQL route (clients.md, "Thanos Query").
 */
import type { Route } from './types.ts';

/** Thanos's store selector parameter: enforced like `match[]`, never forwarded as sent. */
export const STORE_MATCH = 'storeMatch[]';

/** Thanos Query parameters forwarded on PromQL routes (`dedup=true&partial_response=false` from Grafana's custom parameters). */
export const THANOS_PARAMS: readonly string[] = Object.freeze(['dedup', 'partial_response', 'max_source_resolution', 'replicaLabels[]', 'engine', 'analyze', STORE_MATCH]);

/**
 * Whether `route` knows the parameter `name`.
 *
 * @example knownParam(queryRoute, 'dedup') // → true
 */
export function knownParam(route: Route, name: string): boolean {
  if (route.singular.includes(name) || (route.known?.includes(name) ?? false)) return true;
  if (route.promql === 'none') return false;
  return (name === 'match[]' && route.promql !== 'query') || THANOS_PARAMS.includes(name);
}
