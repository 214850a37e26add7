// A result set's leaf indexes as stored: the differences between consecutive indexes, zigzag
// (a negative step becomes odd) and written as base-128 varints. Results come in time order,
// which is leaf order, so most steps are a byte (eight times smaller than float64s), and several
// sets share a database page. Arithmetic, not bit operations (which are
// 32-bit in JavaScript); exact for every index below 2^51 (a zigzagged step stays below 2^53),
// far beyond what one SQLite file holds.

/** Encodes leaf indexes (integers in [0, 2^51)) in order. */
export function encodeLeafList(leaves: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(leaves.length * 8 + 8);
  let at = 0;
  let previous = 0;
  for (const leaf of leaves) {
    const step = leaf - previous;
    previous = leaf;
    let value = step >= 0 ? step * 2 : -step * 2 - 1;
    while (value >= 128) {
      out[at++] = (value % 128) + 128;
      value = Math.floor(value / 128);
    }
    out[at++] = value;
  }
  return out.subarray(0, at);
}

/**
 * Decodes the indexes at positions [offset, offset + limit) of an encoded list (fewer at its end).
 * Throws RangeError on a list that ends inside a number (the stored blob is damaged).
 */
export function decodeLeafList(encoded: Uint8Array, offset = 0, limit = Number.POSITIVE_INFINITY): number[] {
  const out: number[] = [];
  const end = offset + limit;
  let at = 0;
  let previous = 0;
  for (let position = 0; position < end && at < encoded.length; position++) {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= encoded.length) throw new RangeError('the stored leaf list is truncated');
      const byte = encoded[at++]!;
      value += (byte % 128) * scale;
      if (byte < 128) break;
      scale *= 128;
    }
    previous += value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    if (position >= offset) out.push(previous);
  }
  return out;
}
