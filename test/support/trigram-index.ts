// The trigram index of a test's own audit database, built in the test's thread: the same writer
// the service's indexer thread runs (store/trigram-index-writer.ts), caught up when the test says.
import Database from 'better-sqlite3';
import type { AuditSchema } from '../../src/local-audit/audit-schema.js';
import { fieldColumn, ftsFieldIds, type Db } from '../../src/local-audit/store/database.js';
import { trigramIndexPath } from '../../src/local-audit/store/trigram-index-file.js';
import { TrigramIndexWriter } from '../../src/local-audit/store/trigram-index-writer.js';

export interface TestTrigramIndex {
  /** A read-only connection to the index file, as a search worker has (SearchMatcherOptions.index). */
  reader: Db;
  /** Indexes every event committed so far; returns how many. */
  catchUp(): number;
  close(): void;
}

/** Creates (or opens) the index of the audit database `db` and catches it up. */
export function trigramIndexOf(db: Db, schema: AuditSchema): TestTrigramIndex {
  const path = trigramIndexPath(db.name);
  const writer = new TrigramIndexWriter(db.name, path, ftsFieldIds(schema).map(fieldColumn), 5000);
  writer.catchUp();
  const reader = new Database(path, { readonly: true, fileMustExist: true });
  return {
    reader,
    catchUp: () => writer.catchUp(),
    close: () => {
      reader.close();
      writer.close();
    },
  };
}
