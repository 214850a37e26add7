// The gateway's native SHA-256 of envelopes (src/crypto/native-sha256.ts) against src/merkle's
// pure-JS one: the same digest for every string, lone surrogates and astral characters included,
// and the same event-hash verdicts, honest or tampered, whichever of the two verifyEnvelopeHash uses.
import fc from 'fast-check';
import { sha256HexNative, verifyEnvelopeHashNative } from '../../src/crypto/native-sha256.js';
import { hashEnvelope, sha256HexOfString, verifyEnvelopeHash } from '../../src/merkle/index.js';

test('the same digest as the pure-JS SHA-256 for the awkward strings', () => {
  const awkward = ['', 'a', '\u00e9', '\u{1F600}', '\ud800', 'x\udc00y', '\udbff\udfff', '\u0000', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), 'b'.repeat(10_000)];
  for (const text of awkward) expect(sha256HexNative(text)).toBe(sha256HexOfString(text));
});

test('the same digest as the pure-JS SHA-256 for generated strings (UTF-16 units, unpaired surrogates included)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 4 }), (text, surrogates) => {
      const mixed = text + surrogates + text;
      expect(sha256HexNative(mixed)).toBe(sha256HexOfString(mixed));
    }),
    { numRuns: 300 },
  );
});

test('verifyEnvelopeHashNative gives the verdict verifyEnvelopeHash gives, honest or tampered', () => {
  const envelope = JSON.parse(JSON.stringify({ event: { message: 'caf\u00e9 \u{1F600}', actor: 'a', old: '{"x":1}' }, received_at: '2026-12-05T11:47:14.130039Z' })) as Record<string, unknown>;
  const hash = hashEnvelope(envelope);
  expect(verifyEnvelopeHashNative(envelope, hash)).toEqual({ status: 'PASS' });
  expect(verifyEnvelopeHashNative(envelope, hash.toUpperCase())).toEqual(verifyEnvelopeHash(envelope, hash.toUpperCase()));
  const tampered = { ...envelope, event: { ...(envelope.event as object), actor: 'b' } };
  const native = verifyEnvelopeHashNative(tampered, hash);
  expect(native.status).toBe('FAIL');
  expect(native).toEqual(verifyEnvelopeHash(tampered, hash));
});
