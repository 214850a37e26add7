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
  /**
   * When the credential stops being valid, in milliseconds since the epoch (a JWT's `exp`); unset
   * for credentials that do not expire (API keys). A request is authenticated once, so whatever
   * outlives it (a WebSocket, a live tail) ends here.
   */
  expiresAt?: number;
}

/** The caller of a gateway with no caller authentication (loopback only): every scope, no tenant. */
export const LOCAL_CALLER: Caller = Object.freeze({ id: 'local', scopes: new Set(SCOPES) });

export function hasExpired(caller: Caller, now = Date.now()): boolean {
  return caller.expiresAt !== undefined && caller.expiresAt <= now;
}

/** Node's timers take at most 2^31-1 ms (about 24.8 days) and fire at once for anything longer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `expire` once the caller's credential has expired (at once if it already has; never for
 * one that does not expire), without keeping the process alive. Returns what cancels it.
 */
export function whenExpired(caller: Caller, expire: () => void): () => void {
  const at = caller.expiresAt;
  if (at === undefined) return () => {};
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const left = at - Date.now();
    if (left <= 0) return expire();
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS)).unref();
  };
  arm();
  return () => clearTimeout(timer);
}
