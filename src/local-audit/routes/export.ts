// v1/export: a bulk export of the log, filtered by received_at, as a job (202, then polling). The
// job takes a snapshot — the tree size and published size at that moment, and the filter — and
// counts the matches; the file itself is rendered by v1/download_results with the job's
// request_id, from that snapshot, so it never contains events logged after the job ran.
// Polling a finished export answers {"status": "done", "count": n, "format": …}: the real
// service's result for a finished export is not documented; this one says what the file holds.
import type { AuditLog } from '../audit-log.js';
import { DOWNLOAD_FORMATS, type DownloadFormat } from '../export-format.js';
import { validationError } from '../http/envelope.js';
import { validateBody, type BodySpec } from '../http/validate.js';
import { sharedJobRunner } from '../jobs.js';
import { fieldColumn } from '../store/database.js';
import { parseTimeRange } from '../time-range.js';
import { acceptedAnswer } from './async.js';
import type { RouteModuleFactory } from './module.js';

export const EXPORT_JOB = 'export';

const V1_EXPORT: BodySpec = {
  fields: {
    format: { type: 'string', enum: DOWNLOAD_FORMATS },
    start: { type: 'string', maxLength: 64 },
    end: { type: 'string', maxLength: 64 },
    order: { type: 'string', enum: ['asc', 'desc'] },
    order_by: { type: 'string', maxLength: 64 },
    verbose: { type: 'boolean' },
  },
};

/** What an export job keeps: the filter (bounds normalised when the request arrived). */
export interface ExportRequest {
  format: DownloadFormat;
  start?: string;
  end?: string;
  order: 'asc' | 'desc';
  order_by: string;
  verbose: boolean;
}

/** The snapshot an export job takes when it runs. */
export interface ExportSnapshot {
  treeSize: number;
  publishedSize: number;
  count: number;
}

/** SQL for the export's events among the first `treeSize` leaves; only fixed text and a
 *  schema-checked column name are interpolated, values are parameters. */
function exportQuery(log: AuditLog, req: ExportRequest, treeSize: number, select: string): { sql: string; params: Array<string | number> } {
  const where = ['leaf_index < ?'];
  const params: Array<string | number> = [treeSize];
  if (req.start !== undefined) {
    where.push('received_at >= ?');
    params.push(req.start);
  }
  if (req.end !== undefined) {
    where.push('received_at <= ?');
    params.push(req.end);
  }
  const known = req.order_by === 'received_at' || log.schema.fields.some((f) => f.id === req.order_by);
  if (!known) throw new Error(`order_by "${req.order_by}" is not a field of the schema`);
  const column = req.order_by === 'received_at' ? 'received_at' : `"${fieldColumn(req.order_by)}"`;
  const dir = req.order === 'desc' ? 'DESC' : 'ASC';
  // leaf_index breaks ties, so the order is total and the same on every download.
  return { sql: `SELECT ${select} FROM events WHERE ${where.join(' AND ')} ORDER BY ${column} ${dir}, leaf_index ${dir}`, params };
}

/** The leaf indexes of an export's events, in export order. */
export function exportLeafIndexes(log: AuditLog, req: ExportRequest, treeSize: number): number[] {
  const { sql, params } = exportQuery(log, req, treeSize, 'leaf_index');
  return log.db.prepare(sql).pluck().all(...params) as number[];
}

function runExport(log: AuditLog, request: unknown): { result: unknown; detail: ExportSnapshot } {
  const req = request as ExportRequest;
  const treeSize = log.size;
  const { sql, params } = exportQuery(log, req, treeSize, 'COUNT(*)');
  const count = log.db.prepare(sql).pluck().get(...params) as number;
  return {
    result: { status: 'done', count, format: req.format },
    detail: { treeSize, publishedSize: Math.min(log.latestPublishedSize(), treeSize), count },
  };
}

export const exportModule: RouteModuleFactory = (parts) => {
  const { log } = parts;
  const runner = sharedJobRunner(log, parts.onError);
  runner.register(EXPORT_JOB, (request) => runExport(log, request));

  return {
    actions: {
      'v1/export': ({ body, requestId }) => {
        const req = validateBody<{ format?: DownloadFormat; start?: string; end?: string; order?: 'asc' | 'desc'; order_by?: string; verbose?: boolean }>(
          body,
          V1_EXPORT,
        );
        const orderBy = req.order_by ?? 'received_at';
        if (orderBy !== 'received_at' && !log.schema.fields.some((f) => f.id === orderBy)) {
          throw validationError([
            {
              code: 'NotEnumMember',
              detail: `'order_by' must be received_at or a schema field (${log.schema.fields.map((f) => f.id).join(', ')})`,
              source: '/order_by',
            },
          ]);
        }
        // Relative bounds (7d, 2h) count back from now, the time of the request, not of the run.
        const range = parseTimeRange(req);
        const job: ExportRequest = {
          format: req.format ?? 'csv',
          ...range,
          order: req.order ?? 'asc',
          order_by: orderBy,
          verbose: req.verbose ?? false,
        };
        runner.submit(requestId, EXPORT_JOB, job);
        return acceptedAnswer(parts, runner, requestId, 0);
      },
    },
    close: () => runner.stop(),
  };
};
