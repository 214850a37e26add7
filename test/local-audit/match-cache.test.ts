// Kept matches (store/match-cache.ts): a search worker keeps the matches of recent searches and
// brings them up to date by looking only at the leaves added since. Checked here: the cache's own
// bounds and generations; then, on a real SQLite file written by the service's event store, that
// a search over a growing log answers exactly what the query's SQL selects over the whole log,
// ascending and descending, capped or not, with and without the trigram prefilter (its index
// caught up or lagging behind), while only the new leaves are looked at; that a new generation of the store (the file changed under the
// service) is searched afresh; and, through the service over HTTP, that a row rewritten by
// another connection is seen by the next search.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { join } from 'node:path';
import { microTimestamp } from '../../src/local-audit/core/clock.js';
import { STANDARD_SCHEMA } from '../../src/local-audit/index.js';
import { parseQuery } from '../../src/local-audit/query/index.js';
import { openDatabase, type Db } from '../../src/local-audit/store/database.js';
import { EventStore } from '../../src/local-audit/store/event-store.js';
import { MatchCache } from '../../src/local-audit/store/match-cache.js';
import { compileQuery } from '../../src/local-audit/store/query-sql.js';
import { searchFields } from '../../src/local-audit/store/search-fields.js';
import { SearchMatcher } from '../../src/local-audit/store/search-matcher.js';
import { SCHEMA } from '../support/custom-schema.js';
import { startTestService, tempDir } from '../support/local-audit.js';
import { trigramIndexOf, type TestTrigramIndex } from '../support/trigram-index.js';

type Json = Record<string, any>;

describe('MatchCache', () => {
  test('keeps at most its entries, least recently used out first', () => {
    const cache = new MatchCache(2, 1000);
    cache.set('a', 0, 10, [1]);
    cache.set('b', 0, 10, [2]);
    expect(cache.get('a', 0)?.leaves).toEqual([1]); // now the most recently used
    cache.set('c', 0, 10, [3]);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)?.leaves).toEqual([1]);
    expect(cache.get('c', 0)?.leaves).toEqual([3]);
    expect(cache.size).toBe(2);
  });

  test('keeps at most its leaves in all, and never one list longer than that', () => {
    const cache = new MatchCache(10, 5);
    cache.set('a', 0, 10, [1, 2, 3]);
    cache.set('b', 0, 10, [4, 5]);
    cache.set('c', 0, 10, [6]);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('b', 0)?.leaves).toEqual([4, 5]);
    cache.set('d', 0, 10, [1, 2, 3, 4, 5, 6]);
    expect(cache.get('d', 0)).toBeUndefined();
    expect(cache.get('c', 0)?.leaves).toEqual([6]);
  });

  test('matches of another generation are not handed out, and newer ones are not replaced by older', () => {
    const cache = new MatchCache(10, 100);
    cache.set('a', 0, 10, [1]);
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.get('a', 0)).toBeUndefined(); // dropped when the new generation asked
    cache.set('a', 1, 20, [2]);
    cache.set('a', 1, 15, [1]);
    expect(cache.get('a', 1)).toMatchObject({ treeSize: 20, leaves: [2] });
    cache.set('a', 2, 15, [3]);
    expect(cache.get('a', 2)).toMatchObject({ treeSize: 15, leaves: [3] });
  });
});

describe('searches over a growing log', () => {
  let db: Db;
  let store: EventStore;
  let index: TestTrigramIndex;
  const fields = searchFields(STANDARD_SCHEMA);
  const ACTORS = ['alice', 'bob', 'bobby', 'carol', 'dave-1', 'dave-12', 'eve'];

  beforeEach(() => {
    db = openDatabase(join(tempDir(), 'audit.sqlite'), STANDARD_SCHEMA);
    store = new EventStore(db, STANDARD_SCHEMA);
    index = trigramIndexOf(db, STANDARD_SCHEMA);
  });
  afterEach(() => {
    index.close();
    db.close();
  });

  function append(actors: readonly string[]): void {
    store.appendBatch(actors.map((actor, i) => ({ event: { message: `m ${actor} ${i}`, actor, target: `doc-${store.size + i}` }, received_at: microTimestamp() })));
  }

  function search(matcher: SearchMatcher, query: string, direction: 'asc' | 'desc', maxResults: number, generation = store.generation): readonly number[] {
    return matcher.matches(
      { query: compileQuery(query, fields), ast: parseQuery(query), orderBy: 'received_at', direction, maxResults, treeSize: store.size, receivedInLeafOrder: true, generation },
      10_000,
    );
  }

  /** What the query's SQL alone selects over the whole log. */
  function oracle(query: string, direction: 'asc' | 'desc', maxResults: number): number[] {
    const where = compileQuery(query, fields);
    const sql = `SELECT e.leaf_index FROM events e WHERE ${where.sql} ORDER BY e.leaf_index ${direction} LIMIT ${maxResults}`;
    return db.prepare(sql).pluck().all(...where.params) as number[];
  }

  test.each([
    ['without the trigram prefilter', 1_000_000],
    ['with the trigram prefilter on the new leaves', 0],
  ])('every answer is the whole log’s, and only the new leaves are looked at (%s)', (_, prefilterMinEvents) => {
    const matcher = new SearchMatcher(db, STANDARD_SCHEMA, { prefilterMinEvents, index: index.reader, onError: (err) => { throw err; } });
    const queries = ['actor:bob', 'actor:dave-1', 'actor:dave-12 OR actor:eve', '-actor:bob', 'doc-1', ''];
    let incremental = 0;
    let unindexed = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            added: fc.array(fc.constantFrom(...ACTORS), { maxLength: 40 }),
            query: fc.constantFrom(...queries),
            direction: fc.constantFrom('asc' as const, 'desc' as const),
            maxResults: fc.constantFrom(1, 7, 60, 10_000),
            // The index thread may or may not have caught up with the appends when a search runs.
            indexed: fc.boolean(),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (steps) => {
          for (const { added, query, direction, maxResults, indexed } of steps) {
            if (added.length > 0) append(added);
            if (indexed) index.catchUp();
            expect(search(matcher, query, direction, maxResults)).toEqual(oracle(query, direction, maxResults));
            if (matcher.lastRange.from > 0) incremental++;
            if (matcher.lastUnindexed > 0) unindexed++;
            expect(matcher.lastRange.to).toBe(store.size);
          }
        },
      ),
      { numRuns: 60 },
    );
    // The runs share the file and the matcher: most searches repeat one already kept.
    expect(incremental).toBeGreaterThan(100);
    // With the prefilter, many narrowed searches took leaves the index did not cover yet.
    if (prefilterMinEvents === 0) expect(unindexed).toBeGreaterThan(20);
  });

  test('a search kept at a larger size than asked runs afresh, below the size asked', () => {
    const matcher = new SearchMatcher(db, STANDARD_SCHEMA, { prefilterMinEvents: 1_000_000, onError: (err) => { throw err; } });
    append(['bob', 'bob', 'bob']);
    expect(search(matcher, 'actor:bob', 'desc', 100)).toEqual([2, 1, 0]);
    const older = matcher.matches(
      { query: compileQuery('actor:bob', fields), ast: parseQuery('actor:bob'), orderBy: 'received_at', direction: 'desc', maxResults: 100, treeSize: 2, receivedInLeafOrder: true, generation: store.generation },
      10_000,
    );
    expect(older).toEqual([1, 0]);
    expect(matcher.lastRange).toEqual({ from: 0, to: 2 });
  });

  test('in a new generation of the store (the file changed under the service) a search runs afresh', () => {
    const matcher = new SearchMatcher(db, STANDARD_SCHEMA, { prefilterMinEvents: 1_000_000, onError: (err) => { throw err; } });
    append(['alice', 'bob', 'carol', 'bob']);
    expect(search(matcher, 'actor:bob', 'desc', 100)).toEqual([3, 1]);
    // Another connection rewrites a committed row: what the service kept no longer holds.
    const other = new Database(db.name);
    other.prepare(`UPDATE events SET f_actor = 'bob' WHERE leaf_index = 0`).run();
    other.close();
    expect(store.changedElsewhere()).toBe(true);
    store.reload();
    expect(search(matcher, 'actor:bob', 'desc', 100)).toEqual([3, 1, 0]);
    expect(matcher.lastRange).toEqual({ from: 0, to: 4 });
    // The same generation again: kept, nothing looked at.
    expect(search(matcher, 'actor:bob', 'desc', 100)).toEqual([3, 1, 0]);
    expect(matcher.lastRange).toEqual({ from: 4, to: 4 });
  });
});

test('through the service, a row another connection rewrites is seen by the next search', async () => {
  const svc = await startTestService({ prefilterMinEvents: 1_000_000 });
  try {
    const logged = await svc.post<Json>('v2/log', { events: ['alice', 'bob', 'carol'].map((actor, i) => ({ event: { message: `m${i}`, actor } })) });
    expect(logged.status).toBe('Success');
    const messages = async (): Promise<string[]> => {
      const r = await svc.post<Json>('v1/search', { query: 'actor:bob', limit: 100, order: 'asc', verbose: true });
      expect(r.status).toBe('Success');
      return r.result.events.map((e: Json) => e.envelope.event.message);
    };
    expect(await messages()).toEqual(['m1']);
    expect(await messages()).toEqual(['m1']);
    const other = new Database(svc.log.db.name);
    other.prepare(`UPDATE events SET f_actor = 'bob' WHERE leaf_index = 2`).run();
    other.close();
    expect(await messages()).toEqual(['m1', 'm2']);
  } finally {
    await svc.destroy();
  }
});

test('a query with integers past 2^53 (bigint parameters) is kept and brought up to date like any other', async () => {
  const svc = await startTestService({ schema: SCHEMA, prefilterMinEvents: 1_000_000 });
  try {
    const log = async (count: number): Promise<void> => {
      expect((await svc.post<Json>('v1/log', { event: { message: 'm', who: 'a', count } })).status).toBe('Success');
    };
    const count = async (query: string): Promise<number> => {
      const r = await svc.post<Json>('v1/search', { query, limit: 1 });
      expect(r.status).toBe('Success');
      return r.result.count;
    };
    await log(7);
    await log(8);
    expect(await count('count<9223372036854775807')).toBe(2);
    expect(await count('count>-9223372036854775808 count<9')).toBe(2);
    await log(9);
    expect(await count('count<9223372036854775807')).toBe(3);
    expect(await count('count>-9223372036854775808 count<9')).toBe(2);
  } finally {
    await svc.destroy();
  }
});
