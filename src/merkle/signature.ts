// Ed25519 event signatures as the audit SDKs make and check them: the signed message is the UTF-8
// canonical JSON of the event alone; the signature is padded base64; the public key is usually
// the JSON string {"algorithm":"ED25519","key":"<SPKI PEM>"}, with legacy raw forms still accepted.
//
// One rule set, strict RFC 8032, holds here and on the OpenSSL path (src/crypto/native-ed25519.ts):
// both run the shared checks of ed25519-rules.ts, so they give the same verdict on every input.
//  - The signature is exactly 64 bytes and its S is below the group order L (no S + L malleation).
//  - A and R are canonical encodings: y < p, and no sign bit when x = 0.
//  - A is a curve point in the prime-order subgroup: not of small order (the identity key
//    "verifies" R = identity, S = 0 for every message) nor of mixed order (its torsion part lets
//    the key holder make signatures that cofactored and cofactorless verifiers judge differently).
//    An honest key [a]B is always in the subgroup; the check is paid once per cached key.
//  - R is not one of the eight small-order points: an honest R is [r]B with r != 0, while R =
//    identity with S = k*a satisfies the equation and discloses the private scalar.
//  - The equation is the cofactorless [S]B = R + [k]A, checked as encode([S]B - [k]A) == R. RFC
//    8032 §5.1.7 allows it, and it is the only one OpenSSL offers. With A in the subgroup it
//    rejects, beyond what the cofactored equation (noble's default, ZIP-215) rejects, only
//    signatures whose R carries a torsion component, which no honest signer produces.
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64ToBytesOrNull, bytesToBase64 } from './base64.js';
import { SIGNATURE_MISMATCH, checkPublicKeyBytes, decodeSignature, verifyEd25519, type PublicKeyCheck } from './ed25519-rules.js';
import { canonicalJson } from './canonical.js';
import { bytesEqual } from './hex.js';
import { PASS, fail, guarded, none, type Verification } from './result.js';

const encoder = new TextEncoder();

// DER prefixes of an Ed25519 SubjectPublicKeyInfo (44 bytes) and PKCS#8 private key (48 bytes).
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

type KeyParse = { ok: true; key: Uint8Array } | { ok: false; reason: string };

function pemBody(pem: string, label: string): string | null {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  return match ? match[1]!.replace(/\s+/g, '') : null;
}

function keyFromDer(der: Uint8Array, prefix: Uint8Array, what: string): KeyParse {
  if (der.length !== prefix.length + 32 || !bytesEqual(der.subarray(0, prefix.length), prefix)) {
    return { ok: false, reason: `${what} is not an Ed25519 key` };
  }
  return { ok: true, key: der.slice(prefix.length) };
}

/**
 * Extracts the raw 32-byte Ed25519 public key from any encoding the service has stored:
 * the JSON key-info string (its `key` member), an SPKI PEM, base64 of the 44-byte SPKI DER, or
 * base64 of the raw 32 bytes.
 */
export function parsePublicKey(publicKey: string): KeyParse {
  let text = publicKey.trim();
  if (text.startsWith('{')) {
    let info: unknown;
    try {
      info = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'public key JSON does not parse' };
    }
    const key = (info as { key?: unknown } | null)?.key;
    if (typeof key !== 'string') return { ok: false, reason: 'public key JSON has no "key" member' };
    const algorithm = (info as { algorithm?: unknown }).algorithm;
    if (algorithm !== undefined && (typeof algorithm !== 'string' || algorithm.toUpperCase() !== 'ED25519')) {
      return { ok: false, reason: `unsupported signature algorithm ${typeof algorithm === 'string' ? algorithm : JSON.stringify(algorithm)}` };
    }
    text = key.trim();
  }
  if (text.startsWith('-----BEGIN')) {
    const body = pemBody(text, 'PUBLIC KEY');
    const der = body === null ? null : base64ToBytesOrNull(body);
    if (!der) return { ok: false, reason: 'public key PEM is malformed' };
    return keyFromDer(der, SPKI_PREFIX, 'public key PEM');
  }
  const bytes = base64ToBytesOrNull(text);
  if (!bytes) return { ok: false, reason: 'public key is neither PEM nor base64' };
  if (bytes.length === 32) return { ok: true, key: bytes };
  return keyFromDer(bytes, SPKI_PREFIX, 'public key DER');
}

const MAX_CACHED_KEYS = 256;
const checkedKeys = new Map<string, PublicKeyCheck>();

/**
 * parsePublicKey followed by the public-key rules of the shared rule set, remembered per key
 * text (oldest forgotten first): the subgroup check is a scalar multiplication, and a log is
 * signed by few keys.
 */
function checkedPublicKey(publicKey: string): PublicKeyCheck {
  const cached = checkedKeys.get(publicKey);
  if (cached) return cached;
  const parsed = parsePublicKey(publicKey);
  const checked = parsed.ok ? checkPublicKeyBytes(parsed.key) : parsed;
  if (checkedKeys.size >= MAX_CACHED_KEYS) checkedKeys.delete(checkedKeys.keys().next().value!);
  checkedKeys.set(publicKey, checked);
  return checked;
}

function verifyBytes(message: Uint8Array, signature: string, publicKey: string): Verification {
  const key = checkedPublicKey(publicKey);
  if (!key.ok) return fail(key.reason);
  const sig = decodeSignature(signature);
  if (!sig.ok) return fail(sig.reason);
  return verifyEd25519(sig.bytes, message, key.key) ? PASS : fail(SIGNATURE_MISMATCH);
}

export interface SignatureInput {
  event: unknown;
  signature?: string | null;
  publicKey?: string | null;
}

/**
 * Checks an event's signature. Neither signature nor key: NONE; exactly one of them: FAIL.
 * The event is canonicalised exactly as stored (string fields are never re-parsed).
 */
export function verifySignature({ event, signature, publicKey }: SignatureInput): Verification {
  const hasSig = signature !== null && signature !== undefined;
  const hasKey = publicKey !== null && publicKey !== undefined;
  if (!hasSig && !hasKey) return none('event is not signed');
  if (!hasSig) return fail('public key present without a signature');
  if (!hasKey) return fail('signature present without a public key');
  return guarded(() => verifyBytes(encoder.encode(canonicalJson(event)), signature, publicKey));
}

/** Checks a signature over an arbitrary UTF-8 message (the SDKs' Signer tests use this). */
export function verifyMessageSignature(message: string, signature: string, publicKey: string): Verification {
  return guarded(() => verifyBytes(encoder.encode(message), signature, publicKey));
}

/** Reads an Ed25519 private key: PKCS#8 PEM, base64 PKCS#8 DER, or the raw 32-byte seed. */
export function parsePrivateKey(privateKey: string | Uint8Array): Uint8Array {
  if (privateKey instanceof Uint8Array) {
    if (privateKey.length !== 32) throw new TypeError('raw Ed25519 private key must be 32 bytes');
    return privateKey;
  }
  const body = pemBody(privateKey, 'PRIVATE KEY') ?? privateKey.trim();
  const der = base64ToBytesOrNull(body);
  if (!der) throw new TypeError('private key is neither PKCS#8 PEM nor base64');
  if (der.length === 32) return der;
  const parsed = keyFromDer(der, PKCS8_PREFIX, 'private key');
  if (!parsed.ok) throw new TypeError(parsed.reason);
  return parsed.key;
}

function spkiPem(publicKey: Uint8Array): string {
  const der = new Uint8Array(SPKI_PREFIX.length + 32);
  der.set(SPKI_PREFIX);
  der.set(publicKey, SPKI_PREFIX.length);
  return `-----BEGIN PUBLIC KEY-----\n${bytesToBase64(der)}\n-----END PUBLIC KEY-----\n`;
}

export interface EventSignature {
  /** Padded base64 Ed25519 signature over the canonical event. */
  signature: string;
  /** The key-info JSON string the SDKs store: {"algorithm":"ED25519","key":"<SPKI PEM>"}. */
  public_key: string;
}

/**
 * Signs an event the way the vendor SDKs do. Pass the event already normalised (object-valued
 * fields as canonical JSON strings, see normalizeEvent), since that is what the service stores.
 * `publicKeyInfo` members (for example a key id) are kept beside `algorithm` and `key`.
 */
export function signEvent(
  event: Record<string, unknown>,
  privateKey: string | Uint8Array,
  publicKeyInfo: Record<string, unknown> = {},
): EventSignature {
  const seed = parsePrivateKey(privateKey);
  const message = encoder.encode(canonicalJson(event));
  const signature = bytesToBase64(ed25519.sign(message, seed));
  const pub = ed25519.getPublicKey(seed);
  const info = { ...publicKeyInfo, algorithm: 'ED25519', key: spkiPem(pub) };
  return { signature, public_key: canonicalJson(info) };
}

/** The PEM public key of a private key, for publishing alongside a signing configuration. */
export function publicKeyPem(privateKey: string | Uint8Array): string {
  return spkiPem(ed25519.getPublicKey(parsePrivateKey(privateKey)));
}
