// Published roots are cached per tree, never under an "any tree" key: a root of another tree of
// the same size is neither served from the cache nor accepted from the upstream for this tree. A
// root of a size the verified history holds is kept and handed out only when it is the proven one.
import { PublishedRootCache, createUpstreamState, rootFetch } from '../../src/graphql/upstream-state.js';
import type { PublishedRoot } from '../../src/wire/index.js';
import { flipBit } from '../support/digest-bits.js';

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

test('the bound counts roots of every tree together: the oldest goes first, whichever tree it is of', () => {
  const cache = new PublishedRootCache(3);
  cache.set(root('tree-a', 1, 'a1'));
  cache.set(root('tree-b', 1, 'b1'));
  cache.set(root('tree-a', 2, 'a2'));
  cache.set(root('tree-a', 2, 'ff')); // already kept: nothing is forgotten for it
  expect(cache.get('tree-a', 1)).toBeDefined();
  cache.set(root('tree-b', 2, 'b2'));
  expect(cache.get('tree-a', 1)).toBeUndefined();
  expect([cache.get('tree-b', 1), cache.get('tree-a', 2), cache.get('tree-b', 2)].map((r) => r?.root_hash.slice(0, 2))).toEqual(['b1', 'a2', 'b2']);
  cache.set(root('tree-c', 1, 'c1'));
  expect(cache.get('tree-b', 1)).toBeUndefined();
  expect(cache.get('tree-c', 1)!.root_hash).toBe('c1'.repeat(32));
  // A forgotten root can be kept again, as the newest.
  cache.set(root('tree-a', 1, 'a1'));
  expect(cache.get('tree-a', 1)).toBeDefined();
  expect(cache.get('tree-a', 2)).toBeUndefined();
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

describe('a root fetch is shared by the requests that need it while it runs', () => {
  let service: Awaited<ReturnType<typeof import('../support/local-audit.js')['startTestService']>>;
  let client: import('../../src/audit-client/index.js').AuditClient;
  let tree: string;

  beforeAll(async () => {
    const { startTestService } = await import('../support/local-audit.js');
    const { AuditClient } = await import('../../src/audit-client/index.js');
    service = await startTestService();
    client = new AuditClient({ baseUrl: service.url, token: service.token });
    await service.post('v2/log', { events: [1, 2, 3, 4].map((i) => ({ event: { message: `m${i}` } })) });
    service.publishNow();
    tree = (await client.root({})).result.data.tree_name;
  });
  afterAll(async () => {
    await client.close();
    await service.destroy();
  });

  /** A fetch of v1/root that starts when `open` is called, counting its calls and the signals it got. */
  function gatedFetch(size: number) {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const signals: AbortSignal[] = [];
    const fetch = async (stop: AbortSignal): Promise<PublishedRoot | undefined> => {
      signals.push(stop);
      await gate;
      return (await client.root({ tree_size: size }, { signal: stop })).result.data;
    };
    return { fetch, signals, open: () => open() };
  }

  test('three requests at once: one upstream call, the same root for each, then kept', async () => {
    const cache = new PublishedRootCache();
    const gated = gatedFetch(2);
    const answers = [0, 1, 2].map(() => cache.load(tree, 2, gated.fetch, new AbortController().signal));
    gated.open();
    const roots = await Promise.all(answers);
    expect(gated.signals).toHaveLength(1);
    expect(roots.map((r) => r!.size)).toEqual([2, 2, 2]);
    expect(new Set(roots.map((r) => r!.root_hash)).size).toBe(1);
    expect(cache.get(tree, 2)!.root_hash).toBe(roots[0]!.root_hash);
    expect(await cache.load(tree, 2, gated.fetch)).toBe(cache.get(tree, 2));
    expect(gated.signals).toHaveLength(1);
  });

  test('a request that leaves gets its abort; the others still get the root', async () => {
    const cache = new PublishedRootCache();
    const gated = gatedFetch(3);
    const leaving = new AbortController();
    const first = cache.load(tree, 3, gated.fetch, leaving.signal);
    const second = cache.load(tree, 3, gated.fetch, new AbortController().signal);
    leaving.abort(new Error('client went away'));
    await expect(first).rejects.toThrow('client went away');
    expect(gated.signals[0]!.aborted).toBe(false);
    gated.open();
    expect((await second)!.size).toBe(3);
    expect(gated.signals).toHaveLength(1);
  });

  test('when every request has left the fetch is stopped, and the next request fetches anew', async () => {
    const cache = new PublishedRootCache();
    const gated = gatedFetch(4);
    const a = new AbortController();
    const b = new AbortController();
    const answers = [cache.load(tree, 4, gated.fetch, a.signal), cache.load(tree, 4, gated.fetch, b.signal)];
    a.abort(new Error('a left'));
    b.abort(new Error('b left'));
    await expect(answers[0]).rejects.toThrow('a left');
    await expect(answers[1]).rejects.toThrow('b left');
    expect(gated.signals[0]!.aborted).toBe(true);
    const later = cache.load(tree, 4, gated.fetch, new AbortController().signal);
    expect(gated.signals).toHaveLength(2);
    gated.open();
    expect((await later)!.size).toBe(4);
    expect(cache.get(tree, 4)!.size).toBe(4);
  });

  test('a failed fetch fails each waiting request, is not kept, and is tried again by the next', async () => {
    const cache = new PublishedRootCache();
    const gated = gatedFetch(99); // the service has no root of size 99
    const answers = [cache.load(tree, 99, gated.fetch, new AbortController().signal), cache.load(tree, 99, gated.fetch)];
    gated.open();
    for (const answer of answers) await expect(answer).rejects.toThrow();
    expect(cache.get(tree, 99)).toBeUndefined();
    await expect(cache.load(tree, 99, gated.fetch)).rejects.toThrow();
    expect(gated.signals).toHaveLength(2);
  });

  /** The service's root of `size`, and the same record with one bit of its hash changed. */
  async function honestAndForged(size: number): Promise<{ honest: PublishedRoot; forged: PublishedRoot }> {
    const honest = (await client.root({ tree_size: size })).result.data;
    return { honest, forged: { ...honest, root_hash: flipBit(honest.root_hash, 4) } };
  }

  test('a root of a size the verified history holds is kept only when it is the proven one; another is a contradiction, not kept', async () => {
    const state = createUpstreamState({ client, oneEventPerLeaf: true });
    const { honest, forged } = await honestAndForged(3);
    state.history.anchorAt('state-file', tree, { size: 3, rootHash: honest.root_hash });
    state.roots.set(forged);
    expect(state.roots.get(tree, 3)).toBeUndefined();
    const reason = `root(3) is ${forged.root_hash}, but the gateway verified ${honest.root_hash} for that size`;
    expect(state.history.contradiction).toContain(reason);
    expect(state.roots.conflict(forged)).toEqual({ status: 'FAIL', reason: expect.stringContaining(reason) });
    // A fetch that answers the forged root: handed to the caller as answered (it checks), not kept.
    const lyingFetch = async (signal: AbortSignal) => ({ ...(await rootFetch(client, 3)(signal)), root_hash: forged.root_hash });
    expect((await state.roots.load(tree, 3, lyingFetch))!.root_hash).toBe(forged.root_hash);
    expect(state.roots.get(tree, 3)).toBeUndefined();
    state.roots.set(honest);
    expect(state.roots.get(tree, 3)!.root_hash).toBe(honest.root_hash);
    expect(state.roots.conflict(honest)).toBeUndefined();
    // Sizes the history does not hold stay first come, first kept: claims, checked where used.
    const four = await honestAndForged(4);
    state.roots.set(four.forged);
    state.roots.set(four.honest);
    expect(state.roots.get(tree, 4)!.root_hash).toBe(four.forged.root_hash);
    expect(state.roots.conflict(four.forged)).toBeUndefined();
    // The history's sizes are of its own tree only.
    state.roots.set({ ...forged, tree_name: 'another-tree' });
    expect(state.roots.get('another-tree', 3)!.root_hash).toBe(forged.root_hash);
  });

  test('a kept root that a root proven later contradicts is not used: forgotten and reported, and the next load fetches the proven one', async () => {
    const state = createUpstreamState({ client, oneEventPerLeaf: true });
    const { honest, forged } = await honestAndForged(2);
    state.roots.set(forged); // nothing proven yet: the upstream's claim
    expect(state.roots.get(tree, 2)!.root_hash).toBe(forged.root_hash);
    expect(state.history.contradiction).toBeNull();
    state.history.anchorAt('state-file', tree, { size: 2, rootHash: honest.root_hash });
    expect(state.roots.get(tree, 2)).toBeUndefined();
    expect(state.history.contradiction).toContain(`root(2) is ${forged.root_hash}, but the gateway verified ${honest.root_hash} for that size`);
    const fetch = rootFetch(client, 2);
    expect((await state.roots.load(tree, 2, fetch))!.root_hash).toBe(honest.root_hash);
    expect(state.roots.get(tree, 2)!.root_hash).toBe(honest.root_hash);
    // A forgotten record no longer counts against the bound.
    const other = createUpstreamState({ client, oneEventPerLeaf: true });
    const small = new PublishedRootCache(2, { history: other.history, contradict: (r) => other.prover.check(r)! });
    small.set(forged);
    small.set(root(tree, 7, 'a7'));
    other.history.anchorAt('state-file', tree, { size: 2, rootHash: honest.root_hash });
    expect(small.get(tree, 2)).toBeUndefined();
    small.set(root(tree, 8, 'a8'));
    small.set(root(tree, 9, 'a9'));
    expect([7, 8, 9].map((size) => small.get(tree, size)?.root_hash.slice(0, 2))).toEqual([undefined, 'a8', 'a9']);
  });

  test('a request whose signal has already aborted starts nothing', async () => {
    const cache = new PublishedRootCache();
    const gated = gatedFetch(1);
    const gone = new AbortController();
    gone.abort(new Error('gone'));
    await expect(cache.load(tree, 1, gated.fetch, gone.signal)).rejects.toThrow('gone');
    expect(gated.signals).toHaveLength(0);
  });
});
