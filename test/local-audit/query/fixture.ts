// A real SQLite events table for execution tests: the standard fields as columns, plus custom
// schema fields (integer, datetime, boolean, unindexed string) read from the event JSON, the way a
// store would lay them out. Each row is named by its id so tests read as "query -> ids".
import Database from 'better-sqlite3';
import { createFieldResolver, type FieldInfo, type FieldResolver } from '../../../src/local-audit/query/index.js';
import type { StandardEvent } from '../../../src/wire/index.js';

export const STANDARD_FIELDS = ['message', 'actor', 'action', 'target', 'status', 'source', 'old', 'new', 'tenant_id'] as const;

export interface Row extends StandardEvent {
  id: number;
  /** Normalised as the store would write it. */
  timestamp?: string;
  // Custom schema fields, kept in the event JSON.
  count?: number;
  seen_at?: string;
  flag?: boolean;
  note?: string;
}

export const ROWS: Row[] = [
  {
    id: 1,
    message: 'User login succeeded',
    actor: 'John Smith',
    action: 'login',
    target: 'web',
    status: 'success',
    source: 'app',
    tenant_id: 't1',
    timestamp: '2024-05-01T10:00:00.000000Z',
    count: 5,
    seen_at: '2024-05-01T10:00:00.500000Z',
    flag: true,
  },
  {
    id: 2,
    message: 'user LOGIN failed',
    actor: 'john smith',
    action: 'login',
    status: 'failure',
    source: 'app',
    tenant_id: 't2',
    timestamp: '2024-05-02T08:30:00.000000Z',
    count: 15,
    seen_at: '2024-05-02T00:00:00.000000Z',
    flag: false,
  },
  { id: 3, message: '100% done_ok', actor: 'bob', action: 'export', target: 'report_1', old: 'a', new: 'b', count: -3, note: 'secret' },
  { id: 4, message: 'deleted record', action: 'delete', target: 'record 42', timestamp: '2023-12-31T23:59:59.999999Z' },
  { id: 5, message: 'quote "inside" and back\\slash', actor: 'alice', action: 'update', tenant_id: 't1', count: 0 },
  { id: 6, message: "x') OR 1=1 --", actor: 'mallory', action: 'login', source: 'cli', count: 15, flag: true },
];

export const ALL_IDS = ROWS.map((r) => r.id);

/** Field name -> info, as a store would describe its layout. */
export const FIELD_TABLE: Record<string, FieldInfo> = {
  ...Object.fromEntries(STANDARD_FIELDS.map((name) => [name, { column: `e.${name}`, type: 'string', searchable: true }])),
  message: { column: 'e.message', type: 'text', searchable: true },
  timestamp: { column: 'e.timestamp', type: 'datetime', searchable: true },
  count: { column: "json_extract(e.event_json, '$.count')", type: 'integer', searchable: true },
  seen_at: { column: "json_extract(e.event_json, '$.seen_at')", type: 'datetime', searchable: false },
  flag: { column: "json_extract(e.event_json, '$.flag')", type: 'boolean', searchable: false },
  note: { column: "json_extract(e.event_json, '$.note')", type: 'string-unindexed', searchable: false },
};

export const FIELDS: FieldResolver = createFieldResolver(FIELD_TABLE);

export function openEventsDb(rows: Row[] = ROWS): Database.Database {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    ${STANDARD_FIELDS.map((f) => `${f} TEXT`).join(', ')},
    timestamp TEXT,
    event_json TEXT NOT NULL
  )`);
  const insert = db.prepare(
    `INSERT INTO events (id, ${STANDARD_FIELDS.join(', ')}, timestamp, event_json)
     VALUES (@id, ${STANDARD_FIELDS.map((f) => `@${f}`).join(', ')}, @timestamp, @event_json)`,
  );
  for (const row of rows) {
    const columns = Object.fromEntries([...STANDARD_FIELDS, 'timestamp'].map((f) => [f, row[f as keyof Row] ?? null]));
    const custom = { count: row.count, seen_at: row.seen_at, flag: row.flag, note: row.note };
    insert.run({ id: row.id, ...columns, event_json: JSON.stringify(custom) });
  }
  return db;
}

/** Ids of the rows a WHERE expression selects, ascending. */
export function selectIds(db: Database.Database, where: { sql: string; params: unknown[] }): number[] {
  return db
    .prepare(`SELECT e.id FROM events e WHERE ${where.sql} ORDER BY e.id`)
    .pluck()
    .all(...where.params) as number[];
}
