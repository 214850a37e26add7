// Reads a request body with a hard size limit, for both HTTP servers of the product (the gateway
// and the local audit service): refused by Content-Length before reading when it can, and never
// more than the limit buffered, so an oversized request costs at most `limit` bytes of memory.
import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
  }
}

/** A body being read: kept on the request itself, so its listeners are the same four functions for every request. */
interface BodyRead {
  chunks: Buffer[];
  total: number;
  limit: number;
  resolve: (body: Buffer) => void;
  reject: (err: unknown) => void;
}

const reading = Symbol('bounded body being read');
type ReadingRequest = IncomingMessage & { [reading]?: BodyRead | undefined };

export function readBoundedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  // Stream events rather than `for await`: the async iterator costs a promise per chunk and more
  // set-up than the rest of reading a small body, on every request. Module-level listeners rather
  // than closures made per request: tsx, which runs the sources, names each named closure with
  // Object.defineProperty as it is made.
  return new Promise((resolve, reject) => {
    (req as ReadingRequest)[reading] = { chunks: [], total: 0, limit, resolve, reject };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Stops listening and hands over the read: each read is settled once. */
function settle(req: ReadingRequest): BodyRead | undefined {
  const read = req[reading];
  req[reading] = undefined;
  req.off('data', onData);
  req.off('end', onEnd);
  req.off('error', onError);
  req.off('close', onClose);
  return read;
}

function onData(this: ReadingRequest, chunk: Buffer): void {
  const read = this[reading];
  if (!read) return;
  read.total += chunk.length;
  if (read.total > read.limit) {
    settle(this);
    // Nothing more is read: the answer closes the connection.
    this.pause();
    read.reject(new BodyTooLargeError(read.limit));
    return;
  }
  read.chunks.push(chunk);
}

function onEnd(this: ReadingRequest): void {
  const read = settle(this);
  read?.resolve(Buffer.concat(read.chunks, read.total));
}

function onError(this: ReadingRequest, err: Error): void {
  settle(this)?.reject(err);
}

function onClose(this: ReadingRequest): void {
  settle(this)?.reject(new Error('the request was closed before its body ended'));
}
