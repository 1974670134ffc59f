/**
 * Per-request state, kept on `res.locals.promfence` and read through typed accessors.
 */
import type { Request, Response } from 'express';
import type { TenantSet } from '../enforce/tenants.ts';

/** Who the caller is, as established by an auth strategy. */
export interface Principal {
  subject: string;
  groups: readonly string[];
  /** The strategy that authenticated the request. */
  method: 'bearer' | 'basic';
}

/** What the pipeline learned about one request so far. */
export interface RequestContext {
  /** Request id (from a valid incoming X-Request-Id, else generated). */
  id: string;
  /** Start time, from performance.now() (ms). */
  startedAt: number;
  principal?: Principal;
  /** Granted (then narrowed) tenant set. */
  tenants?: TenantSet;
  /** Route name from the route table, e.g. "query_range". */
  route?: string;
  /** Error code when the request ended in a promfence error. */
  errorCode?: string;
  /**
   * Tenant-policy refusal (403) found while resolving tenants. Kept here, not thrown, so
   * that parse/validate errors (400) win over tenant policy (design.md "Order of checks");
   * the enforce step throws it after validating. Never read by anything else.
   */
  tenantError?: unknown;
  /** What will be sent upstream, built by the enforce step from promfence's own values. */
  forward?: ForwardPlan;
}

/**
 * The request promfence sends upstream, rebuilt from parsed and enforced values only
 * (threat-model.md invariant 1): never the client's raw bytes.
 */
export interface ForwardPlan {
  /** GET or POST (the client's method; routes allow nothing else). */
  readonly method: 'GET' | 'POST';
  /** Canonical API path without the upstream prefix, already percent-encoded, e.g. `/api/v1/query`. */
  readonly path: string;
  /** Parameters in Go's `r.Form` order (body values first, then URL values). */
  readonly params: ReadonlyArray<readonly [string, string]>;
  /** Tenant header value (`a|b`) to set as `enforce.header`, or undefined for none. */
  readonly tenantHeader: string | undefined;
}

/** The context of this request; throws if the context middleware did not run (a wiring bug). */
export function ctx(res: Response): RequestContext {
  const c = (res.locals as { promfence?: RequestContext }).promfence;
  if (!c) throw new Error('promfence request context missing: context middleware not installed');
  return c;
}

/** Installs a fresh context (used by the first middleware). */
export function initContext(_req: Request, res: Response, id: string): RequestContext {
  const c: RequestContext = { id, startedAt: performance.now() };
  (res.locals as { promfence?: RequestContext }).promfence = c;
  return c;
}
