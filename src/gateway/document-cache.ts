// The parsed-document and parse-error caches the gateway gives yoga (parserAndValidationCache).

/**
 * Yoga caches parsed documents and parse errors (1024 of each, an hour) keyed by the whole
 * document text, so every unique near-limit body stayed in memory: about 2 GiB at the 1 MiB body
 * limit. Real operations are a few KiB; longer documents are parsed every time instead.
 */
export const CACHEABLE_DOCUMENT_CHARS = 8 * 1024;
export const CACHED_DOCUMENTS = 512;

/**
 * At most CACHED_DOCUMENTS entries, in two generations. A hit in the newer one changes nothing:
 * reordering an LRU list on every hit would delete and re-set the entry under each request's own
 * copy of the document text, leaving the young-generation collector a key string and a rehashed
 * table to copy on every request. A hit in the older generation moves the entry to the newer; a
 * full newer generation becomes the older one, and the older one is dropped.
 */
export function documentCache<T>(): { get(key: string): T | undefined; set(key: string, value: T): void } {
  const generation = CACHED_DOCUMENTS / 2;
  let newer = new Map<string, T>();
  let older = new Map<string, T>();
  const keep = (key: string, value: T): void => {
    if (!newer.has(key) && newer.size >= generation) {
      older = newer;
      newer = new Map();
    }
    newer.set(key, value);
  };
  return {
    get(key) {
      const value = newer.get(key);
      if (value !== undefined) return value;
      const aged = older.get(key);
      if (aged !== undefined) {
        older.delete(key);
        keep(key, aged);
      }
      return aged;
    },
    set(key, value) {
      if (key.length > CACHEABLE_DOCUMENT_CHARS) return;
      older.delete(key);
      keep(key, value);
    },
  };
}
