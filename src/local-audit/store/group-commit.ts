// Group commit: work asked for during one turn of the event loop is written in one transaction
// right after it (on setImmediate), and each caller's promise settles once that transaction has
// committed. With one SQLite connection, a commit per request would write the same table and index
// pages to the WAL again and again (and checkpoints copy them back); requests that arrive together
// share that cost, and none is answered before its data is durable.
//
// `write` runs the whole batch in one transaction and returns one result per item, in order. If it
// throws, the transaction has rolled back: `afterRollback` lets the owner bring its in-memory state
// back in line with the file, and every caller of the batch is refused with the error.
//
// `afterRollback` reads the file, so it can fail too (the I/O error or damage that failed the
// write). flush runs on setImmediate: an exception out of it would end the process with every
// caller's promise left unsettled. So the batch is refused with the write's error whatever
// happens to `afterRollback`, and while the in-memory state is not known to match the file
// nothing more is written on top of it: each next batch runs `afterRollback` first, and is refused
// with its error if it fails again.
export class GroupCommit<Item, Result> {
  private queued: Array<{ item: Item; resolve: (result: Result) => void; reject: (err: unknown) => void }> = [];
  /** A rollback whose `afterRollback` failed: it is owed before the next write. */
  private unsynced = false;

  constructor(
    private readonly write: (items: readonly Item[]) => Result[],
    private readonly afterRollback: () => void = () => {},
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queued.push({ item, resolve, reject });
      if (this.queued.length === 1) setImmediate(() => this.flush());
    });
  }

  /** Writes what is queued now (also when the service closes). Never throws. */
  flush(): void {
    const batch = this.queued;
    if (batch.length === 0) return;
    this.queued = [];
    if (this.unsynced) {
      try {
        this.resync();
      } catch (err) {
        for (const q of batch) q.reject(err);
        return;
      }
    }
    let results: Result[];
    try {
      results = this.write(batch.map((q) => q.item));
    } catch (err) {
      try {
        this.resync();
      } catch {
        // The batch is refused with the write's error; the next one tries again before it writes.
      }
      for (const q of batch) q.reject(err);
      return;
    }
    batch.forEach((q, i) => q.resolve(results[i]!));
  }

  private resync(): void {
    this.unsynced = true;
    this.afterRollback();
    this.unsynced = false;
  }
}
