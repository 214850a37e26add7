// The request ids the gateway hands out for the jobs it starts (logBulkAsync, export): a sealed
// handle (auth/sealed.ts) holding the upstream's request id, the kind of job, the caller and tenant
// that started it, and an expiry. pollResult opens it to know whose job it is and which scope may
// see it, with no state kept: ownership survives restarts and holds on every replica sharing the
// cursor secret (the key is derived from it).
import { SealedBox } from './sealed.js';

export type JobKind = 'logBulkAsync' | 'export';

export interface JobHandle {
  /** The upstream's request id. */
  upstreamId: string;
  kind: JobKind;
  callerId: string;
  tenantId: string | undefined;
  /** When the handle stops opening (ms since epoch): long after the upstream has forgotten the job. */
  expiresAtMs: number;
}

/** How long a handle opens: upstream jobs and their results are kept for hours, not days. */
export const JOB_HANDLE_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
const KINDS: readonly string[] = ['logBulkAsync', 'export'];

export class JobHandles {
  private readonly box: SealedBox;

  constructor(
    secret: Buffer,
    private readonly now: () => number = Date.now,
  ) {
    this.box = new SealedBox(secret, 'audit-gateway request handles', 'audit-gateway request handle v1');
  }

  seal(job: Omit<JobHandle, 'expiresAtMs'>): string {
    return this.box.seal({ u: job.upstreamId, k: job.kind, c: job.callerId, t: job.tenantId ?? null, e: this.now() + JOB_HANDLE_LIFETIME_MS });
  }

  /** The job behind a handle; undefined when forged, altered, sealed under another secret or expired. */
  open(handle: string): JobHandle | undefined {
    const body = this.box.open(handle) as { u?: unknown; k?: unknown; c?: unknown; t?: unknown; e?: unknown } | undefined;
    if (body === undefined || body === null || typeof body !== 'object') return undefined;
    const { u, k, c, t, e } = body;
    if (typeof u !== 'string' || typeof k !== 'string' || !KINDS.includes(k) || typeof c !== 'string' || typeof e !== 'number') return undefined;
    if (t !== null && typeof t !== 'string') return undefined;
    if (!(this.now() < e)) return undefined;
    return { upstreamId: u, kind: k as JobKind, callerId: c, tenantId: t ?? undefined, expiresAtMs: e };
  }
}
