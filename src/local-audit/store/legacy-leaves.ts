// Leaf indexes as the earlier result-set layout stored them (`result_sets.leaves`: float64 LE
// each): still read for sets made before store/leaf-list.ts until they expire, and written when
// an older data directory is migrated (store/database.ts).

export const BYTES_PER_LEAF = 8;

export function packLeaves(leafIndexes: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(leafIndexes.length * BYTES_PER_LEAF);
  leafIndexes.forEach((leaf, i) => out.writeDoubleLE(leaf, i * BYTES_PER_LEAF));
  return out;
}

export function unpackLeaves(packed: Uint8Array): number[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: number[] = new Array<number>(Math.floor(packed.byteLength / BYTES_PER_LEAF));
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * BYTES_PER_LEAF, true);
  return out;
}
