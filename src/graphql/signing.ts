// `signLocal`: the gateway signs events with its configured Ed25519 key, as the vendor SDKs do.
import { readFileSync } from 'node:fs';
import { parsePrivateKey, signEvent } from '../merkle/index.js';
import type { EventSigner } from '../audit-client/index.js';

/** Reads an Ed25519 PKCS#8 PEM key file; throws a one-line error naming the file when unusable. */
export function loadSigner(path: string): EventSigner {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`SIGNING_KEY_FILE ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  let seed: Uint8Array;
  try {
    seed = parsePrivateKey(pem);
  } catch (err) {
    throw new Error(`SIGNING_KEY_FILE ${path} is not an Ed25519 private key (PKCS#8 PEM): ${(err as Error).message}`, { cause: err });
  }
  return (event) => signEvent(event, seed);
}
