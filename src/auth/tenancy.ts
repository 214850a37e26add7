// Tenant binding: a caller bound to a tenant logs only that tenant's events (the tenant is set
// when missing, a different one is refused).
import type { Caller } from './caller.js';
import { ForbiddenError } from './errors.js';

export function applyTenant(caller: Caller, event: Record<string, unknown>): Record<string, unknown> {
  const tenant = caller.tenantId;
  if (tenant === undefined) return event;
  const given = event.tenant_id;
  if (given !== undefined && given !== null && given !== tenant) {
    throw new ForbiddenError(`you may only log events of tenant ${tenant}`);
  }
  return { ...event, tenant_id: tenant };
}
