// Whether the log's received_at times rise with leaf index, event after event. The service stamps
// received_at just before appending, from a clock that never steps back (http/envelope.ts, seeded
// past the last stored time at start-up), so they do; then a search ordered by received_at can
// walk the events table by leaf index (its rowid) instead of the received_at index and a row
// lookup per match. If the times ever fall out of step (a data directory written by something
// else, say), the flag drops for good and searches use the index again.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

const META_KEY = 'received_at_order';

export class ArrivalOrder {
  private readonly setFlag: Database.Statement<[string]>;
  private readonly readFlag: Database.Statement<[], string | undefined>;
  private readonly readLast: Database.Statement<[], string | undefined>;
  private inOrder = true;
  private last: string | undefined;

  constructor(db: Db) {
    this.setFlag = db.prepare(`INSERT INTO meta (key, value) VALUES ('${META_KEY}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    this.readFlag = db.prepare<[], string | undefined>(`SELECT value FROM meta WHERE key = '${META_KEY}'`).pluck();
    this.readLast = db.prepare<[], string | undefined>('SELECT received_at FROM events ORDER BY leaf_index DESC LIMIT 1').pluck();
    if (this.readFlag.get() === undefined) {
      // A new data directory, or one from before the flag: check every consecutive pair once.
      const outOfStep = db
        .prepare('SELECT EXISTS (SELECT 1 FROM (SELECT received_at, lag(received_at) OVER (ORDER BY leaf_index) AS prev FROM events) WHERE received_at <= prev)')
        .pluck()
        .get() as number;
      this.setFlag.run(outOfStep ? 'mixed' : 'leaf');
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
  append(receivedAt: readonly string[]): void {
    for (const time of receivedAt) {
      // Fixed-width RFC 3339 UTC (microTimestamp): text order is time order.
      if (this.inOrder && this.last !== undefined && !(time > this.last)) {
        this.inOrder = false;
        this.setFlag.run('mixed');
      }
      this.last = time;
    }
  }

  reload(): void {
    this.inOrder = this.readFlag.get() === 'leaf';
    this.last = this.readLast.get();
  }
}
