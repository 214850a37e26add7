// Ed25519 signature checks through node:crypto (OpenSSL): the same rules as src/merkle's
// verifySignature (which stays pure JS for browsers) but several times faster (bench:merkle prints by how much), for the gateway's
// hot path of verifying every event of every page. OpenSSL alone accepts non-canonical and
// small-order public keys, so the shared checks of src/merkle/ed25519-rules.ts run first; what
// reaches OpenSSL is only the cofactorless equation, which both paths compute identically.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { SIGNATURE_MISMATCH, checkPublicKeyBytes, decodeSignature } from '../merkle/ed25519-rules.js';
import { canonicalJson, fail, none, parsePublicKey, PASS, type SignatureInput, type Verification } from '../merkle/index.js';
import { guarded } from '../merkle/result.js';

const encoder = new TextEncoder();
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const MAX_CACHED_KEYS = 1024;
const keys = new Map<string, KeyObject | string>();

/** The OpenSSL key for a public key text that passes the key rules, or why it does not. */
function keyObject(publicKey: string): KeyObject | string {
  const cached = keys.get(publicKey);
  if (cached) return cached;
  const parsed = parsePublicKey(publicKey);
  const checked = parsed.ok ? checkPublicKeyBytes(parsed.key) : parsed;
  const value = checked.ok
    ? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, checked.key.bytes]), format: 'der', type: 'spki' })
    : checked.reason;
  if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value!);
  keys.set(publicKey, value);
  return value;
}

// The same order of checks as src/merkle's verifyBytes, so a malformed input gets the same reason.
function verifyBytes(message: Uint8Array, signature: string, publicKey: string): Verification {
  const key = keyObject(publicKey);
  if (typeof key === 'string') return fail(key);
  const sig = decodeSignature(signature);
  if (!sig.ok) return fail(sig.reason);
  return verify(null, message, key, sig.bytes) ? PASS : fail(SIGNATURE_MISMATCH);
}

export function verifySignatureNative({ event, signature, publicKey }: SignatureInput): Verification {
  const hasSig = signature !== null && signature !== undefined;
  const hasKey = publicKey !== null && publicKey !== undefined;
  if (!hasSig && !hasKey) return none('event is not signed');
  if (!hasSig) return fail('public key present without a signature');
  if (!hasKey) return fail('signature present without a public key');
  return guarded(() => verifyBytes(encoder.encode(canonicalJson(event)), signature, publicKey));
}

/** verifyMessageSignature's counterpart: a signature over an arbitrary UTF-8 message. */
export function verifyMessageSignatureNative(message: string, signature: string, publicKey: string): Verification {
  return guarded(() => verifyBytes(encoder.encode(message), signature, publicKey));
}
