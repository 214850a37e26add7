// Per-request DataLoaders. A page of search results needs published roots of several sizes (for
// each published event at leaf L: roots L and L+1); the loader fetches each size once per request
// and the cross-request cache keeps them, since a published root never changes.
import DataLoader from 'dataloader';
import { AuditApiError, type AuditClient } from '../audit-client/index.js';
import type { PublishedRoot } from '../wire/index.js';
import { foldUpstreamError } from './errors.js';
import { rootFetch, type PublishedRootCache } from './upstream-state.js';

export interface Loaders {
  /**
   * Published root by tree and size (key: `rootKey(tree, size)`); null when the upstream has none
   * of that size in that tree (it answered another tree's root: that is not the one asked for).
   */
  publishedRoot: DataLoader<string, PublishedRoot | null>;
}

export function rootKey(treeName: string, size: number): string {
  return `${size}\n${treeName}`;
}

function parseRootKey(key: string): { treeName: string; size: number } {
  const at = key.indexOf('\n');
  return { size: Number(key.slice(0, at)), treeName: key.slice(at + 1) };
}

/**
 * Root fetches one request may have in flight at once: a cold 1000-event page needs up to 2000
 * roots, and firing them all together only queues them in the upstream and holds their bodies in
 * memory at the same time.
 */
const ROOT_FETCH_CONCURRENCY = 16;

/** Runs `task` over `items` with at most `limit` running at once, keeping results in order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function createLoaders(client: AuditClient, cache: PublishedRootCache, signal: AbortSignal): Loaders {
  return {
    publishedRoot: new DataLoader<string, PublishedRoot | null>(async (keys) =>
      mapLimited(keys, ROOT_FETCH_CONCURRENCY, async (key): Promise<PublishedRoot | null | Error> => {
        const { treeName, size } = parseRootKey(key);
        try {
          const root = await cache.load(treeName, size, rootFetch(client, size), signal);
          return root?.tree_name === treeName && root.size === size ? root : null;
        } catch (err) {
          // A size the upstream does not have is an answer (null), not a failure of the page.
          if (err instanceof AuditApiError && !err.transient) return null;
          return foldUpstreamError(err) as Error;
        }
      }),
    ),
  };
}
