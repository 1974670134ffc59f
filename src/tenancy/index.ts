/** Tenant resolution and narrowing (pure functions), and tenant ID syntax. */
export { grantedTenants, narrowTenants, parseTenantHeader } from './resolve.ts';
export { tenantIdProblem, quoteForMessage, ALL_TENANTS_WILDCARD, MAX_TENANT_ID_BYTES } from './tenant-id.ts';
