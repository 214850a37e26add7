// The pieces of persisted operations that need no server: the bounded APQ store, the trusted
// documents file and the configuration.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';
import { boundedAPQStore, loadPersistedOperations, MAX_PERSISTED_QUERY_CHARS } from '../../src/gateway/persisted-operations.js';
import { LIMITS } from '../../src/gateway/protections.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

test('the APQ store keeps at most maxEntries documents, dropping the least recently used', async () => {
  const store = boundedAPQStore(2);
  await store.set('a', '{ a }');
  await store.set('b', '{ b }');
  expect(await store.get('a')).toBe('{ a }');
  await store.set('c', '{ c }');
  expect([await store.get('a'), await store.get('b'), await store.get('c')]).toEqual(['{ a }', undefined, '{ c }']);
});

test('the APQ store keeps no document over the token or size limit', async () => {
  const store = boundedAPQStore(10);
  const manyTokens = `{ ${'a '.repeat(LIMITS.tokens)}}`;
  const long = `{ a(s: "${'x'.repeat(MAX_PERSISTED_QUERY_CHARS)}") }`;
  await store.set('tokens', manyTokens);
  await store.set('long', long);
  await store.set('fits', `{ ${'a '.repeat(LIMITS.tokens - 2)}}`);
  expect([await store.get('tokens'), await store.get('long'), await store.get('fits')]).toEqual([undefined, undefined, expect.any(String)]);
});

describe('loadPersistedOperations', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'persisted-ops-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  test('reads codegen’s map and refuses an id that is not its document’s sha256', () => {
    const doc = '{ root { __typename } }';
    expect(loadPersistedOperations(file('ok.json', JSON.stringify({ [`sha256:${sha256(doc)}`]: doc })))).toEqual(new Map([[`sha256:${sha256(doc)}`, doc]]));
    expect(() => loadPersistedOperations(file('edited.json', JSON.stringify({ [`sha256:${sha256(doc)}`]: '{ __schema { types { name } } }' })))).toThrow(/is not the sha256 of its document/);
  });

  test('a missing, malformed or empty file is a ConfigError', () => {
    expect(() => loadPersistedOperations(join(dir, 'absent.json'))).toThrow(ConfigError);
    expect(() => loadPersistedOperations(file('list.json', '["{ a }"]'))).toThrow(ConfigError);
    expect(() => loadPersistedOperations(file('empty.json', '{}'))).toThrow(/holds no operations/);
    expect(() => loadPersistedOperations(file('number.json', '{"x": 1}'))).toThrow(/is not a string/);
  });
});

test('configuration: APQ_MAX_ENTRIES and PERSISTED_OPERATIONS_FILE', () => {
  expect(loadConfig({})).toMatchObject({ apqMaxEntries: 1000, persistedOperationsFile: undefined });
  expect(loadConfig({ APQ_MAX_ENTRIES: '0', PERSISTED_OPERATIONS_FILE: '/etc/ops.json' })).toMatchObject({ apqMaxEntries: 0, persistedOperationsFile: '/etc/ops.json' });
  expect(() => loadConfig({ APQ_MAX_ENTRIES: '-1' })).toThrow(/APQ_MAX_ENTRIES must be an integer/);
});
