// Published roots are cached per tree, never under an "any tree" key: a root of another tree of
// the same size is neither served from the cache nor accepted from the upstream for this tree.
import { PublishedRootCache } from '../../src/graphql/upstream-state.js';
import type { PublishedRoot } from '../../src/wire/index.js';

const root = (tree: string, size: number, hash: string): PublishedRoot => ({ tree_name: tree, size, root_hash: hash.repeat(32), published_at: '2026-12-04T10:00:00.000000Z', url: '' });

test('roots are kept and found per tree; the first root of a size stays', () => {
  const cache = new PublishedRootCache();
  cache.set(root('tree-a', 5, 'aa'));
  cache.set(root('tree-b', 5, 'bb'));
  cache.set(root('tree-a', 5, 'cc')); // a later claim never replaces the first
  expect(cache.get('tree-a', 5)!.root_hash).toBe('aa'.repeat(32));
  expect(cache.get('tree-b', 5)!.root_hash).toBe('bb'.repeat(32));
  expect(cache.get('tree-c', 5)).toBeUndefined();
  expect(cache.get('tree-a', 6)).toBeUndefined();
});

test('a kept root is a frozen copy, proof included: what the upstream object does later cannot change it', () => {
  const cache = new PublishedRootCache();
  const answered = { ...root('t', 7, 'ab'), consistency_proof: ['x:' + 'cd'.repeat(32) + ',l:' + 'ef'.repeat(32)] };
  cache.set(answered);
  answered.root_hash = '00'.repeat(32);
  answered.consistency_proof[0] = 'changed';
  const kept = cache.get('t', 7)!;
  expect(kept).toEqual({ ...root('t', 7, 'ab'), consistency_proof: ['x:' + 'cd'.repeat(32) + ',l:' + 'ef'.repeat(32)] });
  expect(Object.isFrozen(kept) && Object.isFrozen(kept.consistency_proof)).toBe(true);
  expect(() => kept.consistency_proof!.push('more')).toThrow(TypeError);
});

test('the cache is bounded, oldest forgotten first; malformed roots are not kept', () => {
  const cache = new PublishedRootCache(3);
  for (let size = 1; size <= 4; size++) cache.set(root('t', size, 'ab'));
  expect(cache.get('t', 1)).toBeUndefined();
  expect(cache.get('t', 4)).toBeDefined();
  cache.set({ size: 9 } as unknown as PublishedRoot);
  expect(cache.get('undefined', 9)).toBeUndefined();
});

test('the per-request loader asks for a root of one tree: an answer of another tree is no root of it', async () => {
  const { startTestService } = await import('../support/local-audit.js');
  const { AuditClient } = await import('../../src/audit-client/index.js');
  const { createLoaders, rootKey } = await import('../../src/graphql/loaders.js');
  const service = await startTestService();
  const client = new AuditClient({ baseUrl: service.url, token: service.token });
  try {
    await service.post('v2/log', { events: [1, 2, 3].map((i) => ({ event: { message: `m${i}` } })) });
    service.publishNow();
    const tree = (await client.root({})).result.data.tree_name;
    const cache = new PublishedRootCache();
    const loaders = createLoaders(client, cache, new AbortController().signal);
    expect((await loaders.publishedRoot.load(rootKey(tree, 2)))!.size).toBe(2);
    expect(await loaders.publishedRoot.load(rootKey('another-tree', 3))).toBeNull();
    expect(cache.get('another-tree', 3)).toBeUndefined();
    expect(cache.get(tree, 3)).toBeDefined();
  } finally {
    await client.close();
    await service.destroy();
  }
});
