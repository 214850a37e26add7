// The trigram shares the prefilter picks a value's rarest trigrams by (store/trigram-sample.ts),
// read from a real SQLite file written by the service's own event store: exact while the log is no
// larger than the sample, unknown for an empty log, re-sampled as the log grows, and trigrams as
// the FTS5 trigram tokenizer counts them (code points, not UTF-16 units).
import { join } from 'node:path';
import { microTimestamp } from '../../src/local-audit/core/clock.js';
import { STANDARD_SCHEMA } from '../../src/local-audit/index.js';
import { openDatabase, type Db } from '../../src/local-audit/store/database.js';
import { EventStore } from '../../src/local-audit/store/event-store.js';
import { TrigramSample, trigramsOf } from '../../src/local-audit/store/trigram-sample.js';
import { tempDir } from '../support/local-audit.js';

let db: Db;
let store: EventStore;

beforeEach(() => {
  db = openDatabase(join(tempDir(), 'audit.sqlite'), STANDARD_SCHEMA);
  store = new EventStore(db, STANDARD_SCHEMA);
});
afterEach(() => db.close());

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
