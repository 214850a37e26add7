// The event hash on the audit's hot path: sha256 of the canonical JSON (RFC 8785) of the envelope,
// for every event of the log. src/merkle's hashEnvelope is the reference and gives the same bytes;
// this one is faster because it canonicalises with canonicalParsedJson (values JSON.parse
// produced) and hashes with node:crypto, which src/merkle cannot (it must run in browsers).
// test/full-audit/units.test.ts checks it against hashEnvelope on generated JSON.
import { hash } from 'node:crypto';
import { canonicalParsedJson } from '../merkle/index.js';

/** The event hash of a parsed envelope: 32 bytes. */
export function envelopeHash(envelope: unknown): Buffer {
  return hash('sha256', canonicalParsedJson(envelope), 'buffer');
}

/** sha256 of a text's UTF-8 bytes (a stored envelope that is not JSON still needs a leaf). */
export function textHash(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}
