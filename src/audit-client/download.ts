// Streaming a result file (v1/download_results' dest_url) to a Writable or a path, without holding
// it in memory. The URL needs no authorization and may be on another origin, so no token is sent.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { Transform, type Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { AuditClientError } from './errors.js';
import { corruptDownloadError, downloadHttpError, headerValue, type ResponseContext } from './error-mapping.js';
import { parseEnvelope } from './envelope.js';
import type { Redactor } from './redact.js';
import { Transport } from './transport.js';

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Gunzip while streaming (the service's files are gzip CSV/JSON). Default false: bytes as served. */
  decompress?: boolean;
  /**
   * Called once the upstream has answered 2xx, before any byte is written: a proxy (the gateway's
   * download route) sets its own status and headers from these. Not called for an error answer.
   */
  onResponse?: (response: DownloadResponseInfo) => void;
}

/** What the upstream said about the file it is about to send. */
export interface DownloadResponseInfo {
  httpStatus: number;
  contentType: string | undefined;
  /** Bytes the upstream will send, when it said (as served: the compressed size of a gzip file). */
  contentLength: number | undefined;
  contentDisposition: string | undefined;
}

export interface DownloadedFile {
  /** Bytes received from the network (compressed size when the file is gzip). */
  bytes: number;
  httpStatus: number;
  contentType: string | undefined;
}

/** Where the bytes go: a Writable (ended when the download completes) or a file path. */
export type DownloadDestination = Writable | string;

/** Thrown by downloadOnce with whether any byte reached a caller-owned Writable (then no retry). */
interface DownloadAttemptState {
  deliveredToWritable: boolean;
}

const ERROR_BODY_LIMIT = 64 * 1024;

export async function downloadOnce(
  transport: Transport,
  redactor: Redactor,
  url: URL,
  destination: DownloadDestination,
  headers: Record<string, string>,
  options: DownloadOptions,
  state: DownloadAttemptState,
): Promise<DownloadedFile> {
  const target = Transport.target('GET', url);
  const opened = await transport.open({ method: 'GET', url, headers, ...(options.signal ? { signal: options.signal } : {}) });
  const ctx: ResponseContext = { redactor, target, endpoint: `GET ${url.origin}${url.pathname}`, httpStatus: opened.statusCode, headers: opened.headers };

  if (opened.statusCode < 200 || opened.statusCode >= 300) {
    const text = await readLimited(opened.body, ERROR_BODY_LIMIT).finally(() => opened.finish());
    throw downloadHttpError(parseEnvelope(text), ctx);
  }
  if (options.onResponse) {
    const length = Number(headerValue(opened.headers, 'content-length'));
    const contentLength = Number.isSafeInteger(length) && length >= 0 && !options.decompress ? length : undefined;
    options.onResponse({
      httpStatus: opened.statusCode,
      contentType: headerValue(opened.headers, 'content-type'),
      contentLength,
      contentDisposition: headerValue(opened.headers, 'content-disposition'),
    });
  }

  let bytes = 0;
  let sourceError: unknown;
  opened.body.on('error', (err) => {
    sourceError ??= err;
  });
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      opened.touch();
      bytes += chunk.length;
      if (typeof destination !== 'string') state.deliveredToWritable = true;
      callback(null, chunk);
    },
  });
  const gunzip = options.decompress ? createGunzip() : undefined;
  let gunzipError: unknown;
  gunzip?.on('error', (err) => {
    gunzipError ??= err;
  });

  // A path is written to a temporary sibling and renamed on success, so a failed or retried
  // download never leaves a partial file under the requested name.
  const temp = typeof destination === 'string' ? `${destination}.part-${randomBytes(6).toString('hex')}` : undefined;
  const sink = temp !== undefined ? createWriteStream(temp) : (destination as Writable);
  try {
    await pipeline(gunzip ? [opened.body, counter, gunzip, sink] : [opened.body, counter, sink]);
    if (temp !== undefined) await rename(temp, destination as string);
  } catch (err) {
    if (temp !== undefined) await unlink(temp).catch(() => undefined);
    if (err instanceof AuditClientError) throw err;
    if (sourceError !== undefined || options.signal?.aborted) throw opened.fail(sourceError ?? err, bytes);
    if (gunzipError !== undefined) throw corruptDownloadError(gunzipError, ctx);
    // The destination failed (disk full, a closed Writable…): a local problem, rethrown scrubbed.
    throw redactor.inPlace(err);
  } finally {
    opened.finish();
  }
  return { bytes, httpStatus: opened.statusCode, contentType: headerValue(opened.headers, 'content-type') };
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch {
    // The error body is diagnostic only; a failure reading it leaves the HTTP status to speak.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}
