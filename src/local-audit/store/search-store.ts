// v1/search's store: how the query compiler sees the events table (`fields`) and the matching
// leaf indexes of a compiled query, found off the main thread by the search workers
// (search-pool.ts, search-worker.ts, search-matcher.ts has the SQL), except a plain time range,
// which is a run of leaves (time-range-leaves.ts).
import type { AuditSchema } from '../audit-schema.js';
import type { FieldResolver } from '../query/index.js';
import type { Db } from './database.js';
import type { EventStore } from './event-store.js';
import type { MatchQuery } from './search-matcher.js';
import { searchFields } from './search-fields.js';
import { SearchPool } from './search-pool.js';
import { TimeRangeLeaves } from './time-range-leaves.js';

export type { MatchQuery } from './search-matcher.js';

/** How long one search may run before it ends with "search too expensive: narrow it". */
export const DEFAULT_SEARCH_DEADLINE_MS = 10_000;
/** Search worker threads per service. */
export const DEFAULT_SEARCH_WORKERS = 2;
/** Searches that may wait for a worker. */
const MAX_QUEUED_SEARCHES = 64;

interface SearchStoreOptions {
  /** Below this many events a scan of the whole table is cheaper than the index lookup. */
  prefilterMinEvents: number;
  /** The trigram index file (TrigramIndexer.path), when the schema has indexed fields. */
  indexPath?: string;
  onError: (err: unknown) => void;
  deadlineMs?: number;
  workers?: number;
}

export class SearchStore {
  /** How the query compiler sees the events table. */
  readonly fields: FieldResolver;
  private readonly pool: SearchPool;
  private readonly timeRange: TimeRangeLeaves;

  constructor(
    db: Db,
    schema: AuditSchema,
    private readonly events: EventStore,
    options: SearchStoreOptions,
  ) {
    this.fields = searchFields(schema);
    this.timeRange = new TimeRangeLeaves(db);
    this.pool = new SearchPool({
      path: db.name,
      indexPath: options.indexPath,
      schema,
      prefilterMinEvents: options.prefilterMinEvents,
      workers: options.workers ?? DEFAULT_SEARCH_WORKERS,
      maxQueued: MAX_QUEUED_SEARCHES,
      deadlineMs: options.deadlineMs ?? DEFAULT_SEARCH_DEADLINE_MS,
      onError: options.onError,
    });
  }

  /**
   * The matching leaf indexes, in result order, at most `maxResults`, among the leaves below
   * `treeSize`: those were committed before this call, so the worker's snapshot, taken after it,
   * holds every one of them. Rejects with "search too expensive" past the deadline. The store's
   * generation goes along, so a worker does not reuse matches it kept from before the file changed
   * under the service.
   */
  matches(q: Omit<MatchQuery, 'receivedInLeafOrder' | 'generation'>): Promise<readonly number[]> {
    // Nothing is below size 0, whatever the query: an empty log (a fresh service, whose gateway
    // asks whether it holds any event before it listens) needs no search thread, which would
    // first have to start.
    if (q.treeSize === 0) return Promise.resolve([]);
    const query = { ...q, receivedInLeafOrder: this.events.arrival.receivedInLeafOrder };
    // A plain time range is a run of leaves, found here at once rather than after a wait for a
    // search thread (which runs at a lower priority than this one).
    const run = this.timeRange.matches(query);
    if (run) return Promise.resolve(run);
    return this.pool.run({ ...query, generation: this.events.generation });
  }

  /** Starts the search workers now instead of with the first searches (SearchPool.warm): how many it started. */
  warm(): number {
    return this.pool.warm();
  }

  /** Search worker threads running now. */
  get workers(): number {
    return this.pool.workers;
  }

  /** Terminates the search workers. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
