// Published and unpublished roots, and Query.root with the gateway's own consistency check.
import type { PublishedRoot, UnpublishedRoot } from '../../wire/index.js';
import { fail, none, verifyConsistency, type Verification } from '../../merkle/index.js';
import { rootKey } from '../loaders.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { TreeNotFoundError } from '../../audit-client/errors.js';
import { INPUT_ERRORS } from '../error-types.js';
import { InputError, upstream } from '../errors.js';
import { VerificationStatusEnum } from './verification.js';

/** Checks root(size) against root(size-1) with the proof root(size) carries. */
async function rootConsistency(root: PublishedRoot, ctx: GraphQLContext): Promise<Verification> {
  if (root.size <= 1) return none('the first root has no predecessor');
  let previous: PublishedRoot | null;
  try {
    previous = await ctx.loaders.publishedRoot.load(rootKey(root.tree_name, root.size - 1));
  } catch (err) {
    // Not knowing is NONE, as on a page (page-verifier.ts): thrown, the non-null field would
    // take the whole root with it, as an untyped error.
    return none(`published root(${root.size - 1}) could not be fetched: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!previous) return fail(`published root(${root.size - 1}) was asked for and withheld`);
  return verifyConsistency({
    oldRootHash: previous.root_hash,
    newRootHash: root.root_hash,
    proof: root.consistency_proof,
    sizes: { oldSize: root.size - 1, newSize: root.size },
  });
}

/** The root against the gateway's verified history: equal to a verified root, or proven to extend them. */
function rootTrust(root: PublishedRoot, ctx: GraphQLContext): Verification | Promise<Verification> {
  return ctx.upstream.prover.check(root) ?? ctx.upstream.prover.trust(root, ctx.signal);
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
    history: t.field({
      type: VerificationStatusEnum,
      description:
        "PASS when this root is one the gateway has verified, or is proven to extend them; FAIL when it contradicts them (the upstream serves another history); NONE while it cannot be proven yet (see historyReason).",
      resolve: async (r, _args, ctx) => (await rootTrust(r, ctx)).status,
    }),
    historyReason: t.string({
      nullable: true,
      description: 'Why history is FAIL or NONE.',
      resolve: async (r, _args, ctx) => (await rootTrust(r, ctx)).reason ?? null,
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
    nullable: true,
    args: { treeSize: t.arg.int({ required: false, description: 'Tree size; default the latest published.' }) },
    resolve: async (_root, { treeSize }, ctx) => {
      if (treeSize !== null && treeSize !== undefined && treeSize < 1) throw new InputError('treeSize must be at least 1', 'treeSize');
      const tree = ctx.upstream.history.tree;
      if (treeSize && tree !== undefined) {
        const loaded = await ctx.loaders.publishedRoot.load(rootKey(tree, treeSize));
        if (loaded) return loaded;
      }
      const response = await upstream(() => ctx.client.root(treeSize ? { tree_size: treeSize } : {}, { signal: ctx.signal }));
      ctx.upstream.roots.set(response.result.data);
      return response.result.data;
    },
  }),
);
