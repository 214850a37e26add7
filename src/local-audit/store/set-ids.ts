// Result set ids: "pas_" + 25 base-36 characters naming the row + 7 random ones stored with it
// (32 characters of [0-9a-z], the shape of the service's ids). The 25 characters are the row
// number encrypted with AES-128 under a key kept in the database (one block: the number, then
// eight zero bytes), so an id reveals nothing about how many sets were made, and an id that was
// not issued decrypts to a block without the zero bytes (a 2^-64 chance otherwise) and is refused
// before any lookup. The 7 stored characters must match as well.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { randomId } from '../http/envelope.js';
import type { Db } from './database.js';

const ROW_CHARS = 25; // 36^25 > 2^128
const SECRET_CHARS = 7;
const ID_PATTERN = new RegExp(`^pas_([0-9a-z]{${ROW_CHARS}})([0-9a-z]{${SECRET_CHARS}})$`);
const MAX_BLOCK = (1n << 128n) - 1n;

export class SetIds {
  private readonly key: Buffer;

  constructor(db: Db) {
    db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('result_id_key', ?)`).run(randomBytes(16).toString('hex'));
    this.key = Buffer.from(db.prepare(`SELECT value FROM meta WHERE key = 'result_id_key'`).pluck().get() as string, 'hex');
  }

  /** A new row's random part. */
  newSecret(): string {
    return randomId('').slice(0, SECRET_CHARS);
  }

  format(row: number, secret: string): string {
    const block = Buffer.alloc(16);
    block.writeBigUInt64BE(BigInt(row));
    const cipher = createCipheriv('aes-128-ecb', this.key, null).setAutoPadding(false);
    const encrypted = Buffer.concat([cipher.update(block), cipher.final()]);
    return `pas_${BigInt(`0x${encrypted.toString('hex')}`).toString(36).padStart(ROW_CHARS, '0')}${secret}`;
  }

  /** The row and random part an id names, or undefined for anything this service did not issue. */
  parse(id: string): { row: number; secret: string } | undefined {
    const match = ID_PATTERN.exec(id);
    if (!match) return undefined;
    let value = 0n;
    for (const char of match[1]!) value = value * 36n + BigInt(Number.parseInt(char, 36));
    if (value > MAX_BLOCK) return undefined;
    const decipher = createDecipheriv('aes-128-ecb', this.key, null).setAutoPadding(false);
    const block = Buffer.concat([decipher.update(Buffer.from(value.toString(16).padStart(32, '0'), 'hex')), decipher.final()]);
    if (block.readBigUInt64BE(8) !== 0n) return undefined;
    const row = block.readBigUInt64BE(0);
    return row > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : { row: Number(row), secret: match[2]! };
  }
}
