// SHA-256 of a string through node:crypto (OpenSSL), for the event hashes the gateway checks on
// every page and every verified log: src/merkle's sha256HexOfString stays pure JS for browsers and
// gives the same digest (both hash the string's UTF-8 bytes, a lone surrogate as U+FFFD), at about
// a tenth of the cost for an envelope of a few hundred bytes. The 64-byte interior-node hashes stay
// in src/merkle, whose specialised JS is faster at that size than a call into OpenSSL.
import { hash } from 'node:crypto';
import { verifyEnvelopeHash, type Verification } from '../merkle/index.js';

/** Lowercase hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256HexNative(text: string): string {
  return hash('sha256', text, 'hex');
}

/** src/merkle's verifyEnvelopeHash with the envelope hashed through node:crypto. */
export function verifyEnvelopeHashNative(envelope: unknown, hash: string | null | undefined): Verification {
  return verifyEnvelopeHash(envelope, hash, sha256HexNative);
}
