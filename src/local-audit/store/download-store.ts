// The `downloads` table: rendered export and result-set files, each named by a token that is the
// URL's capability. Only the token's sha256 is stored, so reading the table does not give a URL.
import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export class DownloadStore {
  private readonly insertStmt: Database.Statement<[string, string, Buffer, number]>;
  private readonly selectStmt: Database.Statement<[string, number], { format: string; content: Buffer }>;
  private readonly purgeStmt: Database.Statement<[number]>;

  constructor(db: Db) {
    this.insertStmt = db.prepare('INSERT INTO downloads (token, format, content, expires_at_ms) VALUES (?, ?, ?, ?)');
    this.selectStmt = db.prepare('SELECT format, content FROM downloads WHERE token = ? AND expires_at_ms > ?');
    this.purgeStmt = db.prepare('DELETE FROM downloads WHERE expires_at_ms <= ?');
  }

  /** Stores the file; returns the token that names it (256 random bits). */
  put(format: string, content: Buffer, expiresAtMs: number): string {
    const token = randomBytes(32).toString('base64url');
    this.insertStmt.run(hashToken(token), format, content, expiresAtMs);
    return token;
  }

  get(token: string, nowMs = Date.now()): { format: string; content: Buffer } | undefined {
    return this.selectStmt.get(hashToken(token), nowMs);
  }

  purgeExpired(nowMs = Date.now()): void {
    this.purgeStmt.run(nowMs);
  }
}
