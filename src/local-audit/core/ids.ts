// Unguessable ids: request ids, result set ids and download URLs are named with them.
import { randomFillSync } from 'node:crypto';

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Bytes at or above this are skipped: 252 = 7 * 36, so every character is equally likely. */
const UNBIASED_LIMIT = 252;

// CSPRNG bytes drawn 4 KiB at a time (as crypto.randomUUID does): one call into the random source
// per ~100 ids instead of one per id, which every request paid twice (request id, result set id).
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

function randomByte(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}

/**
 * Random id: prefix + 32 chars of [a-z0-9] (the shape of the service's ids), about 165 bits from
 * the CSPRNG. Ids name result sets and download URLs, so they must not be guessable.
 */
export function randomId(prefix: string): string {
  let out = prefix;
  for (let chars = 0; chars < 32; ) {
    const byte = randomByte();
    if (byte >= UNBIASED_LIMIT) continue; // skipped with probability 4/256
    out += ALNUM[byte % 36];
    chars++;
  }
  return out;
}
