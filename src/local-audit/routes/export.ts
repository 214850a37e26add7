// v1/export: a bulk export of the log, filtered by received_at, as a job (202, then polling). The
// job takes a snapshot — the tree size and published size at that moment, and the filter — counts
// the matches and streams the file in the export's format to the downloads folder
// (export-render.ts), kept as the job's rendering; v1/download_results with the job's request_id
// links to it. The file never contains events logged after the job started.
// Polling a finished export answers {"status": "done", "count": n, "format": …}: the real
// service's result for a finished export is not documented; this one says what the file holds.
import type { AuditLog } from '../audit-log.js';
import type { DownloadFiles } from '../download-files.js';
import { validationError } from '../core/errors.js';
import { MAX_SHORT_PARAM } from '../core/limits.js';
import { validateBody, type BodySpec } from '../core/validate.js';
import { EXPORT_JOB, type ExportRequest, type ExportSnapshot } from '../export-job.js';
import { DOWNLOAD_FORMATS, type DownloadFormat } from '../export-format.js';
import { renderFile } from '../export-render.js';
import type { AsyncJobResult, Job } from '../jobs.js';
import type { DownloadStore } from '../store/download-store.js';
import type { ExportQuery } from '../store/export-query.js';
import { parseTimeRange } from '../time-range.js';
import { acceptedAnswer } from './accepted.js';
import type { RouteModuleFactory } from './module.js';

const V1_EXPORT: BodySpec = {
  fields: {
    format: { type: 'string', enum: DOWNLOAD_FORMATS },
    start: { type: 'string', maxLength: MAX_SHORT_PARAM },
    end: { type: 'string', maxLength: MAX_SHORT_PARAM },
    order: { type: 'string', enum: ['asc', 'desc'] },
    order_by: { type: 'string', maxLength: MAX_SHORT_PARAM },
    verbose: { type: 'boolean' },
  },
};

interface ExportParts {
  log: AuditLog;
  exports: ExportQuery;
  files: DownloadFiles;
  downloads: DownloadStore;
}

async function runExport({ log, exports, files, downloads }: ExportParts, request: unknown, job: Job, signal: AbortSignal): Promise<AsyncJobResult> {
  const req = request as ExportRequest;
  log.syncWithDisk();
  const treeSize = log.size;
  const snapshot: ExportSnapshot = { treeSize, publishedSize: Math.min(log.latestPublishedSize(), treeSize), count: exports.count(req, treeSize) };
  const source = { ...snapshot, filter: req, format: req.format, withProofs: req.verbose };
  const rendering = await renderFile(log, exports, files, job.id, source, signal);
  return {
    complete: () => {
      downloads.putRendering(rendering);
      return { result: { status: 'done', count: snapshot.count, format: req.format }, detail: snapshot };
    },
    discard: () => files.remove(rendering.file),
  };
}

export const exportModule: RouteModuleFactory = ({ log, exports, files, downloads, jobs: runner, publicUrl }) => {
  runner.registerAsync(EXPORT_JOB, (request, job, signal) => runExport({ log, exports, files, downloads }, request, job, signal));

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
        return acceptedAnswer(publicUrl(), runner, requestId, 0);
      },
    },
  };
};
