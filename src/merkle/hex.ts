// Strict lowercase/uppercase-tolerant hex <-> bytes. Proof parsing needs a decoder that reports
// malformed input instead of throwing, so verification can turn it into a FAIL with a reason.

const HEX_CHARS = '0123456789abcdef';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  DECODE[HEX_CHARS.charCodeAt(i)] = i;
  DECODE[HEX_CHARS.toUpperCase().charCodeAt(i)] = i;
}

/** Decodes hex into bytes, or returns null if the text is not even-length hex. */
export function hexToBytesOrNull(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0, j = 0; i < hex.length; i += 2, j++) {
    const a = hex.charCodeAt(i);
    const b = hex.charCodeAt(i + 1);
    const hi = a < 128 ? DECODE[a]! : -1;
    const lo = b < 128 ? DECODE[b]! : -1;
    if (hi < 0 || lo < 0) return null;
    out[j] = (hi << 4) | lo;
  }
  return out;
}

/** Decodes a 32-byte digest written as 64 hex characters, or null. */
export function digestFromHex(hex: string): Uint8Array | null {
  return hex.length === 64 ? hexToBytesOrNull(hex) : null;
}

/** Lowercase hex of bytes. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out += HEX_CHARS[b >> 4]! + HEX_CHARS[b & 15]!;
  }
  return out;
}

/** Constant-shape byte comparison (lengths and every byte). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
