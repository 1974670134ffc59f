/**
 * Test helper: enforcement options from a tenant grant, the shape most engine tests think in
 * (`label`, `tenants`, `syntax`, …) → src/enforce's `EnforceOptions` with a tenant policy.
 */
import { tenantPolicy, type TenantSet } from '../../src/access/index.ts';
import type { EnforceOptions, Syntax } from '../../src/enforce/index.ts';

/** A tenant grant and the other enforcement options. */
export interface TenantOptions {
  readonly label: string;
  readonly tenants: TenantSet;
  readonly syntax: Syntax;
  readonly maxQueryBytes?: number | undefined;
  readonly rejectForeignTenant?: boolean;
}

/** `EnforceOptions` whose policy is `tenantPolicy(label, tenants)`. */
export function topts(o: TenantOptions): EnforceOptions {
  return {
    policy: tenantPolicy(o.label, o.tenants),
    syntax: o.syntax,
    ...(o.maxQueryBytes === undefined ? {} : { maxQueryBytes: o.maxQueryBytes }),
    ...(o.rejectForeignTenant === undefined ? {} : { rejectForeignTenant: o.rejectForeignTenant }),
  };
}
