// STUB written by the coordinator: signatures are the contract; the engine helper replaces
// the bodies (keep names, parameter shapes and semantics).
import type { TenantSet } from './tenants.ts';

/** Which parser dialect the upstream accepts. `auto` is resolved by the gateway before calling. */
export type Syntax = 'prometheus2' | 'prometheus3';

/** Options of every enforcement call. */
export interface EnforceOptions {
  /** Label injected into every selector, e.g. `tenant`. */
  readonly label: string;
  /** Tenants the caller may read. */
  readonly tenants: TenantSet;
  /** Upstream dialect. */
  readonly syntax: Syntax;
  /** Maximum query text length in bytes (UTF-8). Default 32768. */
  readonly maxQueryBytes?: number;
  /** A user equality matcher on `label` naming a tenant outside the set is an error (`forbidden_tenant`). Default true. */
  readonly rejectForeignTenant?: boolean;
}

/** Enforces a PromQL expression; returns the canonical enforced text. Throws PromQLError. */
export function enforceQuery(_query: string, _opts: EnforceOptions): string {
  throw new Error('not implemented');
}

/** Enforces one series selector (`match[]`); returns the canonical enforced selector. Throws PromQLError. */
export function enforceSeriesSelector(_selector: string, _opts: EnforceOptions): string {
  throw new Error('not implemented');
}

/** The selector added when no `match[]` is given: `{tenant="a"}` or `{tenant=~"a|b"}`; undefined for all tenants. */
export function tenantSelector(_label: string, _tenants: TenantSet): string | undefined {
  throw new Error('not implemented');
}
