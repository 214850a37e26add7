// signEvent / verifySignature round trips, cross-checked against node:crypto's Ed25519 (which the
// module itself may not import): same public key, same deterministic signature, same verdicts.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  canonicalJson,
  normalizeEvent,
  parsePrivateKey,
  parsePublicKey,
  publicKeyPem,
  signEvent,
  verifySignature,
} from '../../src/merkle/index.js';

const event = normalizeEvent({
  message: 'Deleted user ✓ "bob"',
  actor: 'alice',
  action: 'delete',
  target: 'bob',
  status: 'ok',
  new: { deleted: true, roles: ['admin', 'ops'] },
});

const SPKI_PEM = /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/]+={0,2}\n-----END PUBLIC KEY-----\n$/;
const message = (e: unknown): Buffer => Buffer.from(canonicalJson(e), 'utf8');

describe('keys from @noble/curves', () => {
  const seed = ed25519.utils.randomSecretKey();
  const signed = signEvent(event, seed);

  test('the signature verifies, and is padded base64 of 64 bytes', () => {
    expect(verifySignature({ event, signature: signed.signature, publicKey: signed.public_key })).toEqual({ status: 'PASS' });
    expect(signed.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
  });

  test('public_key is the canonical JSON {"algorithm":"ED25519","key":"<SPKI PEM>"} of the signing key', () => {
    const info = JSON.parse(signed.public_key) as Record<string, unknown>;
    expect(Object.keys(info)).toEqual(['algorithm', 'key']);
    expect(info.algorithm).toBe('ED25519');
    expect(info.key).toMatch(SPKI_PEM);
    expect(canonicalJson(info)).toBe(signed.public_key);
    // node:crypto reads the PEM as the same Ed25519 key.
    const jwk = createPublicKey(info.key as string).export({ format: 'jwk' });
    expect(jwk.crv).toBe('Ed25519');
    expect(Buffer.from(jwk.x!, 'base64url')).toEqual(Buffer.from(ed25519.getPublicKey(seed)));
    expect(publicKeyPem(seed)).toBe(info.key);
  });

  test('node:crypto verifies the signature over the canonical event', () => {
    const key = createPublicKey((JSON.parse(signed.public_key) as { key: string }).key);
    expect(nodeVerify(null, message(event), key, Buffer.from(signed.signature, 'base64'))).toBe(true);
  });

  test('key order in the event does not matter (the message is the canonical JSON)', () => {
    const reordered = Object.fromEntries(Object.entries(event).reverse());
    expect(verifySignature({ event: reordered, signature: signed.signature, publicKey: signed.public_key }).status).toBe('PASS');
  });

  test('publicKeyInfo members are kept beside algorithm and key, and algorithm/key cannot be overridden', () => {
    const withInfo = signEvent(event, seed, { key_id: 'key-2025', algorithm: 'RSA', key: 'nope' });
    const info = JSON.parse(withInfo.public_key) as Record<string, unknown>;
    expect(info).toEqual({ algorithm: 'ED25519', key: publicKeyPem(seed), key_id: 'key-2025' });
    expect(verifySignature({ event, signature: withInfo.signature, publicKey: withInfo.public_key }).status).toBe('PASS');
  });

  test('legacy public key forms verify: bare PEM, base64 raw key, base64 SPKI DER', () => {
    const pem = publicKeyPem(seed);
    const raw = Buffer.from(ed25519.getPublicKey(seed)).toString('base64');
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
    for (const publicKey of [pem, raw, der, `  ${pem}  `]) {
      expect(verifySignature({ event, signature: signed.signature, publicKey }).status).toBe('PASS');
    }
  });

  test('tampering fails: a changed field, another key, any flipped signature bit', () => {
    const other = signEvent(event, ed25519.utils.randomSecretKey());
    const fails = [
      verifySignature({ event: { ...event, target: 'carol' }, signature: signed.signature, publicKey: signed.public_key }),
      verifySignature({ event: { ...event, extra: 'x' }, signature: signed.signature, publicKey: signed.public_key }),
      verifySignature({ event, signature: signed.signature, publicKey: other.public_key }),
      verifySignature({ event, signature: other.signature, publicKey: signed.public_key }),
    ];
    const sig = Buffer.from(signed.signature, 'base64');
    // One bit in every byte of the 64 (noble verification is ~1 ms each).
    for (let byte = 0; byte < 64; byte++) {
      const flipped = Buffer.from(sig);
      flipped[byte]! ^= 1 << (byte % 8);
      fails.push(verifySignature({ event, signature: flipped.toString('base64'), publicKey: signed.public_key }));
    }
    expect(fails.map((v) => v.status)).toEqual(fails.map(() => 'FAIL'));
    expect(fails.every((v) => typeof v.reason === 'string' && v.reason.length > 0)).toBe(true);
  });
});

test('a "__proto__" member (legal JSON) survives normalizeEvent and is covered by the signature', () => {
  const parsed = JSON.parse('{"__proto__":{"x":1},"message":"m"}') as Record<string, unknown>;
  const normalized = normalizeEvent(parsed);
  expect(canonicalJson(normalized)).toBe('{"__proto__":"{\\"x\\":1}","message":"m"}');
  const seed = ed25519.utils.randomSecretKey();
  const { signature, public_key } = signEvent(normalized, seed);
  expect(verifySignature({ event: normalized, signature, publicKey: public_key }).status).toBe('PASS');
  expect(verifySignature({ event: { message: 'm' }, signature, publicKey: public_key }).status).toBe('FAIL');
});

describe('a PKCS#8 PEM private key from node:crypto', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pkcs8Pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const spkiPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  test('signs exactly as node:crypto does (Ed25519 is deterministic), with node\'s public key', () => {
    const signed = signEvent(event, pkcs8Pem);
    expect(signed.signature).toBe(nodeSign(null, message(event), privateKey).toString('base64'));
    expect((JSON.parse(signed.public_key) as { key: string }).key).toBe(spkiPem);
    expect(publicKeyPem(pkcs8Pem)).toBe(spkiPem);
    expect(verifySignature({ event, signature: signed.signature, publicKey: signed.public_key }).status).toBe('PASS');
  });

  test('the key also reads as base64 PKCS#8 DER and as its raw 32-byte seed', () => {
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    const seed = parsePrivateKey(pkcs8Pem);
    expect(seed).toHaveLength(32);
    expect(parsePrivateKey(der.toString('base64'))).toEqual(seed);
    // The seed is the last 32 bytes of the 48-byte PKCS#8 DER.
    expect(Buffer.from(seed)).toEqual(der.subarray(16));
    expect(signEvent(event, seed)).toEqual(signEvent(event, pkcs8Pem));
    const fromSeed = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    expect(signEvent(event, seed).signature).toBe(nodeSign(null, message(event), fromSeed).toString('base64'));
  });

  test('keys that are not Ed25519 private keys are rejected with a TypeError', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => signEvent(event, rsa)).toThrow(TypeError);
    expect(() => signEvent(event, spkiPem)).toThrow(TypeError);
    expect(() => signEvent(event, 'not a key')).toThrow(TypeError);
    expect(() => signEvent(event, new Uint8Array(31))).toThrow(TypeError);
  });
});

test('missing or malformed pieces: NONE when unsigned, FAIL with a reason otherwise, never a throw', () => {
  const seed = ed25519.utils.randomSecretKey();
  const { signature, public_key } = signEvent(event, seed);
  expect(verifySignature({ event }).status).toBe('NONE');
  expect(verifySignature({ event, signature: null, publicKey: null }).status).toBe('NONE');
  const rsaPem = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const cases = [
    { event, signature },
    { event, publicKey: public_key },
    { event, signature: signature.slice(4), publicKey: public_key },
    { event, signature: `${signature.slice(0, -2)}`, publicKey: public_key },
    { event, signature: 'not base64!', publicKey: public_key },
    { event, signature, publicKey: '{"algorithm":"ED25519"}' },
    { event, signature, publicKey: '{"algorithm":"RSA","key":"x"}' },
    { event, signature, publicKey: '{not json' },
    { event, signature, publicKey: rsaPem },
    { event, signature, publicKey: JSON.stringify({ algorithm: 'ED25519', key: rsaPem }) },
    { event, signature, publicKey: 'AAAA' },
    { event, signature, publicKey: '' },
    { event: undefined, signature, publicKey: public_key },
    { event: { n: 10n }, signature, publicKey: public_key },
    { event, signature: 42 as unknown as string, publicKey: public_key },
  ];
  for (const input of cases) {
    const result = verifySignature(input);
    expect(result.status).toBe('FAIL');
    expect(result.reason).toBeTruthy();
  }
  expect(parsePublicKey('{"key": 5}').ok).toBe(false);
});

test('random events: sign then verify passes, and changing any one field fails', () => {
  const seed = ed25519.utils.randomSecretKey();
  const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }));
  fc.assert(
    fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), value, { minKeys: 1, maxKeys: 6 }), fc.nat(), (raw, pick) => {
      const e = normalizeEvent(raw);
      const { signature, public_key } = signEvent(e, seed);
      expect(verifySignature({ event: e, signature, publicKey: public_key }).status).toBe('PASS');
      const keys = Object.keys(e);
      const key = keys[pick % keys.length]!;
      const changed = { ...e, [key]: typeof e[key] === 'string' ? `${e[key] as string}.` : `${String(e[key])}!` };
      expect(verifySignature({ event: changed, signature, publicKey: public_key }).status).toBe('FAIL');
    }),
    { numRuns: 25 },
  );
});
