// Result set ids: "pas_" + 25 base-36 characters naming the row + 7 random ones stored with it
// (32 characters of [0-9a-z], the shape of the service's ids). The 25 characters are the row
// number encrypted with AES-128 under a key kept in the database (one block: the number, then
// eight zero bytes), so an id reveals nothing about how many sets were made, and an id that was
// not issued decrypts to a block without the zero bytes (a 2^-64 chance otherwise) and is refused
// before any lookup. The 7 stored characters must match as well.
import { createCipheriv, createDecipheriv, randomBytes, type Cipher, type Decipher } from 'node:crypto';
import { randomId } from '../core/ids.js';
import type { Db } from './database.js';

const ROW_CHARS = 25; // 36^25 > 2^128
const SECRET_CHARS = 7;
const ID_PATTERN = new RegExp(`^pas_([0-9a-z]{${ROW_CHARS}})([0-9a-z]{${SECRET_CHARS}})$`);
const MAX_BLOCK = (1n << 128n) - 1n;

export class SetIds {
  // ECB without padding turns each 16-byte update() into its 16-byte block at once and keeps no
  // state between blocks, so one cipher of each direction serves every id (creating one per id
  // cost more than the rest of the id's work).
  private readonly encryptor: Cipher;
  private readonly decryptor: Decipher;

  constructor(db: Db) {
    db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('result_id_key', ?)`).run(randomBytes(16).toString('hex'));
    const key = Buffer.from(db.prepare(`SELECT value FROM meta WHERE key = 'result_id_key'`).pluck().get() as string, 'hex');
    this.encryptor = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    this.decryptor = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  }

  /** A new row's random part. */
  newSecret(): string {
    return randomId('').slice(0, SECRET_CHARS);
  }

  format(row: number, secret: string): string {
    const block = Buffer.alloc(16);
    block.writeBigUInt64BE(BigInt(row));
    const encrypted = this.encryptor.update(block);
    return `pas_${BigInt(`0x${encrypted.toString('hex')}`).toString(36).padStart(ROW_CHARS, '0')}${secret}`;
  }

  /** The row and random part an id names, or undefined for anything this service did not issue. */
  parse(id: string): { row: number; secret: string } | undefined {
    const match = ID_PATTERN.exec(id);
    if (!match) return undefined;
    let value = 0n;
    for (const char of match[1]!) value = value * 36n + BigInt(Number.parseInt(char, 36));
    if (value > MAX_BLOCK) return undefined;
    const block = this.decryptor.update(Buffer.from(value.toString(16).padStart(32, '0'), 'hex'));
    if (block.readBigUInt64BE(8) !== 0n) return undefined;
    const row = block.readBigUInt64BE(0);
    return row > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : { row: Number(row), secret: match[2]! };
  }
}
