// Per-request DataLoaders. A page of search results needs published roots of several sizes (for
// each published event at leaf L: roots L and L+1); the loader fetches each size once per request
// and the cross-request cache keeps them, since a published root never changes.
import DataLoader from 'dataloader';
import { AuditApiError, type AuditClient } from '../audit-client/index.js';
import type { PublishedRoot } from '../audit-client/wire.js';
import { foldUpstreamError } from './errors.js';
import type { PublishedRootCache } from './upstream-state.js';

export interface Loaders {
  /** Published root by tree size; null when the upstream has none of that size. */
  publishedRoot: DataLoader<number, PublishedRoot | null>;
}

export function createLoaders(client: AuditClient, cache: PublishedRootCache, signal: AbortSignal): Loaders {
  return {
    publishedRoot: new DataLoader<number, PublishedRoot | null>(async (sizes) =>
      Promise.all(
        sizes.map(async (size) => {
          const cached = cache.get(size);
          if (cached) return cached;
          try {
            const root = (await client.root({ tree_size: size }, { signal })).result.data;
            cache.set(root);
            return root;
          } catch (err) {
            // A size the upstream does not have is an answer (null), not a failure of the page.
            if (err instanceof AuditApiError && !err.transient) return null;
            return foldUpstreamError(err) as Error;
          }
        }),
      ),
    ),
  };
}
