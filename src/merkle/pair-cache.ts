// A bounded cache of interior hashes for checks that recompute the same nodes many times: the
// items of one consistency proof climb the same right spine (about 70% of their hashes repeat),
// and the membership proofs of one page share the top of the tree.
//
// Direct-mapped: each (left, right) pair has one slot, chosen from a few of its bytes, and a hit
// requires all 64 input bytes to match the stored ones, so a result is only ever reused for the
// exact same input. Crafted inputs can at worst evict entries (a miss costs one hash), never
// make the cache answer wrongly or grow. Slots of raw bytes rather than a Map keyed by hex strings:
// building the keys would cost more than the hashes saved.
import { hashPair } from './hash.js';

export class PairCache {
  private readonly mask: number;
  /** 64 bytes per slot: the left and right inputs of the cached hash. */
  private readonly inputs: Uint8Array;
  private readonly results: Array<Uint8Array | undefined>;

  /** `slots` is rounded up to a power of two. */
  constructor(slots = 1024) {
    let size = 1;
    while (size < slots) size *= 2;
    this.mask = size - 1;
    this.inputs = new Uint8Array(size * 64);
    this.results = new Array<Uint8Array | undefined>(size);
  }

  /**
   * sha256(left || right), from the cache when this exact pair was hashed before. Results are
   * shared between callers: the verifiers only compare them, never write into them.
   */
  readonly hash = (left: Uint8Array, right: Uint8Array): Uint8Array => {
    if (left.length !== 32 || right.length !== 32) return hashPair(left, right);
    const slot = (((left[0]! << 8) | left[1]!) * 31 + ((right[0]! << 8) | right[1]!) + (left[31]! ^ right[31]!)) & this.mask;
    const inputs = this.inputs;
    const base = slot * 64;
    const cached = this.results[slot];
    if (cached !== undefined) {
      let same = true;
      for (let i = 0; i < 32; i++) {
        if (inputs[base + i] !== left[i] || inputs[base + 32 + i] !== right[i]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    const result = hashPair(left, right);
    inputs.set(left, base);
    inputs.set(right, base + 32);
    this.results[slot] = result;
    return result;
  };
}
