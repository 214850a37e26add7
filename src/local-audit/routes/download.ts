// v1/download_results: renders a search result set (result_id) or a finished export (request_id)
// as a gzip CSV or JSON file, stores it in the `downloads` table, and answers {dest_url,
// expires_at}. The file is served without authentication at /downloads/<token>: the token is 256
// random bits (the URL is the capability, like a presigned URL), only its sha256 is stored, and it
// expires. The body is the gzip file itself (content-type application/gzip, no content-encoding),
// so fetch and the SDKs save it as-is instead of transparently decompressing it.
//
// request_id of an export that is still running: a ValidationError (code NotReady) telling the
// client to poll GET /request/<id> first. A 202 would make SDKs poll the download request's own
// id, which is not a job.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { AuditLog } from '../audit-log.js';
import { microTimestamp } from '../core/clock.js';
import { ServiceError, validationError } from '../core/errors.js';
import { validateBody, type BodySpec } from '../core/validate.js';
import { EXPORT_JOB, type ExportRequest, type ExportSnapshot } from '../export-job.js';
import { writeCsv, writeJson, DOWNLOAD_FORMATS, type DownloadFormat, type FormatEvent, type JsonRoots } from '../export-format.js';
import type { RawResponse } from '../http/router.js';
import type { JobRunner } from '../jobs.js';
import type { ExportQuery } from '../store/export-query.js';
import type { ResultSetStore } from '../store/result-sets.js';
import type { RouteModuleFactory } from './module.js';

const gzipAsync = promisify(gzip);

/** How long a download URL works. */
const DOWNLOAD_TTL_MS = 3600_000;

const V1_DOWNLOAD: BodySpec = {
  fields: {
    result_id: { type: 'string', minLength: 1, maxLength: 128 },
    request_id: { type: 'string', minLength: 1, maxLength: 128 },
    format: { type: 'string', enum: DOWNLOAD_FORMATS },
    // Accepted for compatibility; there is no format-preserving encryption context to return.
    return_context: { type: 'boolean' },
  },
};

interface DownloadRequest {
  result_id?: string;
  request_id?: string;
  format?: DownloadFormat;
  return_context?: boolean;
}

/** What gets rendered: events by leaf index against a frozen tree. */
interface DownloadSource {
  leafIndexes: number[];
  treeSize: number;
  publishedSize: number;
  format: DownloadFormat;
  withProofs: boolean;
}

const CHUNK = 500;

/** The events of `source`, read in chunks, with published flags and (optionally) proofs. */
function* formatEvents(log: AuditLog, source: DownloadSource): Generator<FormatEvent> {
  for (let i = 0; i < source.leafIndexes.length; i += CHUNK) {
    const chunk = log.events.getMany(source.leafIndexes.slice(i, i + CHUNK));
    const sizeOf = (leaf: number): number => (leaf < source.publishedSize ? source.publishedSize : source.treeSize);
    // A chunk's proofs share their nodes: built together, like a search page's.
    const proofs = source.withProofs ? log.membershipProofs(chunk.map((e) => e.leafIndex), sizeOf) : undefined;
    for (const [index, stored] of chunk.entries()) {
      const event: FormatEvent = { ...stored, published: stored.leafIndex < source.publishedSize };
      if (proofs) event.membershipProof = proofs[index]!;
      yield event;
    }
  }
}

function render(log: AuditLog, source: DownloadSource): string {
  const events = formatEvents(log, source);
  if (source.format === 'csv') return writeCsv(log.schema, events, source.withProofs);
  const roots: JsonRoots = {};
  if (source.withProofs) {
    if (source.publishedSize > 0) roots.root = log.publishedRoot(source.publishedSize);
    if (source.treeSize > 0) roots.unpublished_root = log.unpublishedRoot(source.treeSize);
  }
  return writeJson(events, roots);
}

/** Resolves the request to what must be rendered, or throws the matching error envelope. */
function resolveSource(exports: ExportQuery, resultSets: ResultSetStore, runner: JobRunner, req: DownloadRequest): DownloadSource {
  if (req.result_id !== undefined) {
    const set = resultSets.get(req.result_id);
    if (!set) throw new ServiceError('NotFound', `result set ${req.result_id} was not found or has expired`);
    return {
      leafIndexes: resultSets.all(set),
      treeSize: set.treeSize,
      publishedSize: set.publishedSize,
      format: req.format ?? 'csv',
      withProofs: false,
    };
  }
  const id = req.request_id!;
  const job = runner.get(id);
  if (!job || job.kind !== EXPORT_JOB) throw new ServiceError('NotFound', `export ${id} was not found or has expired`);
  if (job.state !== 'done') {
    const detail =
      job.state === 'pending'
        ? `export ${id} is still running; poll GET /request/${id} until it succeeds, then download`
        : `export ${id} failed (${job.error?.summary ?? 'unknown error'}); there is nothing to download`;
    throw validationError([{ code: job.state === 'pending' ? 'NotReady' : 'ExportFailed', detail, source: '/request_id' }]);
  }
  const exportReq = job.request as ExportRequest;
  const snapshot = job.detail as ExportSnapshot;
  return {
    leafIndexes: exports.leafIndexes(exportReq, snapshot.treeSize),
    treeSize: snapshot.treeSize,
    publishedSize: snapshot.publishedSize,
    // The export's own format unless the download asks for another.
    format: req.format ?? exportReq.format,
    withProofs: exportReq.verbose,
  };
}

const DOWNLOAD_PATH = /^\/downloads\/([A-Za-z0-9_-]{43})$/;

export const downloadModule: RouteModuleFactory = ({ log, resultSets, exports, downloads, jobs: runner, publicUrl }) => {
  const serve = (path: string): RawResponse | undefined => {
    const match = DOWNLOAD_PATH.exec(path);
    if (!match && !path.startsWith('/downloads/')) return undefined;
    const file = match ? downloads.get(match[1]!) : undefined;
    if (!file) return { statusCode: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'download not found or expired\n' };
    return {
      statusCode: 200,
      headers: {
        'content-type': 'application/gzip',
        'content-length': String(file.content.length),
        'content-disposition': `attachment; filename="audit_events.${file.format}.gz"`,
        'cache-control': 'private, no-store',
      },
      body: file.content,
    };
  };

  return {
    publicGet: serve,
    actions: {
      'v1/download_results': async ({ body }) => {
        const req = validateBody<DownloadRequest>(body, V1_DOWNLOAD);
        if (req.result_id !== undefined && req.request_id !== undefined) {
          throw validationError([
            { code: 'MutuallyExclusive', detail: "'result_id' and 'request_id' are mutually exclusive; send one", source: '/request_id' },
          ]);
        }
        if (req.result_id === undefined && req.request_id === undefined) {
          throw validationError([{ code: 'FieldRequired', detail: "one of 'result_id' or 'request_id' is required", source: '/result_id' }]);
        }
        const source = resolveSource(exports, resultSets, runner, req);
        const text = render(log, source);
        // Compressed on the libuv thread pool, off the event loop.
        const content = await gzipAsync(Buffer.from(text, 'utf8'));
        const expiresAtMs = Date.now() + DOWNLOAD_TTL_MS;
        downloads.purgeExpired();
        const token = downloads.put(source.format, content, expiresAtMs);
        return {
          result: {
            dest_url: `${publicUrl()}/downloads/${token}`,
            expires_at: microTimestamp(BigInt(expiresAtMs) * 1000n),
          },
        };
      },
    },
  };
};
