// Who is calling the gateway: the scopes it holds and, optionally, the one tenant it is bound to
// (it then only sees and writes that tenant's events).
import { SCOPES, type Scope } from './scopes.js';

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
