// Whether the service can write: the last write to the store failed for a storage reason (disk
// full, I/O error, read-only or damaged file, lock not obtained), and no append has committed since.
// /ready answers 503 with the reason meanwhile (http/readiness.ts), so a service that acknowledges
// nothing is not reported ready while its reads still work.

/**
 * SQLite's result codes (better-sqlite3's `code`, extended codes included) that say the store
 * cannot write, as opposed to a request the store refused (a constraint, a malformed statement).
 */
const STORAGE_FAILURE = /^SQLITE_(FULL|IOERR|READONLY|CORRUPT|NOTADB|CANTOPEN|BUSY|LOCKED|PERM|NOLFS|PROTOCOL)(_|$)/;

export function isStorageFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STORAGE_FAILURE.test(code);
}

export type WriteState = { ok: true } | { ok: false; reason: string; since: string };

export class WriteHealth {
  private failure: { reason: string; since: string; writtenBefore: number } | undefined;

  /**
   * `written` counts committed writes (the log's size: it grows only when an append commits, from
   * this process or another). A failure holds until it grows past what it was at the failure, so
   * any append that commits ends it, whoever made it. Readiness does not write a probe of its
   * own: a small probe can succeed on a disk too full for the appends that failed.
   */
  constructor(private readonly written: () => number) {}

  /** Records `err` when it is a storage failure; anything else says nothing about the store. */
  noteError(err: unknown): void {
    if (!isStorageFailure(err)) return;
    const reason = `${(err as { code: string }).code}: ${(err as Error).message}`;
    // `since` stays at the first failure of a run of them: how long writes have been failing.
    this.failure = { reason, since: this.failure?.since ?? new Date().toISOString(), writtenBefore: this.written() };
  }

  state(): WriteState {
    if (this.failure && this.written() > this.failure.writtenBefore) this.failure = undefined;
    return this.failure ? { ok: false, reason: this.failure.reason, since: this.failure.since } : { ok: true };
  }
}
