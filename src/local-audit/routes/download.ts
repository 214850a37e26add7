// v1/download_results: a URL for a search result set (result_id) or a finished export
// (request_id) as a gzip CSV or JSON file, and {dest_url, expires_at}. The file is in the downloads
// folder (download-files.ts); an export's file was written by its job, and a download links to it.
// Another format, a result set, or an export whose file has expired is rendered now, streamed to a
// file (export-render.ts) kept for later downloads; two requests for the same rendering share it.
// The file is served without authentication at /downloads/<token>, streamed from disk: the token is
// 256 random bits (the URL is the capability, like a presigned URL), only its sha256 is stored, and
// it expires. The body is the gzip file itself (content-type application/gzip, no
// content-encoding), so fetch and the SDKs save it as-is instead of transparently decompressing it.
//
// request_id of an export that is still running: a ValidationError (code NotReady) telling the
// client to poll GET /request/<id> first. A 202 would make SDKs poll the download request's own
// id, which is not a job.
import { microTimestamp } from '../core/clock.js';
import { ServiceError, validationError } from '../core/errors.js';
import { validateBody, type BodySpec } from '../core/validate.js';
import { DOWNLOAD_TTL_MS } from '../download-files.js';
import { EXPORT_JOB, type ExportRequest, type ExportSnapshot } from '../export-job.js';
import { DOWNLOAD_FORMATS, type DownloadFormat } from '../export-format.js';
import { renderFile, type RenderSource } from '../export-render.js';
import type { RawResponse } from '../http/router.js';
import type { JobRunner } from '../jobs.js';
import type { DownloadFile } from '../store/download-store.js';
import type { ResultSetStore } from '../store/result-sets.js';
import type { RouteModuleFactory } from './module.js';

/** How often expired files are removed. */
const PURGE_INTERVAL_MS = 60_000;

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

/** What the download is of: its owner (job or result set id), its format, and how to render it. */
interface DownloadTarget {
  owner: string;
  format: DownloadFormat;
  /** Called only when no rendering is kept: a result set's leaves are read then. */
  source: () => RenderSource;
}

/** Resolves the request to what must be downloaded, or throws the matching error envelope. */
function resolveTarget(resultSets: ResultSetStore, runner: JobRunner, req: DownloadRequest): DownloadTarget {
  const format = req.format;
  if (req.result_id !== undefined) {
    const set = resultSets.get(req.result_id);
    if (!set) throw new ServiceError('NotFound', `result set ${req.result_id} was not found or has expired`);
    return {
      owner: req.result_id,
      format: format ?? 'csv',
      source: () => {
        const leafIndexes = resultSets.all(set);
        return { leafIndexes, count: leafIndexes.length, treeSize: set.treeSize, publishedSize: set.publishedSize, format: format ?? 'csv', withProofs: false };
      },
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
  // The export's own format unless the download asks for another.
  const chosen = format ?? exportReq.format;
  return {
    owner: id,
    format: chosen,
    source: () => ({ ...snapshot, filter: exportReq, format: chosen, withProofs: exportReq.verbose }),
  };
}

const DOWNLOAD_PATH = /^\/downloads\/([A-Za-z0-9_-]{43})$/;

const notFound = (): RawResponse => ({ statusCode: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'download not found or expired\n' });

export const downloadModule: RouteModuleFactory = ({ log, resultSets, exports, downloads, files, jobs: runner, publicUrl, onError }) => {
  // Files left by an earlier run: expired, half-written, or never recorded.
  files.sweep();
  const purge = (): void => {
    try {
      files.purgeExpired();
    } catch (err) {
      onError(err);
    }
  };
  const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS).unref();
  const stopping = new AbortController();
  /** Renderings being written, by owner and format. */
  const inFlight = new Map<string, Promise<DownloadFile>>();

  const render = (target: DownloadTarget): Promise<DownloadFile> => {
    const key = `${target.owner}\0${target.format}`;
    let pending = inFlight.get(key);
    if (!pending) {
      pending = (async () => {
        const rendering = await renderFile(log, exports, files, target.owner, target.source(), stopping.signal);
        try {
          downloads.putRendering(rendering);
        } catch (err) {
          files.remove(rendering.file);
          throw err;
        }
        return rendering;
      })().finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  };

  /** A new file name for the download: a link to the kept rendering, rendered first if there is none. */
  const fileFor = async (target: DownloadTarget): Promise<DownloadFile> => {
    const kept = downloads.rendering(target.owner, target.format);
    const rendering = kept ?? (await render(target));
    try {
      return { ...rendering, file: await files.link(rendering.file) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !kept) throw err;
      // The kept file was removed behind our back: forget it and render again.
      downloads.forget(kept.file);
      const fresh = await render(target);
      return { ...fresh, file: await files.link(fresh.file) };
    }
  };

  const serve = (path: string): RawResponse | undefined => {
    const match = DOWNLOAD_PATH.exec(path);
    if (!match && !path.startsWith('/downloads/')) return undefined;
    const row = match ? downloads.get(match[1]!) : undefined;
    const file = row && files.open(row.file);
    if (!row || !file) return notFound();
    return {
      statusCode: 200,
      headers: {
        'content-type': row.contentType,
        'content-length': String(file.size),
        'content-disposition': `attachment; filename="audit_events.${row.format}.gz"`,
        'cache-control': 'private, no-store',
        // The client has every byte before the file stream ends on this side; a kept-alive
        // connection would still count as busy then, and hold up a closing server for the whole
        // keep-alive timeout. One file per connection costs nothing next to the file.
        connection: 'close',
      },
      body: file.stream,
    };
  };

  return {
    publicGet: serve,
    close: async () => {
      clearInterval(purgeTimer);
      stopping.abort();
      await Promise.allSettled([...inFlight.values()]);
    },
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
        const target = resolveTarget(resultSets, runner, req);
        purge();
        const file = await fileFor(target);
        const expiresAtMs = Date.now() + DOWNLOAD_TTL_MS;
        let token: string;
        try {
          token = downloads.putDownload({ ...file, expiresAtMs });
        } catch (err) {
          files.remove(file.file);
          throw err;
        }
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
