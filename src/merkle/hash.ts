// The two hash functions of the audit log: event hash (over the canonical envelope) and the
// interior-node hash sha256(left || right), with no RFC 6962 domain-separation prefixes.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from './hex.js';
import { canonicalJson } from './canonical.js';

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

// One reusable 64-byte buffer: interior hashing is the hot path of every proof check.
const pair = new Uint8Array(64);

/** Interior node hash: sha256(left || right) over raw 32-byte digests. */
export function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  pair.set(left, 0);
  pair.set(right, 32);
  return sha256(pair);
}

export { sha256 };
