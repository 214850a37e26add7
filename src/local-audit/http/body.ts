// Reads a request body with a hard size limit, rejecting by Content-Length before reading when it
// can, and never buffering more than the limit.
import type { IncomingMessage } from 'node:http';
import { ServiceError } from './envelope.js';

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    throw new ServiceError('PayloadTooLarge', `request body is larger than ${limitBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limitBytes) {
      throw new ServiceError('PayloadTooLarge', `request body is larger than ${limitBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/** Parses JSON, mapping a syntax error to a ValidationError that says where it is. */
export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ServiceError('ValidationError', `request body is not valid JSON: ${(err as Error).message}`, {
      errors: [{ code: 'BadFormat', detail: `request body is not valid JSON: ${(err as Error).message}`, source: '' }],
    });
  }
}
