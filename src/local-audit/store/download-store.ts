// The `downloads` table: the metadata of the files in the downloads folder (the files themselves
// are on disk, never in SQLite). Two kinds of rows, each naming its own file:
//  - a rendering (token NULL): an export's or a result set's file in one format, kept so that
//    later download requests link to it instead of rendering it again;
//  - a download (token set): the file behind one dest_url, named by a token that is the URL's
//    capability. Only the token's sha256 is stored, so reading the table does not give a URL.
import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A file of the downloads folder, as recorded. */
export interface DownloadFile {
  /** The job id or result set id it renders. */
  owner: string;
  format: string;
  /** Its name inside the downloads folder. */
  file: string;
  contentType: string;
  size: number;
  expiresAtMs: number;
}

interface DownloadRow {
  owner: string;
  format: string;
  file: string;
  content_type: string;
  size: number;
  expires_at_ms: number;
}

const toFile = (row: DownloadRow): DownloadFile => ({
  owner: row.owner,
  format: row.format,
  file: row.file,
  contentType: row.content_type,
  size: row.size,
  expiresAtMs: row.expires_at_ms,
});

const COLUMNS = 'owner, format, file, content_type, size, expires_at_ms';

export class DownloadStore {
  private readonly insertStmt: Database.Statement<[string | null, string, string, string, string, number, number]>;
  private readonly byTokenStmt: Database.Statement<[string, number], DownloadRow>;
  private readonly renderingStmt: Database.Statement<[string, string, number], DownloadRow>;
  private readonly expiredStmt: Database.Statement<[number], { file: string }>;
  private readonly purgeStmt: Database.Statement<[number]>;
  private readonly filesStmt: Database.Statement<[], { file: string }>;
  private readonly forgetStmt: Database.Statement<[string]>;

  constructor(db: Db) {
    this.insertStmt = db.prepare(`INSERT INTO downloads (token, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.byTokenStmt = db.prepare(`SELECT ${COLUMNS} FROM downloads WHERE token = ? AND expires_at_ms > ?`);
    // The longest-lived rendering: the one a new download should link to.
    this.renderingStmt = db.prepare(
      `SELECT ${COLUMNS} FROM downloads WHERE owner = ? AND format = ? AND token IS NULL AND expires_at_ms > ? ORDER BY expires_at_ms DESC LIMIT 1`,
    );
    this.expiredStmt = db.prepare('SELECT file FROM downloads WHERE expires_at_ms <= ?');
    this.purgeStmt = db.prepare('DELETE FROM downloads WHERE expires_at_ms <= ?');
    this.filesStmt = db.prepare('SELECT file FROM downloads');
    this.forgetStmt = db.prepare('DELETE FROM downloads WHERE file = ?');
  }

  /** Records a rendering of `owner` (a file later downloads link to). */
  putRendering(file: DownloadFile): void {
    this.insertStmt.run(null, file.owner, file.format, file.file, file.contentType, file.size, file.expiresAtMs);
  }

  /** The unexpired rendering of `owner` in `format`, if any. */
  rendering(owner: string, format: string, nowMs = Date.now()): DownloadFile | undefined {
    const row = this.renderingStmt.get(owner, format, nowMs);
    return row && toFile(row);
  }

  /** Records a download; returns the token that names it (256 random bits). */
  putDownload(file: DownloadFile): string {
    const token = randomBytes(32).toString('base64url');
    this.insertStmt.run(hashToken(token), file.owner, file.format, file.file, file.contentType, file.size, file.expiresAtMs);
    return token;
  }

  get(token: string, nowMs = Date.now()): DownloadFile | undefined {
    const row = this.byTokenStmt.get(hashToken(token), nowMs);
    return row && toFile(row);
  }

  /** Deletes the expired rows; returns the names of their files, which the caller removes. */
  purgeExpired(nowMs = Date.now()): string[] {
    const files = this.expiredStmt.all(nowMs).map((r) => r.file);
    if (files.length > 0) this.purgeStmt.run(nowMs);
    return files;
  }

  /** The name of every recorded file (after purgeExpired: every live one). */
  files(): Set<string> {
    return new Set(this.filesStmt.all().map((r) => r.file));
  }

  /** Deletes the row of a file that is gone from the folder. */
  forget(file: string): void {
    this.forgetStmt.run(file);
  }
}
