// Pothos' scope-auth keeps each operation's scope checks in a module-wide WeakMap keyed by the
// operation's context, and its entry holds that context. V8's minor GC treats the entries of a
// WeakMap that lives in the old generation as strong, so every context, with everything it
// reaches (the request, its parameters, the loaders and what they loaded), survived each young
// collection, was copied into the old generation and waited there for a full collection.
// Releasing the entry once execution has ended leaves the operation's objects to the young
// collections. A scope check after that (nothing in the gateway makes one) would build the
// entry again: only the cache is released, never a decision.
import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Plugin } from 'graphql-yoga';

function release(context: unknown): void {
  if (typeof context === 'object' && context !== null) RequestCache.clearForContext(context);
}

export const scopeCacheRelease: Plugin = {
  onExecute() {
    return {
      onExecuteDone({ args, result }) {
        // An incremental result is still being produced: its checks may still run.
        if (Symbol.asyncIterator in result) return { onEnd: () => release(args.contextValue) };
        release(args.contextValue);
        return undefined;
      },
    };
  },
};
