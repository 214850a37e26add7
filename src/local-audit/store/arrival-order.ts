// Whether the log's received_at times rise with leaf index, event after event. The service stamps
// received_at just before appending, from a clock that never steps back (core/clock.ts, seeded
// past the last stored time at start-up), so they do; then a search ordered by received_at can
// walk the events table by leaf index (its rowid) instead of the received_at index and a row
// lookup per match. If the times ever fall out of step (a data directory written by something
// else, say), the flag drops for good and searches use the index again.
//
// The flag in `meta` is "leaf:<n>" (the first n events are in step) or "mixed". It is written with
// every append, so events appended by something that does not keep it (another tool, or a version
// of this service without the flag) are checked when the directory is next opened: all of them when there is
// no flag, the ones after n otherwise.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

const META_KEY = 'received_at_order';

export class ArrivalOrder {
  private readonly setFlag: Database.Statement<[string]>;
  private readonly readFlag: Database.Statement<[], string | undefined>;
  private readonly readLast: Database.Statement<[], string | undefined>;
  private inOrder = true;
  /** 'mixed' is written once. */
  private flagDropped = false;
  private last: string | undefined;

  /** `size`: the number of events (the tree size). */
  constructor(db: Db, size: number) {
    this.setFlag = db.prepare(`INSERT INTO meta (key, value) VALUES ('${META_KEY}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    this.readFlag = db.prepare<[], string | undefined>(`SELECT value FROM meta WHERE key = '${META_KEY}'`).pluck();
    this.readLast = db.prepare<[], string | undefined>('SELECT received_at FROM events ORDER BY leaf_index DESC LIMIT 1').pluck();
    const flag = this.readFlag.get();
    if (flag !== 'mixed') {
      const checked = /^leaf:(\d+)$/.exec(flag ?? '');
      const from = checked ? Number(checked[1]) : 0;
      if (from !== size) {
        // Events nobody checked as they were appended: compare each with the one before it.
        const outOfStep = db
          .prepare(
            'SELECT EXISTS (SELECT 1 FROM (SELECT received_at, lag(received_at) OVER (ORDER BY leaf_index) AS prev FROM events WHERE leaf_index >= ?) WHERE received_at <= prev)',
          )
          .pluck()
          .get(Math.max(0, from - 1)) as number;
        this.setFlag.run(outOfStep ? 'mixed' : `leaf:${size}`);
      }
    }
    this.reload();
  }

  /** True while every event's received_at is later than the one before it. */
  get receivedInLeafOrder(): boolean {
    return this.inOrder;
  }

  /** received_at of the last event, if any. */
  get lastReceivedAt(): string | undefined {
    return this.last;
  }

  /**
   * Notes the received_at times of events being appended, in leaf order, inside the append's
   * transaction (the flag is written with the events). Call `reload()` if that transaction rolls
   * back.
   */
  append(receivedAt: readonly string[], sizeAfter: number): void {
    for (const time of receivedAt) {
      // Fixed-width RFC 3339 UTC (microTimestamp): text order is time order.
      if (this.inOrder && this.last !== undefined && !(time > this.last)) this.inOrder = false;
      this.last = time;
    }
    if (this.inOrder) this.setFlag.run(`leaf:${sizeAfter}`);
    else if (!this.flagDropped) {
      this.setFlag.run('mixed');
      this.flagDropped = true;
    }
  }

  reload(): void {
    this.inOrder = this.readFlag.get() !== 'mixed';
    this.flagDropped = !this.inOrder;
    this.last = this.readLast.get();
  }
}
