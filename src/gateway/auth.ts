// Who is calling the gateway. Every GraphQL field is guarded by one of these scopes (Pothos
// scope-auth); a caller bound to a tenant only sees and writes that tenant's events.

export const SCOPES = ['audit:log', 'audit:search', 'audit:export', 'audit:root'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Caller {
  /** A name for logs (never a secret). */
  id: string;
  scopes: ReadonlySet<Scope>;
  /** When set, the caller may only log, search, page, download and export this tenant's events. */
  tenantId?: string;
  /** Pass-through mode: the caller's own upstream token, forwarded as is. */
  upstreamToken?: string;
}

/** The caller of a gateway with no caller authentication (loopback only): every scope, no tenant. */
export const LOCAL_CALLER: Caller = Object.freeze({ id: 'local', scopes: new Set(SCOPES) });
