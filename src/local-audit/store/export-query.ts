// The events of a bulk export (v1/export): those among the first `treeSize` leaves whose
// received_at is within the filter's bounds, ordered by received_at or a schema field; counted,
// listed at once, or read in keyset pages (short reads that leave the writer free in between).
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

/**
 * Where a paged read of an export stands: after the event with sort key `key` and leaf index
 * `leaf`. A NULL key (a schema field left out) sorts before every value, as in ORDER BY.
 */
export interface ExportCursor {
  key: string | number | null;
  leaf: number;
}

export interface ExportPage {
  leafIndexes: number[];
  /** Where the next page starts; undefined when this page is the last. */
  next?: ExportCursor;
}

export class ExportQuery {
  private readonly statements: StatementCache;
  /** Columns that lead an index of `events`: ordered pages can seek into them. */
  private readonly indexed: Set<string>;

  constructor(
    db: Db,
    private readonly schema: AuditSchema,
  ) {
    this.statements = new StatementCache(db, 32);
    const indexes = db.prepare(`SELECT name FROM pragma_index_list('events')`).pluck().all() as string[];
    const first = db.prepare('SELECT name FROM pragma_index_info(?) WHERE seqno = 0').pluck();
    this.indexed = new Set(indexes.map((name) => first.get(name) as string | undefined).filter((c): c is string => c !== undefined));
  }

  /**
   * Whether `page` reads the export in short steps: each page is then an index seek. Without an
   * index on the order column every page would sort the whole filter again; read `leafIndexes`
   * once instead.
   */
  pageable(filter: ExportFilter): boolean {
    return this.indexed.has(this.column(filter.order_by).replace(/"/g, ''));
  }

  /**
   * Up to `limit` leaf indexes of the export, in export order, after `after` (from the start when
   * undefined). Each page is its own short read: the events of the first `treeSize` leaves never
   * change, so the pages of one export add up to one consistent list.
   */
  page(filter: ExportFilter, treeSize: number, after: ExportCursor | undefined, limit: number): ExportPage {
    const column = this.column(filter.order_by);
    const desc = filter.order === 'desc';
    const nullable = filter.order_by !== 'received_at';
    // NULL keys come first ascending and last descending. Each of the two runs is read on its own,
    // so that both are index ranges ordered by (key, leaf_index).
    const runs: Array<'null' | 'value'> = !nullable ? ['value'] : desc ? ['value', 'null'] : ['null', 'value'];
    let at = after === undefined ? 0 : runs.indexOf(after.key === null ? 'null' : 'value');
    const rows = this.runPage(filter, treeSize, column, desc, nullable, runs[at]!, after, limit);
    while (rows.length < limit && ++at < runs.length) {
      rows.push(...this.runPage(filter, treeSize, column, desc, nullable, runs[at]!, undefined, limit - rows.length));
    }
    const leafIndexes = rows.map((r) => r.leaf);
    const last = rows[rows.length - 1];
    return rows.length === limit && last ? { leafIndexes, next: { key: last.k, leaf: last.leaf } } : { leafIndexes };
  }

  private runPage(
    filter: ExportFilter,
    treeSize: number,
    column: string,
    desc: boolean,
    nullable: boolean,
    run: 'null' | 'value',
    after: ExportCursor | undefined,
    limit: number,
  ): Array<{ k: string | number | null; leaf: number }> {
    if (limit <= 0) return [];
    const { where, params } = this.bounds(filter, treeSize);
    const cmp = desc ? '<' : '>';
    if (run === 'null') {
      where.push(`${column} IS NULL`);
      if (after !== undefined) {
        where.push(`leaf_index ${cmp} ?`);
        params.push(after.leaf);
      }
    } else {
      if (nullable) where.push(`${column} IS NOT NULL`);
      if (after !== undefined && after.key !== null) {
        // The first term is the index range, the second skips the rows already read at its edge.
        where.push(`${column} ${cmp}= ? AND (${column} ${cmp} ? OR leaf_index ${cmp} ?)`);
        params.push(after.key, after.key, after.leaf);
      }
    }
    const dir = desc ? 'DESC' : 'ASC';
    const sql = `SELECT ${column} AS k, leaf_index AS leaf FROM events WHERE ${where.join(' AND ')} ORDER BY ${column} ${dir}, leaf_index ${dir} LIMIT ?`;
    return this.statements.get(sql).all(...params, limit) as Array<{ k: string | number | null; leaf: number }>;
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
    const { where, params } = this.bounds(filter, treeSize);
    const column = this.column(filter.order_by);
    const dir = filter.order === 'desc' ? 'DESC' : 'ASC';
    // leaf_index breaks ties, so the order is total and the same on every download.
    return { sql: `SELECT ${select} FROM events WHERE ${where.join(' AND ')} ORDER BY ${column} ${dir}, leaf_index ${dir}`, params };
  }

  private column(orderBy: string): string {
    const known = orderBy === 'received_at' || this.schema.fields.some((f) => f.id === orderBy);
    if (!known) throw new Error(`order_by "${orderBy}" is not a field of the schema`);
    return orderBy === 'received_at' ? 'received_at' : `"${fieldColumn(orderBy)}"`;
  }

  private bounds(filter: ExportFilter, treeSize: number): { where: string[]; params: Array<string | number> } {
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
    return { where, params };
  }
}
