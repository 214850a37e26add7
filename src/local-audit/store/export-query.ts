// The events of a bulk export (v1/export): those among the first `treeSize` leaves whose
// received_at is within the filter's bounds, ordered by received_at or a schema field.
import type { AuditSchema } from '../audit-schema.js';
import { fieldColumn, type Db } from './database.js';
import { StatementCache } from './statement-cache.js';

/** An export's filter, with bounds already normalised to the stored received_at form. */
export interface ExportFilter {
  start?: string;
  end?: string;
  order: 'asc' | 'desc';
  /** received_at or a schema field id. */
  order_by: string;
}

export class ExportQuery {
  private readonly statements: StatementCache;

  constructor(
    db: Db,
    private readonly schema: AuditSchema,
  ) {
    this.statements = new StatementCache(db, 16);
  }

  /** How many events the export holds. */
  count(filter: ExportFilter, treeSize: number): number {
    const { sql, params } = this.query(filter, treeSize, 'COUNT(*)');
    return this.statements.get(sql).pluck().get(...params) as number;
  }

  /** The leaf indexes of the export's events, in export order. */
  leafIndexes(filter: ExportFilter, treeSize: number): number[] {
    const { sql, params } = this.query(filter, treeSize, 'leaf_index');
    return this.statements.get(sql).pluck().all(...params) as number[];
  }

  /** Only fixed text and a schema-checked column name are interpolated; values are parameters. */
  private query(filter: ExportFilter, treeSize: number, select: string): { sql: string; params: Array<string | number> } {
    const where = ['leaf_index < ?'];
    const params: Array<string | number> = [treeSize];
    if (filter.start !== undefined) {
      where.push('received_at >= ?');
      params.push(filter.start);
    }
    if (filter.end !== undefined) {
      where.push('received_at <= ?');
      params.push(filter.end);
    }
    const known = filter.order_by === 'received_at' || this.schema.fields.some((f) => f.id === filter.order_by);
    if (!known) throw new Error(`order_by "${filter.order_by}" is not a field of the schema`);
    const column = filter.order_by === 'received_at' ? 'received_at' : `"${fieldColumn(filter.order_by)}"`;
    const dir = filter.order === 'desc' ? 'DESC' : 'ASC';
    // leaf_index breaks ties, so the order is total and the same on every download.
    return { sql: `SELECT ${select} FROM events WHERE ${where.join(' AND ')} ORDER BY ${column} ${dir}, leaf_index ${dir}`, params };
  }
}
