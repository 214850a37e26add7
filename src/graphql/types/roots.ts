// Published and unpublished roots, and Query.root with the gateway's own consistency check.
import type { PublishedRoot, UnpublishedRoot } from '../../audit-client/wire.js';
import { verifyConsistency } from '../../merkle/index.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { TreeNotFoundError } from '../../audit-client/errors.js';
import { INPUT_ERRORS, InputError, upstream } from '../errors.js';
import { VerificationStatusEnum } from './verification.js';

/** Checks root(size) against root(size-1) with the proof root(size) carries. */
export async function rootConsistency(root: PublishedRoot, ctx: GraphQLContext): Promise<{ status: 'PASS' | 'FAIL' | 'NONE'; reason?: string }> {
  if (root.size <= 1) return { status: 'NONE', reason: 'the first root has no predecessor' };
  const previous = await ctx.loaders.publishedRoot.load(root.size - 1);
  if (!previous) return { status: 'NONE', reason: `published root ${root.size - 1} is not available` };
  return verifyConsistency({
    oldRootHash: previous.root_hash,
    newRootHash: root.root_hash,
    proof: root.consistency_proof,
    sizes: { oldSize: root.size - 1, newSize: root.size },
  });
}

export const PublishedRootRef = builder.objectRef<PublishedRoot>('PublishedRoot').implement({
  description: 'A root the audit service published: the tree of its first `size` events.',
  fields: (t) => ({
    treeName: t.exposeString('tree_name', { description: 'The tree this root belongs to.' }),
    size: t.exposeInt('size', { description: 'Number of leaves the root covers.' }),
    rootHash: t.exposeString('root_hash', { description: 'The root hash (hex).' }),
    publishedAt: t.field({ type: 'DateTime', description: 'When the root was published.', resolve: (r) => r.published_at }),
    url: t.exposeString('url', { description: 'Where the root was published (Arweave in the cloud).' }),
    consistencyProof: t.stringList({ nullable: true, description: 'Proof that root(size-1) is a prefix of this root.', resolve: (r) => r.consistency_proof ?? null }),
    consistency: t.field({
      type: VerificationStatusEnum,
      description: "The gateway's own check of consistencyProof against the published root of size-1.",
      resolve: async (r, _args, ctx) => (await rootConsistency(r, ctx)).status,
    }),
    consistencyFailure: t.string({
      nullable: true,
      description: 'Why the consistency check failed or could not be made.',
      resolve: async (r, _args, ctx) => (await rootConsistency(r, ctx)).reason ?? null,
    }),
  }),
});

export const UnpublishedRootRef = builder.objectRef<UnpublishedRoot>('UnpublishedRoot').implement({
  description: 'The current root, covering events not yet published.',
  fields: (t) => ({
    treeName: t.exposeString('tree_name', { description: 'The tree this root belongs to.' }),
    size: t.exposeInt('size', { description: 'Number of leaves the root covers.' }),
    rootHash: t.exposeString('root_hash', { description: 'The root hash (hex).' }),
  }),
});

builder.queryField('root', (t) =>
  t.field({
    type: PublishedRootRef,
    description: 'A published root: the latest, or the one of `treeSize` leaves.',
    authScopes: { 'audit:root': true },
    errors: { types: [...INPUT_ERRORS, TreeNotFoundError] },
    args: { treeSize: t.arg.int({ required: false, description: 'Tree size; default the latest published.' }) },
    resolve: async (_root, { treeSize }, ctx) => {
      if (treeSize !== null && treeSize !== undefined && treeSize < 1) throw new InputError('treeSize must be at least 1', 'treeSize');
      if (treeSize) {
        const loaded = await ctx.loaders.publishedRoot.load(treeSize);
        if (loaded) return loaded;
      }
      const response = await upstream(() => ctx.client.root(treeSize ? { tree_size: treeSize } : {}, { signal: ctx.signal }));
      ctx.upstream.roots.set(response.result.data);
      return response.result.data;
    },
  }),
);
