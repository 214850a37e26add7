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

// Byte value of every two-character hex pair, indexed by (first << 7) | second for ASCII
// characters, -1 for anything that is not hex. One lookup per byte: proof parsing decodes ~90
// digests per event of a search page.
const PAIR = new Int16Array(1 << 14).fill(-1);
for (let a = 0; a < 128; a++) {
  for (let b = 0; b < 128; b++) {
    const hi = DECODE[a]!;
    const lo = DECODE[b]!;
    if (hi >= 0 && lo >= 0) PAIR[(a << 7) | b] = (hi << 4) | lo;
  }
}

/**
 * Decodes the 64 hex characters at `offset` of `text` into a 32-byte digest, or returns null if
 * they are not all hex (or the text is too short). Reads in place, so callers need not slice.
 */
export function digestAt(text: string, offset: number): Uint8Array | null {
  if (!(offset >= 0 && offset + 64 <= text.length)) return null;
  const out = new Uint8Array(32);
  let bad = 0;
  let chars = 0;
  for (let i = offset, j = 0; j < 32; i += 2, j++) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    chars |= a | b;
    const v = PAIR[((a << 7) | b) & 0x3fff]!;
    bad |= v;
    out[j] = v;
  }
  // A negative lookup is a non-hex ASCII pair; a code above 127 would alias in the table.
  return bad < 0 || chars > 127 ? null : out;
}

/** Decodes a 32-byte digest written as exactly 64 hex characters, or null. */
export function digestFromHex(hex: string): Uint8Array | null {
  return typeof hex === 'string' && hex.length === 64 ? digestAt(hex, 0) : null;
}

const HEX_CODES = Uint8Array.from(HEX_CHARS, (c) => c.charCodeAt(0));
const asciiDecoder = new TextDecoder();
const scratch = new Uint8Array(128);

/**
 * Lowercase hex of bytes. The ASCII codes are written into a buffer and decoded in one call: a
 * flat string in one step, where concatenating pairs is slower and leaves a deep rope of small
 * strings behind for every digest formatted.
 */
export function bytesToHex(bytes: Uint8Array): string {
  const length = bytes.length * 2;
  const out = length <= scratch.length ? scratch.subarray(0, length) : new Uint8Array(length);
  for (let i = 0, j = 0; i < bytes.length; i++, j += 2) {
    const b = bytes[i]!;
    out[j] = HEX_CODES[b >> 4]!;
    out[j + 1] = HEX_CODES[b & 15]!;
  }
  return asciiDecoder.decode(out);
}

/** Constant-shape byte comparison (lengths and every byte). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
