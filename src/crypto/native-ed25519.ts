// Ed25519 signature checks through node:crypto (OpenSSL): the same rules as src/merkle's
// verifySignature (which stays pure JS for browsers) but roughly 20x faster, for the gateway's
// hot path of verifying every event of every page.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, fail, none, parsePublicKey, PASS, type SignatureInput, type Verification } from '../merkle/index.js';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_CACHED_KEYS = 1024;
const keys = new Map<string, KeyObject | string>();

function keyObject(publicKey: string): KeyObject | string {
  const cached = keys.get(publicKey);
  if (cached) return cached;
  const parsed = parsePublicKey(publicKey);
  const value = parsed.ok ? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, parsed.key]), format: 'der', type: 'spki' }) : parsed.reason;
  if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value!);
  keys.set(publicKey, value);
  return value;
}

export function verifySignatureNative({ event, signature, publicKey }: SignatureInput): Verification {
  const hasSig = signature !== null && signature !== undefined;
  const hasKey = publicKey !== null && publicKey !== undefined;
  if (!hasSig && !hasKey) return none('event is not signed');
  if (!hasSig) return fail('public key present without a signature');
  if (!hasKey) return fail('signature present without a public key');
  try {
    const key = keyObject(publicKey);
    if (typeof key === 'string') return fail(key);
    if (!BASE64.test(signature)) return fail('signature is not 64 bytes of base64');
    const sig = Buffer.from(signature, 'base64');
    if (sig.length !== 64) return fail('signature is not 64 bytes of base64');
    return verify(null, Buffer.from(canonicalJson(event), 'utf8'), key, sig) ? PASS : fail('signature does not verify under the public key');
  } catch (err) {
    return fail(`malformed input: ${err instanceof Error ? err.message : String(err)}`);
  }
}
