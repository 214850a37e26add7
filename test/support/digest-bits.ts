// Digests with one bit changed: what a tampered proof or root looks like (same shape, another value).
import { bytesToHex, digestFromHex } from '../../src/merkle/index.js';

/** The hex SHA-256 digest with one bit (0..255) flipped. */
export function flipBit(hex: string, bit: number): string {
  const bytes = digestFromHex(hex);
  if (!bytes) throw new TypeError(`flipBit: not a 64-character hex digest: ${hex}`);
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return bytesToHex(copy);
}
