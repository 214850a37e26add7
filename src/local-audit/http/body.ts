// Reads a request body with a hard size limit, rejecting by Content-Length before reading when it
// can, and never buffering more than the limit.
import type { IncomingMessage } from 'node:http';
import { ServiceError } from '../core/errors.js';
import { MAX_JSON_DEPTH } from '../core/limits.js';

export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    return Promise.reject(new ServiceError('PayloadTooLarge', `request body is larger than ${limitBytes} bytes`));
  }
  // Stream events rather than `for await`: the async iterator cost a promise per chunk and more
  // set-up than the rest of reading a small body, on every request.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limitBytes) {
        settle();
        // Nothing more is read: the answer closes the connection (http/server.ts).
        req.pause();
        reject(new ServiceError('PayloadTooLarge', `request body is larger than ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      settle();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (err: Error): void => {
      settle();
      reject(err);
    };
    const onClose = (): void => {
      settle();
      reject(new Error('the request was closed before its body ended'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function badFormat(detail: string, source: string): ServiceError {
  return new ServiceError('ValidationError', detail, { errors: [{ code: 'BadFormat', detail, source }] });
}

/**
 * Parses JSON, mapping a syntax error to a ValidationError that says where it is. Also refuses
 * what JSON.parse accepts but no handler can use: nesting deeper than MAX_JSON_DEPTH and numbers
 * beyond a double's range (1e400 parses to Infinity, which canonical JSON cannot write).
 */
export function parseJson(raw: Buffer): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw badFormat(`request body is not valid JSON: ${(err as Error).message}`, '');
  }
  // Iterative walk: the check itself must not recurse.
  const stack: Array<[unknown, number, string]> = [[value, 0, '']];
  while (stack.length > 0) {
    const [v, depth, source] = stack.pop()!;
    if (typeof v === 'number' && !Number.isFinite(v)) throw badFormat('a number in the request body is too large', source);
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) throw badFormat(`the request body nests deeper than ${MAX_JSON_DEPTH} levels`, source);
    for (const [key, child] of Object.entries(v)) stack.push([child, depth + 1, `${source}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`]);
  }
  return value;
}
