// The parse caches the gateway gives yoga: bounded, a document in use stays, a long one is never kept.
import { CACHEABLE_DOCUMENT_CHARS, CACHED_DOCUMENTS, documentCache } from '../../src/gateway/document-cache.js';

const doc = (i: number) => `query Q${i} { __typename }`;

describe('documentCache', () => {
  test('returns what was set, and nothing for a document never set', () => {
    const cache = documentCache<string>();
    cache.set(doc(1), 'parsed 1');
    expect(cache.get(doc(1))).toBe('parsed 1');
    expect(cache.get(doc(2))).toBeUndefined();
  });

  test('a document longer than CACHEABLE_DOCUMENT_CHARS is not kept', () => {
    const cache = documentCache<string>();
    const long = `query { __typename } # ${'x'.repeat(CACHEABLE_DOCUMENT_CHARS)}`;
    cache.set(long, 'parsed');
    expect(cache.get(long)).toBeUndefined();
  });

  test('holds at most CACHED_DOCUMENTS documents, and forgets the ones not used for longest', () => {
    const cache = documentCache<number>();
    const total = CACHED_DOCUMENTS * 3;
    for (let i = 0; i < total; i++) cache.set(doc(i), i);
    const kept = Array.from({ length: total }, (_, i) => i).filter((i) => cache.get(doc(i)) !== undefined);
    expect(kept.length).toBeLessThanOrEqual(CACHED_DOCUMENTS);
    expect(kept.length).toBeGreaterThanOrEqual(CACHED_DOCUMENTS / 2);
    // What is kept is the most recent documents, never an early one.
    expect(Math.min(...kept)).toBeGreaterThanOrEqual(total - CACHED_DOCUMENTS);
  });

  test('a document asked for all along stays while many others come and go', () => {
    const cache = documentCache<number>();
    cache.set(doc(-1), -1);
    for (let i = 0; i < CACHED_DOCUMENTS * 10; i++) {
      cache.set(doc(i), i);
      if (i % 100 === 0) expect(cache.get(doc(-1))).toBe(-1);
    }
    expect(cache.get(doc(-1))).toBe(-1);
  });

  test('setting a document again replaces its value without dropping others', () => {
    const cache = documentCache<string>();
    cache.set(doc(1), 'a');
    cache.set(doc(2), 'b');
    cache.set(doc(1), 'c');
    expect(cache.get(doc(1))).toBe('c');
    expect(cache.get(doc(2))).toBe('b');
  });
});
