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
