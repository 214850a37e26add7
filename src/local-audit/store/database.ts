// Opens the service's SQLite file and creates its tables. WAL mode with synchronous=NORMAL: a
// committed transaction is in the WAL before the response is sent, so it survives kill -9 of the
// process; an OS crash or power loss can lose the commits made since the WAL was last synced
// (by a checkpoint, about every 100 ms while commits come in, or by a publication). A
// publication is the exception: it commits through `commitDurably`, synced before it returns.
// synchronous=FULL for every commit would close that window for appends too, but its fsync on the
// thread that serves requests took ingest (1000-event batches, 4 clients) from 50,995–56,547 to
// 39,953–44,897 events/s (three alternating pairs of runs), under the 50,000 it must keep.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../../merkle/index.js';
import { checkSchema, type AuditSchema, type SchemaFieldType } from '../audit-schema.js';

export type Db = Database.Database;

/** The SQL column that holds schema field `id` (ids are checked against /^[a-z_][a-z0-9_]*$/). */
export function fieldColumn(id: string): string {
  return `f_${id}`;
}

/**
 * Fields with a trigram full-text index (trigram-index-file.ts): every `string` field.
 * Those are short (the standard ones are at most 128 characters) and the ones people search by
 * value (actor, target, tenant_id, ...); `text` fields (message, old, new: up to 32 KiB each) would
 * make every insert much dearer, and `string-unindexed` says what it is. The index only narrows
 * the candidates of a contains-match; the exact, case-sensitive instr() test still decides.
 */
export function ftsFieldIds(schema: AuditSchema): string[] {
  return schema.fields.filter(inTrigramIndex).map((f) => f.id);
}

function inTrigramIndex(field: AuditSchema['fields'][number]): boolean {
  return field.type === 'string';
}

function sqlType(type: SchemaFieldType): string {
  if (type === 'integer') return 'INTEGER';
  if (type === 'boolean') return 'INTEGER';
  return 'TEXT';
}

/** Whether SQLite refused a file as no database, or as damaged where it read it. */
export function isUnreadableDatabase(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_NOTADB' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'));
}

/**
 * Runs `fn` in an IMMEDIATE transaction of its own that is on disk when it commits
 * (synchronous=FULL: the WAL is fsynced before the commit returns, and before any other connection
 * sees it), whatever the connection's synchronous setting for other commits. A published root is
 * committed so: a root clients have seen and then lost to a power cut would be published again
 * differently for the same size, which a verifier cannot tell from tampering. The fsync covers
 * every commit before it in the WAL, so the events the root covers are on disk with it.
 */
export function commitDurably<T>(db: Db, fn: () => T): T {
  // Inside another transaction the commit, and so its sync, would be the outer one's.
  if (db.inTransaction) throw new Error('commitDurably cannot run inside another transaction');
  const mode = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = FULL');
  try {
    return db.transaction(fn).immediate();
  } finally {
    db.pragma(`synchronous = ${mode}`);
  }
}

export function openDatabase(path: string, schema: AuditSchema): Db {
  // Field ids become SQL column names: check every schema, not only those read from a file.
  checkSchema(schema);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  restrictFileModes(path);
  const db = new Database(path);
  try {
    initialise(db, schema);
  } catch (err) {
    db.close();
    // The pages read on open are damaged, or it is no database: say which file, and what to do.
    // Damage elsewhere is found by the integrity check (store/integrity-check.ts).
    if (isUnreadableDatabase(err)) {
      throw new Error(`the audit database ${path} cannot be read (${(err as Error).message}); restore it from a backup or move it away`, { cause: err });
    }
    throw err;
  }
  return db;
}

/**
 * The audit log is readable by its owner only: the file is created 0600 (and an existing one set
 * to 0600) before SQLite opens it, whatever the umask, because SQLite creates the -wal and -shm
 * files with the main file's permissions. Existing -wal, -shm and -journal files are set too.
 */
export function restrictFileModes(path: string): void {
  if (!existsSync(path)) {
    const fd = openSync(path, 'wx', 0o600);
    try {
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      chmodSync(file, 0o600);
    } catch (err) {
      // Absent (no WAL yet), or not ours to change (EPERM): SQLite then says whether it can open it.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw err;
    }
  }
}

function initialise(db: Db, schema: AuditSchema): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  dropBlobDownloads(db);
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS nodes (
      level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
      PRIMARY KEY (level, idx)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS published_roots (
      size INTEGER PRIMARY KEY, root_hash TEXT NOT NULL, published_at TEXT NOT NULL,
      consistency_proof TEXT);
    CREATE TABLE IF NOT EXISTS known_roots (
      root_hash TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS search_results (
      seq INTEGER PRIMARY KEY, secret TEXT NOT NULL, created_at TEXT NOT NULL,
      expires_at_ms INTEGER NOT NULL, tree_size INTEGER NOT NULL, published_size INTEGER NOT NULL,
      count INTEGER NOT NULL, restriction TEXT, verbose INTEGER, leaves BLOB NOT NULL);
    -- The minutely purge deletes a range of this index instead of scanning every set (a day of
    -- sets at a few thousand searches a second is millions of rows). Expiry times rise with the
    -- rows, so each insert appends to it.
    CREATE INDEX IF NOT EXISTS search_results_expiry ON search_results (expires_at_ms);
    CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, request TEXT NOT NULL,
      result TEXT, error TEXT, created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);
    -- Download files live in the downloads folder beside this file; a row is the metadata of one
    -- file (its own name there). token is the sha256 of the URL's token, NULL for a file kept to
    -- be linked to (an export's rendering); owner is the job or result set it renders.
    CREATE TABLE IF NOT EXISTS downloads (
      id INTEGER PRIMARY KEY, token TEXT UNIQUE, owner TEXT NOT NULL, format TEXT NOT NULL,
      file TEXT NOT NULL UNIQUE, content_type TEXT NOT NULL, size INTEGER NOT NULL,
      expires_at_ms INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS downloads_owner ON downloads (owner, format) WHERE token IS NULL;
    -- Purges read these instead of every row: a job's expiry sits after its request, and reaching
    -- it would walk the request's overflow pages.
    CREATE INDEX IF NOT EXISTS downloads_expiry ON downloads (expires_at_ms);
    CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs (expires_at_ms);
  `);
  dropOldResultSets(db);
  addColumnIfMissing(db, 'published_roots', 'consistency_proof', 'TEXT');
  addColumnIfMissing(db, 'search_results', 'verbose', 'INTEGER');
  createEventsTable(db, schema);
}

/** Brings a table of an older data directory up to date (a nullable column, so no rewrite). */
function addColumnIfMissing(db: Db, table: string, column: string, type: string): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[];
  if (!columns.includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}

/**
 * An older data directory keeps its result sets in `result_sets` (and `result_items`), which
 * nothing reads: they are simply dropped. Result sets live a day, so the only loss is paging a
 * search made before the upgrade, which answers NotFound like an expired set. The items go
 * first: they reference the sets, and foreign keys are on.
 */
function dropOldResultSets(db: Db): void {
  db.exec('DROP TABLE IF EXISTS result_items; DROP TABLE IF EXISTS result_sets');
}

/**
 * An older data directory keeps each download's gzip file in `downloads.content`. Downloads live an
 * hour, so the table is dropped rather than its blobs written out: a URL handed out before the
 * upgrade answers 404 like an expired one.
 */
function dropBlobDownloads(db: Db): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info('downloads')`).pluck().all() as string[];
  if (columns.includes('content')) db.exec('DROP TABLE downloads');
}

/**
 * B-tree indexes on event columns only where they pay for their cost on every append: range
 * comparisons (integer and datetime fields), and tenant restrictions on a tenant_id the trigram
 * index does not cover. A `string` tenant_id is in the trigram index, which its own thread keeps
 * up to date off the append path, and an equality restriction narrows a search through it
 * (fts-prefilter.ts). The B-tree beside it cost appends far more than it saved searches: with
 * 100 tenants every 1000-event batch wrote a page of it per tenant, and ingest (1000-event
 * batches, 4 clients) ran at 37,770 events/s with it against 47,781 without on a
 * 1,000,000-event log (45,084 / 48,584 against 51,893 / 56,560 on an empty one), while a
 * restricted search of one tenant's 10,000 events took 68 ms with it and 96 ms without (p50). A
 * restriction value shorter than three characters has no trigram: such a search scans the events
 * the log holds. Contains-matches scan (instr) and cannot use a B-tree anyway.
 */
function needsColumnIndex(field: AuditSchema['fields'][number]): boolean {
  if (field.type === 'integer' || field.type === 'datetime') return true;
  return field.id === 'tenant_id' && !inTrigramIndex(field);
}

function createEventsTable(db: Db, schema: AuditSchema): void {
  const stored = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string } | undefined;
  const wanted = JSON.stringify(schema);
  // Compared canonically: the same fields with their keys in another order are the same schema.
  if (stored && canonicalJson(JSON.parse(stored.value)) !== canonicalJson(schema)) {
    throw new Error('the data directory was created with a different audit schema; use a new DATA_DIR or the original schema');
  }
  // Column order matters for scans: SQLite reads a row's columns in order, and a column stored
  // after a large value (an 8 KiB `old`, the envelope holding it again) is reached only by walking
  // that value's overflow pages. So the short, searched fields come first, then the long ones, then
  // the hash and the envelope, which searches never test. A table created with another column
  // order keeps it: every statement names its columns.
  const long = (f: AuditSchema['fields'][number]): boolean => f.type === 'text' || f.type === 'string-unindexed';
  const ordered = [...schema.fields.filter((f) => !long(f)), ...schema.fields.filter(long)];
  const columns = ordered.map((f) => `"${fieldColumn(f.id)}" ${sqlType(f.type)}`).join(',\n      ');
  db.exec(`
    CREATE TABLE IF NOT EXISTS events (
      leaf_index INTEGER PRIMARY KEY,
      received_at TEXT NOT NULL,
      ${columns},
      hash BLOB NOT NULL,
      envelope TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS events_received_at ON events (received_at);
  `);
  for (const field of schema.fields) {
    const col = fieldColumn(field.id);
    if (needsColumnIndex(field)) db.exec(`CREATE INDEX IF NOT EXISTS "events_${col}" ON events ("${col}")`);
    // A data directory from before keeps the tenant index of a `string` tenant_id: dropped.
    else if (field.id === 'tenant_id') db.exec(`DROP INDEX IF EXISTS "events_${col}"`);
  }
  if (!stored) db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?)`).run(wanted);
  dropInFileTrigramIndex(db);
}

/**
 * The trigram index lives in a file of its own (trigram-index-file.ts). A data directory from
 * before keeps it in this file as `events_fts`: it is dropped, and the indexer builds the new file
 * from the events.
 */
function dropInFileTrigramIndex(db: Db): void {
  db.transaction(() => {
    db.exec(`DROP TABLE IF EXISTS events_fts; DELETE FROM meta WHERE key = 'events_fts'`);
  }).immediate();
}
