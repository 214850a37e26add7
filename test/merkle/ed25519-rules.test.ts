// The pure-JS verifier (src/merkle) and the OpenSSL one (src/crypto) must give the same verdict,
// reason included, on every input: the conformance vectors, edge cases built here from the group
// maths (every case that the unconstrained backends decide differently), and random mutations.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { verifyMessageSignatureNative, verifySignatureNative } from '../../src/crypto/native-ed25519.js';
import { normalizeEvent, publicKeyPem, signEvent, verifyMessageSignature, verifySignature, type Verification } from '../../src/merkle/index.js';
import { loadVectors } from '../support/vectors.js';

const Point = ed25519.Point;
const p = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromLE = (bytes: Uint8Array): bigint => BigInt(`0x${hex(Uint8Array.from(bytes).reverse()) || '0'}`);
function toLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const mod = (n: bigint, m: bigint): bigint => ((n % m) + m) % m;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const withSignBit = (encoding: Uint8Array): Uint8Array => {
  const out = Uint8Array.from(encoding);
  out[31]! |= 0x80;
  return out;
};

/** The challenge k = SHA-512(R || A || M) mod L over the exact bytes given. */
const challenge = (r: Uint8Array, a: Uint8Array, message: Uint8Array): bigint => mod(fromLE(sha512(concat(r, a, message))), L);

/** A key pair with its secret scalar a (RFC 8032 §5.1.5: clamped low half of SHA-512(seed)). */
function keyPair(seed: Uint8Array): { seed: Uint8Array; a: bigint; A: Uint8Array } {
  const h = sha512(seed).slice(0, 32);
  h[0]! &= 248;
  h[31]! &= 127;
  h[31]! |= 64;
  const a = mod(fromLE(h), L);
  return { seed, a, A: Point.BASE.multiply(a).toBytes() };
}

/** A signature whose R is the given bytes, with S = r + k*a: it satisfies [S]B = [r]B + [k]A. */
const signWithR = (rBytes: Uint8Array, r: bigint, key: { a: bigint; A: Uint8Array }, message: Uint8Array): Uint8Array =>
  concat(rBytes, toLE(mod(r + challenge(rBytes, key.A, message) * key.a, L)));

/** Both verdicts on a message signature; they must be identical. */
function judge(message: Uint8Array | string, signature: Uint8Array | string, publicKey: Uint8Array | string): Verification {
  const text = message instanceof Uint8Array ? new TextDecoder().decode(message) : message;
  const sig = signature instanceof Uint8Array ? b64(signature) : signature;
  const key = publicKey instanceof Uint8Array ? b64(publicKey) : publicKey;
  const pure = verifyMessageSignature(text, sig, key);
  const native = verifyMessageSignatureNative(text, sig, key);
  expect(native).toEqual(pure);
  return pure;
}

/** The eight points of order dividing 8, from the torsion part of some curve point: [L]P = [L mod 8]P_torsion. */
function smallOrderPoints(): EdwardsPoint[] {
  for (let y = 2n; ; y++) {
    let P: EdwardsPoint;
    try {
      P = Point.fromBytes(toLE(y));
    } catch {
      continue;
    }
    const T = P.multiplyUnsafe(L - 1n).add(P);
    if (T.double().double().is0()) continue;
    return Array.from({ length: 8 }, (_, i) => (i === 0 ? Point.ZERO : T.multiplyUnsafe(BigInt(i))));
  }
}

const msg = utf8('{"action":"login","actor":"alice"}');
const signer = keyPair(Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1));
const torsion = smallOrderPoints();
const identity = Point.ZERO.toBytes();

describe('conformance vectors', () => {
  test.each(loadVectors('signatures.json').map((v) => [v.id, v] as const))('%s: both paths give the expected outcome', (_id, v) => {
    const [pure, native] =
      v.kind === 'message'
        ? [
            verifyMessageSignature(v.message as string, v.signature as string, v.public_key as string),
            verifyMessageSignatureNative(v.message as string, v.signature as string, v.public_key as string),
          ]
        : [
            verifySignature({ event: v.event, signature: v.signature as string | null, publicKey: v.public_key as string | null }),
            verifySignatureNative({ event: v.event, signature: v.signature as string | null, publicKey: v.public_key as string | null }),
          ];
    expect(native).toEqual(pure);
    expect(pure.status.toLowerCase()).toBe(v.expected);
  });
});

describe('the small-order points used below', () => {
  test('are eight distinct points killed by 8, and are the table the rules compare R against', () => {
    const encodings = torsion.map((t) => hex(t.toBytes()));
    expect(new Set(encodings).size).toBe(8);
    for (const t of torsion) expect(t.clearCofactor().is0()).toBe(true);
    expect([...encodings].sort()).toEqual([...ED25519_TORSION_SUBGROUP].sort());
  });
});

describe('the honest case', () => {
  test('the key maths here gives the same public key and signatures as @noble/curves', () => {
    expect(hex(signer.A)).toBe(hex(ed25519.getPublicKey(signer.seed)));
    // The deterministic nonce of RFC 8032 §5.1.6: r = SHA-512(prefix || M) mod L.
    const r = mod(fromLE(sha512(concat(sha512(signer.seed).slice(32), msg))), L);
    expect(hex(signWithR(Point.BASE.multiply(r).toBytes(), r, signer, msg))).toBe(hex(ed25519.sign(msg, signer.seed)));
  });

  test('a valid signature passes both paths, in every key form', () => {
    const sig = ed25519.sign(msg, signer.seed);
    const pem = publicKeyPem(signer.seed);
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
    for (const key of [b64(signer.A), pem, der, JSON.stringify({ algorithm: 'ED25519', key: pem })]) {
      expect(judge(msg, sig, key)).toEqual({ status: 'PASS' });
    }
    // Any r works, not just the deterministic one: [S]B = [r]B + [k]A.
    const r = 0x1234567890abcdefn;
    expect(judge(msg, signWithR(Point.BASE.multiply(r).toBytes(), r, signer, msg), signer.A).status).toBe('PASS');
  });

  test('node:crypto keys and signatures pass both paths', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const event = normalizeEvent({ message: 'é ✓', actor: 'bob', new: { n: 1 } });
    const signed = signEvent(event, pkcs8);
    const input = { event, signature: signed.signature, publicKey: signed.public_key };
    expect(verifySignature(input)).toEqual({ status: 'PASS' });
    expect(verifySignatureNative(input)).toEqual({ status: 'PASS' });
  });
});

describe('signature scalar S', () => {
  const sig = ed25519.sign(msg, signer.seed);
  const R = sig.slice(0, 32);
  const S = fromLE(sig.slice(32));

  test('S + L (the same group element, a malleated signature) fails in both', () => {
    // [S + L]B = [S]B, so only the range rule can tell the two apart.
    expect(Point.BASE.multiply(S).equals(Point.BASE.multiply(mod(S + L, L)))).toBe(true);
    expect(judge(msg, concat(R, toLE(S + L)), signer.A)).toEqual({ status: 'FAIL', reason: 'signature scalar S is not below the group order' });
  });

  test.each([
    ['L', L],
    ['L + 1', L + 1n],
    ['2^253', 2n ** 253n],
    ['2^256 - 1', 2n ** 256n - 1n],
  ])('S = %s fails in both', (_name, s) => {
    expect(judge(msg, concat(R, toLE(s)), signer.A)).toEqual({ status: 'FAIL', reason: 'signature scalar S is not below the group order' });
  });

  test('S = L - 1 and S = 0 are in range, and fail only on the equation', () => {
    expect(judge(msg, concat(R, toLE(L - 1n)), signer.A)).toEqual({ status: 'FAIL', reason: 'signature does not verify under the public key' });
    expect(judge(msg, concat(R, toLE(0n)), signer.A)).toEqual({ status: 'FAIL', reason: 'signature does not verify under the public key' });
  });
});

describe('non-canonical encodings (y >= p, or a sign bit on x = 0)', () => {
  // The y below 19 that are on the curve also have the encoding y + p < 2^255.
  const decodableSmallY = Array.from({ length: 19 }, (_, y) => BigInt(y)).filter((y) => {
    try {
      Point.fromBytes(toLE(y));
      return true;
    } catch {
      return false;
    }
  });

  test('there are such y (including 0 and 1, the order-4 and identity points)', () => {
    expect(decodableSmallY).toEqual(expect.arrayContaining([0n, 1n]));
    expect(decodableSmallY.length).toBeGreaterThan(4);
  });

  test('a public key encoded with y + p fails in both, though it decodes to a curve point under ZIP-215 rules', () => {
    for (const y of decodableSmallY) {
      const nonCanonical = toLE(y + p);
      expect(Point.fromBytes(nonCanonical, true).equals(Point.fromBytes(toLE(y)))).toBe(true);
      const sig = concat(identity, toLE(0n));
      expect(judge(msg, sig, nonCanonical)).toEqual({ status: 'FAIL', reason: 'public key is not a canonical Ed25519 point encoding' });
    }
  });

  test('the identity key encoded as y = p + 1 with R = identity, S = 0 satisfies the cofactorless equation, yet fails', () => {
    const A = toLE(p + 1n);
    const k = challenge(identity, A, msg);
    // [0]B - [k]O = O = R: only the encoding rule stands between this and a universal forgery.
    expect(Point.BASE.multiplyUnsafe(0n).subtract(Point.fromBytes(A, true).multiplyUnsafe(k)).toBytes()).toEqual(identity);
    expect(judge(msg, concat(identity, toLE(0n)), A)).toEqual({ status: 'FAIL', reason: 'public key is not a canonical Ed25519 point encoding' });
  });

  test('a sign bit on x = 0 (identity and the order-2 point) makes a key non-canonical', () => {
    for (const point of [Point.ZERO, torsion.find((t) => !t.is0() && t.double().is0())!]) {
      const encoding = withSignBit(point.toBytes());
      expect(judge(msg, ed25519.sign(msg, signer.seed), encoding)).toEqual({ status: 'FAIL', reason: 'public key is not a canonical Ed25519 point encoding' });
    }
  });

  test('R encoded non-canonically fails in both, even when [S]B - [k]A is the point it decodes to', () => {
    for (const R of [toLE(p + 1n), withSignBit(identity)]) {
      // S = k*a, so [S]B - [k]A = O: the identity, which R decodes to.
      const sig = signWithR(R, 0n, signer, msg);
      const S = fromLE(sig.slice(32));
      const k = challenge(R, signer.A, msg);
      expect(Point.BASE.multiplyUnsafe(S).subtract(Point.fromBytes(signer.A).multiplyUnsafe(k)).equals(Point.fromBytes(R, true))).toBe(true);
      expect(judge(msg, sig, signer.A)).toEqual({ status: 'FAIL', reason: 'signature R is not a canonical Ed25519 point encoding' });
    }
  });

  test('R with y = 2^255 - 1 (not below p) fails in both', () => {
    const R = toLE(2n ** 255n - 1n);
    expect(judge(msg, concat(R, toLE(5n)), signer.A)).toEqual({ status: 'FAIL', reason: 'signature R is not a canonical Ed25519 point encoding' });
  });
});

describe('small-order and mixed-order points', () => {
  test('every small-order public key fails in both, though R = [r]B, S = r satisfies the cofactored equation for any message', () => {
    const r = 987654321n;
    const R = Point.BASE.multiply(r);
    for (const T of torsion) {
      const A = T.toBytes();
      for (const message of [msg, utf8('another message')]) {
        const k = challenge(R.toBytes(), A, message);
        // [8]([S]B - R - [k]A) = -[8k]T = O.
        expect(Point.BASE.multiply(r).subtract(R).subtract(T.multiplyUnsafe(k)).clearCofactor().is0()).toBe(true);
        expect(judge(message, concat(R.toBytes(), toLE(r)), A)).toEqual({ status: 'FAIL', reason: 'public key is a small-order point' });
      }
    }
  });

  test('the identity key with R = identity, S = 0 satisfies even the cofactorless equation, and fails', () => {
    expect(Point.BASE.multiplyUnsafe(0n).subtract(Point.ZERO.multiplyUnsafe(challenge(identity, identity, msg))).toBytes()).toEqual(identity);
    expect(judge(msg, concat(identity, toLE(0n)), identity)).toEqual({ status: 'FAIL', reason: 'public key is a small-order point' });
  });

  test('the all-zero key (y = 0, a point of order 4) and an all-zero signature fail in both', () => {
    const zero32 = new Uint8Array(32);
    expect(Point.fromBytes(zero32).double().double().is0()).toBe(true);
    expect(judge(msg, new Uint8Array(64), zero32)).toEqual({ status: 'FAIL', reason: 'public key is a small-order point' });
    expect(judge(msg, ed25519.sign(msg, signer.seed), zero32)).toEqual({ status: 'FAIL', reason: 'public key is a small-order point' });
    expect(judge(msg, new Uint8Array(64), signer.A)).toEqual({ status: 'FAIL', reason: 'signature R is a small-order point' });
  });

  test('a mixed-order public key fails in both, even with a signature that satisfies the cofactorless equation', () => {
    const T = torsion[1]!;
    const A = Point.fromBytes(signer.A).add(T);
    const Abytes = A.toBytes();
    // Grind r until 8 divides k, so [k]T = O and [S]B - [k]A = [r]B = R exactly.
    let r = 1000n;
    while (challenge(Point.BASE.multiply(r).toBytes(), Abytes, msg) % 8n !== 0n) r++;
    const R = Point.BASE.multiply(r).toBytes();
    const k = challenge(R, Abytes, msg);
    const sig = concat(R, toLE(mod(r + k * signer.a, L)));
    expect(Point.BASE.multiply(fromLE(sig.slice(32))).subtract(A.multiplyUnsafe(k)).toBytes()).toEqual(R);
    expect(A.isSmallOrder()).toBe(false);
    expect(judge(msg, sig, Abytes)).toEqual({ status: 'FAIL', reason: 'public key is not in the prime-order subgroup' });
  });

  test('every small-order R fails in both, though S = k*a satisfies the cofactored equation (and, for R = identity, the cofactorless one)', () => {
    for (const T of torsion) {
      const R = T.toBytes();
      const sig = signWithR(R, 0n, signer, msg);
      const k = challenge(R, signer.A, msg);
      const residue = T.add(Point.fromBytes(signer.A).multiply(k)).subtract(Point.BASE.multiply(fromLE(sig.slice(32))));
      expect(residue.clearCofactor().is0()).toBe(true);
      expect(judge(msg, sig, signer.A)).toEqual({ status: 'FAIL', reason: 'signature R is a small-order point' });
    }
  });

  test('a mixed-order R ([r]B plus a small-order point) satisfies only the cofactored equation, and fails in both', () => {
    const r = 4242n;
    for (const T of torsion.slice(1)) {
      const R = Point.BASE.multiply(r).add(T);
      const sig = signWithR(R.toBytes(), r, signer, msg);
      const k = challenge(R.toBytes(), signer.A, msg);
      const residue = R.add(Point.fromBytes(signer.A).multiply(k)).subtract(Point.BASE.multiply(fromLE(sig.slice(32))));
      expect(residue.is0()).toBe(false);
      expect(residue.clearCofactor().is0()).toBe(true);
      expect(judge(msg, sig, signer.A)).toEqual({ status: 'FAIL', reason: 'signature does not verify under the public key' });
    }
  });
});

describe('points off the curve, wrong lengths, garbage', () => {
  const offCurveY = (() => {
    for (let y = 2n; ; y++) {
      try {
        Point.fromBytes(toLE(y));
      } catch {
        return y;
      }
    }
  })();

  test('a canonical y with no x on the curve fails as a key, and as R on the equation', () => {
    expect(judge(msg, ed25519.sign(msg, signer.seed), toLE(offCurveY))).toEqual({ status: 'FAIL', reason: 'public key is not a point on the Ed25519 curve' });
    expect(judge(msg, concat(toLE(offCurveY), toLE(7n)), signer.A)).toEqual({ status: 'FAIL', reason: 'signature does not verify under the public key' });
  });

  test('signatures of 0, 63 and 65 bytes and keys of 31 and 33 bytes fail in both with the same reason', () => {
    const sig = ed25519.sign(msg, signer.seed);
    for (const bad of [new Uint8Array(0), sig.slice(0, 63), concat(sig, new Uint8Array(1))]) {
      expect(judge(msg, bad, signer.A)).toEqual({ status: 'FAIL', reason: 'signature is not 64 bytes of base64' });
    }
    for (const bad of [signer.A.slice(0, 31), concat(signer.A, new Uint8Array(1)), new Uint8Array(0)]) {
      const verdict = judge(msg, sig, bad);
      expect(verdict.status).toBe('FAIL');
      expect(verdict.reason).toMatch(/public key/);
    }
  });

  test('non-base64, unpadded and non-string inputs fail in both with the same reason', () => {
    const sig = b64(ed25519.sign(msg, signer.seed));
    const key = b64(signer.A);
    const cases: Array<[string, string, string]> = [
      ['m', 'not base64!', key],
      ['m', sig.replace(/=+$/, ''), key],
      ['m', sig, 'not a key'],
      ['m', sig, '{"algorithm":"ED25519"}'],
      ['m', 42 as unknown as string, key],
      ['m', sig, 42 as unknown as string],
      [7 as unknown as string, sig, key],
    ];
    for (const [m, s, k] of cases) expect(judge(m, s, k).status).toBe('FAIL');
    const event = { message: 'x' };
    for (const [e, s, k] of [
      [event, sig, undefined],
      [event, undefined, key],
      [{ n: 10n }, sig, key],
      [undefined, sig, key],
    ] as const) {
      const pure = verifySignature({ event: e, signature: s ?? null, publicKey: k ?? null });
      expect(verifySignatureNative({ event: e, signature: s ?? null, publicKey: k ?? null })).toEqual(pure);
      expect(pure.status).toBe('FAIL');
    }
    expect(verifySignatureNative({ event })).toEqual(verifySignature({ event }));
  });
});

describe('random inputs', () => {
  const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const keyForm = fc.constantFrom('raw', 'pem', 'json');
  const presentKey = (raw: Uint8Array, form: string): string => {
    if (form === 'raw') return b64(raw);
    const pem = `-----BEGIN PUBLIC KEY-----\n${b64(concat(Buffer.from('302a300506032b6570032100', 'hex'), raw))}\n-----END PUBLIC KEY-----\n`;
    return form === 'pem' ? pem : JSON.stringify({ algorithm: 'ED25519', key: pem });
  };

  test('flipping bits of the signature, key or message of a valid signature: both paths agree, and it fails', () => {
    const mutation = fc.record({
      seed: seedArb,
      message: fc.string({ minLength: 1, maxLength: 80 }),
      target: fc.constantFrom('signature', 'key', 'message'),
      bits: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
      form: keyForm,
    });
    fc.assert(
      fc.property(mutation, ({ seed, message, target, bits, form }) => {
        const A = ed25519.getPublicKey(seed);
        const sig = ed25519.sign(utf8(message), seed);
        expect(judge(message, sig, presentKey(A, form))).toEqual({ status: 'PASS' });
        expect(ed25519.verify(sig, utf8(message), A, { zip215: false })).toBe(true);

        const mSig = Uint8Array.from(sig);
        const mKey = Uint8Array.from(A);
        let mMessage = message;
        if (target === 'message') {
          // Bits 0-6 of ASCII code units: the message stays ASCII, so its UTF-8 bytes change too.
          const codes = [...message].map((c) => c.charCodeAt(0));
          for (const bit of new Set(bits.map((b) => b % (codes.length * 7)))) codes[Math.floor(bit / 7)]! ^= 1 << bit % 7;
          mMessage = String.fromCharCode(...codes);
        } else {
          const bytes = target === 'signature' ? mSig : mKey;
          for (const bit of new Set(bits.map((b) => b % (bytes.length * 8)))) bytes[bit >> 3]! ^= 1 << (bit & 7);
        }
        const verdict = judge(mMessage, mSig, presentKey(mKey, form));
        expect(verdict.status).toBe('FAIL');
      }),
      { numRuns: 300 },
    );
  });

  test('structured random signatures (S below L, R any bytes) under valid and random keys: both paths agree', () => {
    const input = fc.record({
      seed: seedArb,
      randomKey: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }),
      r: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      s: fc.bigInt({ min: 0n, max: L - 1n }),
      message: fc.string({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(input, ({ seed, randomKey, r, s, message }) => {
        const key = randomKey ?? ed25519.getPublicKey(seed);
        const verdict = judge(message, concat(r, toLE(s)), key);
        expect(verdict.status).toBe('FAIL');
      }),
      { numRuns: 300 },
    );
  });

  test('events: a changed field or someone else\'s key fails the same way in both', () => {
    fc.assert(
      fc.property(seedArb, seedArb, fc.string({ maxLength: 30 }), (seedA, seedB, text) => {
        const event = normalizeEvent({ message: text, actor: 'svc' });
        const signed = signEvent(event, seedA);
        const other = signEvent(event, seedB);
        const inputs = [
          { event, signature: signed.signature, publicKey: signed.public_key },
          { event: { ...event, message: `${text}.` }, signature: signed.signature, publicKey: signed.public_key },
          { event, signature: signed.signature, publicKey: other.public_key },
        ];
        const verdicts = inputs.map((i) => {
          const pure = verifySignature(i);
          expect(verifySignatureNative(i)).toEqual(pure);
          return pure.status;
        });
        expect(verdicts).toEqual(hex(seedA) === hex(seedB) ? ['PASS', 'FAIL', 'PASS'] : ['PASS', 'FAIL', 'FAIL']);
      }),
      { numRuns: 60 },
    );
  });
});
