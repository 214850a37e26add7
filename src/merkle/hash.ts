// The two hash functions of the audit log: event hash (over the canonical envelope) and the
// interior-node hash sha256(left || right), with no RFC 6962 domain-separation prefixes.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from './hex.js';
import { canonicalJson } from './canonical.js';
import { sha256Of64 } from './sha256-pair.js';

const encoder = new TextEncoder();

/** sha256 of the UTF-8 bytes of a string, as lowercase hex. */
export function sha256HexOfString(text: string): string {
  return bytesToHex(sha256(encoder.encode(text)));
}

/** The event hash: hex sha256 of the canonical JSON of the envelope exactly as stored. */
export function hashEnvelope(envelope: unknown): string {
  return sha256HexOfString(canonicalJson(envelope));
}

/** Raw 32-byte event hash, for building trees. */
export function hashEnvelopeBytes(envelope: unknown): Uint8Array {
  return sha256(encoder.encode(canonicalJson(envelope)));
}

/**
 * Interior node hash: sha256(left || right) over raw 32-byte digests. Interior hashing is the hot
 * path of every proof check, so two digests go through the specialised 64-byte SHA-256; any other
 * lengths (never produced by this module) are hashed as their concatenation.
 */
export function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length === 32 && right.length === 32) return sha256Of64(left, right);
  const joined = new Uint8Array(left.length + right.length);
  joined.set(left, 0);
  joined.set(right, left.length);
  return sha256(joined);
}

export { sha256 };
