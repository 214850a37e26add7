// Renders an export or a search result set into a file of the downloads folder, as a stream: the
// events are read a page at a time (an export in keyset pages, store/export-query.ts), each page
// formatted (export-format.ts) and handed to the gzip file writer, which pulls the next page only
// once the previous one is written. Memory stays at about one page whatever the size, and the
// event loop is given back between pages so requests and appends keep being served.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AuditLog } from './audit-log.js';
import { ServiceError } from './core/errors.js';
import { DOWNLOAD_TTL_MS, type DownloadFiles } from './download-files.js';
import { csvHead, csvLine, jsonEvent, jsonHead, jsonTail, type DownloadFormat, type FormatEvent, type JsonRoots } from './export-format.js';
import type { ResultEvent } from './result-json.js';
import type { DownloadFile } from './store/download-store.js';
import type { ExportCursor, ExportFilter, ExportQuery } from './store/export-query.js';

/** What a file renders: events against a frozen tree, either an export's filter or a list of leaves. */
export type RenderSource = {
  treeSize: number;
  publishedSize: number;
  format: DownloadFormat;
  withProofs: boolean;
  /** How many events the file holds (the JSON file starts with it). */
  count: number;
} & ({ filter: ExportFilter } | { leafIndexes: readonly number[] });

/** Events per page: 256 events of the largest size (3 × 32 KiB text fields) are about 25 MB. */
const PAGE = 256;

/**
 * Text is handed on in pieces of about this many characters. A longer string (a whole page of text
 * joined) would be allocated in V8's large-object space, which only a full collection frees: the
 * heap would grow by whole pages between collections.
 */
const PIECE = 16_384;

/** The leaf indexes of `source`, a page at a time, in file order. */
function* leafPages(exports: ExportQuery, source: RenderSource): Generator<readonly number[]> {
  if ('leafIndexes' in source) {
    for (let i = 0; i < source.leafIndexes.length; i += PAGE) yield source.leafIndexes.slice(i, i + PAGE);
    return;
  }
  if (!exports.pageable(source.filter)) {
    // No index to seek into: one sorted read, as many leaf indexes as events (8 bytes each).
    const all = exports.leafIndexes(source.filter, source.treeSize);
    for (let i = 0; i < all.length; i += PAGE) yield all.slice(i, i + PAGE);
    return;
  }
  let after: ExportCursor | undefined;
  do {
    const page = exports.page(source.filter, source.treeSize, after, PAGE);
    if (page.leafIndexes.length > 0) yield page.leafIndexes;
    after = page.next;
  } while (after !== undefined);
}

/** The file's text, a page at a time. */
async function* renderChunks(log: AuditLog, exports: ExportQuery, source: RenderSource, signal?: AbortSignal): AsyncGenerator<string> {
  const { treeSize, publishedSize, withProofs } = source;
  const sizeOf = (leaf: number): number => (leaf < publishedSize ? publishedSize : treeSize);
  const csv = source.format === 'csv';
  yield csv ? csvHead(log.schema, withProofs) : jsonHead(source.count);
  let written = 0;
  let text = '';
  for (const leaves of leafPages(exports, source)) {
    signal?.throwIfAborted();
    // CSV needs the fields; JSON splices the stored envelope text, so no envelope is parsed.
    const page: Array<Pick<ResultEvent, 'leafIndex' | 'hash' | 'envelopeJson'>> = csv ? log.events.getMany(leaves) : log.events.getManyText(leaves);
    // A page's proofs share their nodes: built together, like a search page's.
    const proofs = withProofs ? log.membershipProofs(page.map((e) => e.leafIndex), sizeOf) : undefined;
    for (const [i, stored] of page.entries()) {
      // The page's objects are fresh and its own, so they are completed in place: a copy of every
      // event kept the heap of a 1M-event export about 50 MB larger.
      const event = stored as ResultEvent;
      event.published = stored.leafIndex < publishedSize;
      if (proofs) event.membershipProof = proofs[i]!;
      // CSV pages come from getMany: their events carry the parsed envelope.
      text += csv ? csvLine(log.schema, event as FormatEvent, withProofs) : jsonEvent(event, written + i);
      if (text.length >= PIECE) {
        yield text;
        text = '';
      }
    }
    written += page.length;
    await nextTurn();
  }
  if (text !== '') yield text;
  if (written !== source.count) throw new Error(`the file was to hold ${source.count} events but ${written} were read`);
  if (!csv) {
    const roots: JsonRoots = {};
    if (withProofs) {
      if (publishedSize > 0) roots.root = log.publishedRoot(publishedSize);
      if (treeSize > 0) roots.unpublished_root = log.unpublishedRoot(treeSize);
    }
    yield jsonTail(roots);
  }
}

/**
 * Writes `source` to a new file of the downloads folder, the rendering of `owner`; it expires
 * DOWNLOAD_TTL_MS from now. The caller records it (DownloadStore.putRendering). A failure to
 * write (a full disk, …) is a ServiceError that says so; the partial file is already removed.
 */
export async function renderFile(
  log: AuditLog,
  exports: ExportQuery,
  files: DownloadFiles,
  owner: string,
  source: RenderSource,
  signal?: AbortSignal,
): Promise<DownloadFile> {
  let written: { file: string; size: number };
  try {
    written = await files.write(renderChunks(log, exports, source, signal));
  } catch (err) {
    if (signal?.aborted) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E')) {
      // The cause goes to the service log (InternalError); the client gets what happened.
      const failure = new ServiceError('InternalError', `The ${source.format} file could not be written to disk (${code}); see the service log`, {});
      throw Object.assign(failure, { cause: err });
    }
    throw err;
  }
  return {
    owner,
    format: source.format,
    file: written.file,
    contentType: 'application/gzip',
    size: written.size,
    expiresAtMs: Date.now() + DOWNLOAD_TTL_MS,
  };
}
