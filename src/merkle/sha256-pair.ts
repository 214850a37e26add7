// SHA-256 of exactly 64 bytes (left || right, two 32-byte digests): the interior-node hash, which is
// the hot path of every proof check. A 64-byte message always takes two compressions, and the
// second block is the constant padding (0x80, zeros, bit length 512), so its whole message
// schedule — plus the round constants — is computed once at load time. The generic hasher also
// allocates a hasher object, buffers and views per call; this allocates only the 32-byte output.
// Tested bit-for-bit against @noble/hashes and node:crypto (test/merkle/primitives.test.ts).

// prettier-ignore
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// prettier-ignore
const IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Message schedule scratch for the data block. */
const W = new Int32Array(64);

/** Expands W[0..15] into W[16..63]. */
function expand(w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15]!;
    const w2 = w[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[i] = (s1 + w[i - 7]! + s0 + w[i - 16]!) | 0;
  }
}

/** K[i] + W[i] of the padding block of a 64-byte message: 0x80000000, 14 zero words, 512. */
const PAD_KW = (() => {
  const w = new Int32Array(64);
  w[0] = 0x80000000 | 0;
  w[15] = 512;
  expand(w);
  for (let i = 0; i < 64; i++) w[i] = (w[i]! + K[i]!) | 0;
  return w;
})();

const STATE = new Int32Array(8);

/** 64 rounds over `state` (in place, including the final addition) with round inputs kw[i] = K[i] + W[i]. */
function compress(state: Int32Array, kw: Int32Array): void {
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  let e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + sigma1 + ((e & f) ^ (~e & g)) + kw[i]!) | 0;
    const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (sigma0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** sha256(left || right) for two 32-byte inputs (the caller checks the lengths). */
export function sha256Of64(left: Uint8Array, right: Uint8Array): Uint8Array {
  for (let i = 0, j = 0; i < 8; i++, j += 4) {
    W[i] = (left[j]! << 24) | (left[j + 1]! << 16) | (left[j + 2]! << 8) | left[j + 3]!;
    W[i + 8] = (right[j]! << 24) | (right[j + 1]! << 16) | (right[j + 2]! << 8) | right[j + 3]!;
  }
  expand(W);
  for (let i = 0; i < 64; i++) W[i] = (W[i]! + K[i]!) | 0;
  STATE.set(IV);
  compress(STATE, W);
  compress(STATE, PAD_KW);
  const out = new Uint8Array(32);
  for (let i = 0, j = 0; i < 8; i++, j += 4) {
    const s = STATE[i]!;
    out[j] = s >>> 24;
    out[j + 1] = s >>> 16;
    out[j + 2] = s >>> 8;
    out[j + 3] = s;
  }
  return out;
}
