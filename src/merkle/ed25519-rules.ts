// The Ed25519 acceptance rules shared by both verifiers (the pure-JS one in signature.ts and the
// OpenSSL one in src/crypto/native-ed25519.ts); signature.ts's header explains the choice. Every
// rule that the two backends would otherwise decide differently is checked here, in pure code,
// before either backend sees the input, so the backends are only ever asked the one question on
// which they agree: does encode([S]B - [k]A) equal R byte for byte.
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { base64ToBytesOrNull } from './base64.js';
import { bytesEqual, hexToBytesOrNull } from './hex.js';

const Point = ed25519.Point;

/** The field prime p = 2^255 - 19. */
const ED25519_P: bigint = Point.CURVE().p;
/** The prime order L of the base point's subgroup. */
const ED25519_L: bigint = Point.CURVE().n;

export const SIGNATURE_MISMATCH = 'signature does not verify under the public key';

/** The canonical encodings of the eight points of order dividing 8. */
const SMALL_ORDER_ENCODINGS: readonly Uint8Array[] = ED25519_TORSION_SUBGROUP.map((hex) => hexToBytesOrNull(hex)!);

/** Little-endian unsigned integer of `bytes`. */
function littleEndianToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function littleEndian32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

// The bounds as 32 little-endian bytes: the per-signature checks compare bytes rather than
// build bigints, since they run before every OpenSSL verification.
const L_BYTES = littleEndian32(ED25519_L);
const P_BYTES = littleEndian32(ED25519_P);
const ONE_BYTES = littleEndian32(1n);
const P_MINUS_ONE_BYTES = littleEndian32(ED25519_P - 1n);

/** Whether the 32-byte little-endian number `a` (its top bit ignored if `maskTop`) is below `b`. */
function below(a: Uint8Array, b: Uint8Array, maskTop: boolean): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = i === 31 && maskTop ? a[i]! & 0x7f : a[i]!;
    if (x !== b[i]!) return x < b[i]!;
  }
  return false;
}

/** Whether `a`, its top bit ignored, equals `b`. */
function equalsMasked(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 31; i++) if (a[i] !== b[i]) return false;
  return (a[31]! & 0x7f) === b[31];
}

/**
 * Whether a 32-byte point encoding is the unique one RFC 8032 §5.1.2 produces: y below p, and no
 * sign bit on x = 0 (the points with y = ±1, whose x is zero and has no "negative" form). Whether
 * y belongs to a curve point at all is a separate question.
 */
function isCanonicalEncoding(bytes: Uint8Array): boolean {
  if (!below(bytes, P_BYTES, true)) return false;
  const signBit = (bytes[31]! & 0x80) !== 0;
  return !(signBit && (equalsMasked(bytes, ONE_BYTES) || equalsMasked(bytes, P_MINUS_ONE_BYTES)));
}

function isSmallOrderEncoding(bytes: Uint8Array): boolean {
  return SMALL_ORDER_ENCODINGS.some((encoding) => bytesEqual(encoding, bytes));
}

/** A public key that passed every rule, decoded once so it can be reused across signatures. */
interface Ed25519PublicKey {
  readonly bytes: Uint8Array;
  readonly point: EdwardsPoint;
}

export type PublicKeyCheck = { ok: true; key: Ed25519PublicKey } | { ok: false; reason: string };

/**
 * Applies the public-key rules to raw key bytes: 32 bytes, canonical encoding, a curve point, not
 * of small order, in the prime-order subgroup. Costs a scalar multiplication: callers cache it.
 */
export function checkPublicKeyBytes(bytes: Uint8Array): PublicKeyCheck {
  if (bytes.length !== 32) return { ok: false, reason: 'public key is not 32 bytes' };
  if (!isCanonicalEncoding(bytes)) return { ok: false, reason: 'public key is not a canonical Ed25519 point encoding' };
  let point: EdwardsPoint;
  try {
    point = Point.fromBytes(bytes, false);
  } catch {
    return { ok: false, reason: 'public key is not a point on the Ed25519 curve' };
  }
  if (point.isSmallOrder()) return { ok: false, reason: 'public key is a small-order point' };
  if (!point.isTorsionFree()) return { ok: false, reason: 'public key is not in the prime-order subgroup' };
  return { ok: true, key: { bytes: Uint8Array.from(bytes), point } };
}

type SignatureCheck = { ok: true; bytes: Uint8Array } | { ok: false; reason: string };

/**
 * Decodes strict padded base64 and applies the signature rules: 64 bytes, S below L, R a
 * canonical encoding of a point that is not of small order. Only byte comparisons, so it stays
 * cheap on the native hot path. Whether R is on the curve is left to the equation: no encoding of
 * a non-point can equal the encoding of [S]B - [k]A.
 */
export function decodeSignature(signature: string): SignatureCheck {
  const bytes = base64ToBytesOrNull(signature);
  if (!bytes || bytes.length !== 64) return { ok: false, reason: 'signature is not 64 bytes of base64' };
  if (!below(bytes.subarray(32), L_BYTES, false)) return { ok: false, reason: 'signature scalar S is not below the group order' };
  const r = bytes.subarray(0, 32);
  if (!isCanonicalEncoding(r)) return { ok: false, reason: 'signature R is not a canonical Ed25519 point encoding' };
  if (isSmallOrderEncoding(r)) return { ok: false, reason: 'signature R is a small-order point' };
  return { ok: true, bytes };
}

/**
 * The verification equation, cofactorless as OpenSSL computes it: with k = SHA-512(R || A || M)
 * mod L, the signature holds when encode([S]B - [k]A) is byte-for-byte R. Expects a signature from
 * decodeSignature and a key from checkPublicKeyBytes.
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, key: Ed25519PublicKey): boolean {
  const r = signature.subarray(0, 32);
  const s = littleEndianToBigint(signature.subarray(32, 64));
  const hashed = new Uint8Array(64 + message.length);
  hashed.set(r, 0);
  hashed.set(key.bytes, 32);
  hashed.set(message, 64);
  const k = littleEndianToBigint(sha512(hashed)) % ED25519_L;
  const expected = Point.BASE.multiplyUnsafe(s).subtract(key.point.multiplyUnsafe(k));
  return bytesEqual(expected.toBytes(), r);
}
