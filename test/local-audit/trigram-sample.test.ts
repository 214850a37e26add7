// The trigram shares the prefilter picks a value's rarest trigrams by (store/trigram-sample.ts),
// read from a real SQLite file written by the service's own event store: exact while the log is no
// larger than the sample, unknown for an empty log, re-sampled as the log grows, and trigrams as
// the FTS5 trigram tokenizer counts them (code points, not UTF-16 units). Then the search matcher
// with them: a long value is looked up by its rarest trigrams, and when a stale sample picks
// trigrams that name more events than the prefilter takes, by its phrase; with an index far
// behind the log, by a scan; the matches are always the ones the query's own SQL selects.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { microTimestamp } from '../../src/local-audit/core/clock.js';
import { STANDARD_SCHEMA } from '../../src/local-audit/index.js';
import { openDatabase, type Db } from '../../src/local-audit/store/database.js';
import { EventStore } from '../../src/local-audit/store/event-store.js';
import { compileQuery } from '../../src/local-audit/store/query-sql.js';
import { searchFields } from '../../src/local-audit/store/search-fields.js';
import { SearchMatcher } from '../../src/local-audit/store/search-matcher.js';
import { parseQuery } from '../../src/local-audit/query/index.js';
import { TrigramSample, trigramsOf } from '../../src/local-audit/store/trigram-sample.js';
import { tempDir } from '../support/local-audit.js';
import { trigramIndexOf, type TestTrigramIndex } from '../support/trigram-index.js';

let db: Db;
let store: EventStore;
let index: TestTrigramIndex | undefined;

beforeEach(() => {
  db = openDatabase(join(tempDir(), 'audit.sqlite'), STANDARD_SCHEMA);
  store = new EventStore(db, STANDARD_SCHEMA);
});
afterEach(() => {
  index?.close();
  index = undefined;
  db.close();
});

function append(count: number, actor: (i: number) => string): void {
  const first = store.size;
  store.appendBatch(Array.from({ length: count }, (_, i) => ({ event: { message: 'm', actor: actor(first + i), target: `doc-${first + i}` }, received_at: microTimestamp() })));
}

test('trigrams are those of the FTS5 trigram tokenizer: three code points each, overlapping', () => {
  expect(trigramsOf('bobby')).toEqual(['bob', 'obb', 'bby']);
  expect(trigramsOf('ab')).toEqual([]);
  expect(trigramsOf('a👩‍💻b')).toEqual(['a👩\u200d', '👩\u200d💻', '\u200d💻b']);
});

test('an empty log has no estimate; a log within the sample size gets exact shares', () => {
  const sample = new TrigramSample(db, ['f_actor', 'f_target']);
  expect(sample.share('f_actor', 'bob', 0)).toBeUndefined();
  append(400, (i) => (i % 4 === 0 ? 'bobby' : i % 4 === 1 ? 'robert' : `user-${i}`));
  expect(sample.share('f_actor', 'bob', store.size)).toBe(0.25);
  expect(sample.share('f_actor', 'obe', store.size)).toBe(0.25);
  expect(sample.share('f_actor', 'ser', store.size)).toBe(0.5);
  // Counted once per event, however often it occurs in the value.
  expect(sample.share('f_target', 'doc', store.size)).toBe(1);
  expect(sample.share('f_target', 'bob', store.size)).toBe(0);
  expect(sample.share('f_actor', 'zzz', store.size)).toBe(0);
});

test('a sample of a larger log estimates the shares, and a grown log is sampled again', () => {
  append(5000, (i) => (i % 10 === 0 ? `rare-${i}` : `common-${i % 7}`));
  const sample = new TrigramSample(db, ['f_actor']);
  const rare = sample.share('f_actor', 'are', store.size)!;
  expect(rare).toBeGreaterThan(0.05);
  expect(rare).toBeLessThan(0.15);
  expect(sample.share('f_actor', 'omm', store.size)!).toBeGreaterThan(0.85);
  // Five times as many events of a new actor: the next estimate for the grown log sees them.
  append(25_000, () => 'newcomer');
  expect(sample.share('f_actor', 'wco', store.size)!).toBeGreaterThan(0.75);
  // Asked about the size already sampled, it does not sample again (the same estimate).
  expect(sample.share('f_actor', 'wco', store.size)).toBe(sample.share('f_actor', 'wco', store.size));
});

test('the counts kept stay bounded whatever the values', () => {
  // 2000 events of 200 random characters: far more distinct trigrams than the cap in the sample.
  append(2000, () => randomBytes(150).toString('base64url'));
  const sample = new TrigramSample(db, ['f_actor']);
  // A trigram no base64url value holds ('doc' was found in one now and then).
  expect(sample.share('f_actor', 'd.c', store.size)).toBe(0);
  expect(sample.kept).toBe(20_000);
});

describe('the search matcher with the sample', () => {
  const fields = searchFields(STANDARD_SCHEMA);

  function search(matcher: SearchMatcher, query: string): readonly number[] {
    return matcher.matches(
      { query: compileQuery(query, fields), ast: parseQuery(query), orderBy: 'received_at', direction: 'desc', maxResults: 10_000, treeSize: store.size, receivedInLeafOrder: true, generation: 0 },
      10_000,
    );
  }

  /** What the query's SQL alone selects, newest first. */
  function oracle(actor: string): number[] {
    return db.prepare('SELECT leaf_index FROM events WHERE instr(f_actor, ?) > 0 ORDER BY leaf_index DESC LIMIT 10000').pluck().all(actor) as number[];
  }

  test('a long value is looked up by its rarest trigrams', () => {
    append(8000, (i) => `load-x1-client-${i % 16}`);
    index = trigramIndexOf(db, STANDARD_SCHEMA);
    const matcher = new SearchMatcher(db, STANDARD_SCHEMA, { prefilterMinEvents: 0, index: index.reader, onError: (err) => { throw err; } });
    const found = search(matcher, 'actor:load-x1-client-3');
    expect(matcher.lastNarrowing).toBe('rarest trigrams');
    expect(found).toHaveLength(500);
    expect(found).toEqual(oracle('load-x1-client-3'));
    // Two trigrams or fewer: the phrase.
    expect(search(matcher, 'actor:t-3')).toEqual(oracle('t-3'));
    expect(matcher.lastNarrowing).toBe('phrases');
  });

  test('trigrams a stale sample takes for rare that name more events than the prefilter takes: the phrase instead', () => {
    append(50_000, (i) => `plain-${i}`);
    index = trigramIndexOf(db, STANDARD_SCHEMA);
    const matcher = new SearchMatcher(db, STANDARD_SCHEMA, { prefilterMinEvents: 0, index: index.reader, onError: (err) => { throw err; } });
    expect(search(matcher, 'actor:plain-4242')).toEqual(oracle('plain-4242')); // samples the 50,000
    // 24% more events, all with trigrams the sample never saw: no new sample yet.
    append(12_000, (i) => `zq-common-${i - 50_000}`);
    index.catchUp();
    const found = search(matcher, 'actor:zq-common-5');
    expect(matcher.lastNarrowing).toBe('phrases');
    expect(found).toHaveLength(1111); // 5, 50..59, 500..599, 5000..5999
    expect(found).toEqual(oracle('zq-common-5'));
  });

  test('an index far behind the log: more unindexed events than the prefilter takes are scanned, a few are added to the candidates', () => {
    append(1000, (i) => `early-${i}`);
    index = trigramIndexOf(db, STANDARD_SCHEMA);
    const matcher = new SearchMatcher(db, STANDARD_SCHEMA, { prefilterMinEvents: 0, index: index.reader, onError: (err) => { throw err; } });
    // 10,500 events the index does not cover yet (its thread behind, or not running).
    append(10_500, (i) => `late-${i}`);
    expect(search(matcher, 'actor:late-7777')).toEqual(oracle('late-7777'));
    expect(matcher.lastNarrowing).toBe('none');
    expect(search(matcher, 'actor:early-99')).toEqual(oracle('early-99'));
    expect(matcher.lastNarrowing).toBe('none');
    // Caught up but for the last 300: the index narrows, and those 300 are candidates.
    index.catchUp();
    append(300, (i) => `tail-${i}`);
    expect(search(matcher, 'actor:tail-29')).toEqual(oracle('tail-29'));
    expect(search(matcher, 'actor:late-7777')).toEqual(oracle('late-7777'));
    expect(matcher.lastNarrowing).not.toBe('none');
    expect(matcher.lastUnindexed).toBe(300);
  });
});
