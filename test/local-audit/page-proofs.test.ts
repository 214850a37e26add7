// A page's membership proofs are built from nodes read together (store/page-proofs.ts): they must
// be exactly the proofs built one leaf at a time, for contiguous pages, scattered ones, pages
// that straddle the published size, and pages whose sibling ranges are too spread to read at once.
import fc from 'fast-check';
import { startTestService, type TestService } from '../support/local-audit.js';

const SIZE = 700;
let svc: TestService;

beforeAll(async () => {
  svc = await startTestService();
  for (let i = 0; i < SIZE; i += 100) {
    await svc.post('v2/log', { events: Array.from({ length: 100 }, (_, j) => ({ event: { message: `e${i + j}` } })) });
  }
});
afterAll(async () => {
  await svc.destroy();
});

const oneByOne = (leaves: number[], sizeOf: (leaf: number) => number): string[] => leaves.map((leaf) => svc.log.membershipProof(leaf, sizeOf(leaf)));

test('contiguous pages in both orders, against one size or two', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: SIZE }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: SIZE }), fc.boolean(), (size, length, split, reverse) => {
      const first = Math.max(0, size - length);
      const leaves = Array.from({ length: size - first }, (_, i) => first + i);
      if (reverse) leaves.reverse();
      // Leaves below `split` prove against `split`, the others against `size` (published / not).
      const sizeOf = (leaf: number): number => (leaf < Math.min(split, size) ? Math.min(split, size) : size);
      expect(svc.log.membershipProofs(leaves, sizeOf)).toEqual(oneByOne(leaves, sizeOf));
    }),
    { numRuns: 200 },
  );
});

test('scattered pages, duplicates included', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: SIZE - 1 }), { minLength: 1, maxLength: 40 }), (leaves) => {
      const sizeOf = (): number => SIZE;
      expect(svc.log.membershipProofs(leaves, sizeOf)).toEqual(oneByOne(leaves, sizeOf));
    }),
    { numRuns: 200 },
  );
});

