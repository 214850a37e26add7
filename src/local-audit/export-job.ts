// What a v1/export job is: the request it keeps and the snapshot it takes when it runs. Shared by
// v1/export (routes/export.ts), which submits and runs the job, and v1/download_results
// (routes/download.ts), which renders the file from the finished job.
import type { DownloadFormat } from './export-format.js';
import type { ExportFilter } from './store/export-query.js';

export const EXPORT_JOB = 'export';

/** What an export job keeps: the filter (bounds normalised when the request arrived). */
export interface ExportRequest extends ExportFilter {
  format: DownloadFormat;
  verbose: boolean;
}

/** The snapshot an export job takes when it runs. */
export interface ExportSnapshot {
  treeSize: number;
  publishedSize: number;
  count: number;
}
