// The response envelope every endpoint answers with (the audit REST API's wire format), and the typed error a
// handler throws to answer with an error envelope.
import { randomFillSync } from 'node:crypto';
import { STATUS_HTTP_CODES } from '../../wire/index.js';

// The contract's statuses (shared with the client through the wire types) plus the three this
// service adds for HTTP-level refusals.
const SERVICE_HTTP_CODES = {
  ...STATUS_HTTP_CODES,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  MethodNotAllowed: 405,
} as const;

export type ServiceStatus = keyof typeof SERVICE_HTTP_CODES;

export const HTTP_CODES: Record<ServiceStatus, number> = SERVICE_HTTP_CODES;

export interface FieldError {
  code: string;
  detail: string;
  /** JSON pointer into the request body. */
  source: string;
  path?: string;
}

/** Thrown by handlers; the server turns it into an error envelope. */
export class ServiceError extends Error {
  constructor(
    readonly status: ServiceStatus,
    readonly summary: string,
    readonly result: Record<string, unknown> | null = null,
  ) {
    super(summary);
  }
}

export function validationError(errors: FieldError[], summary?: string): ServiceError {
  const text = summary ?? (errors.length === 1 ? errors[0]!.detail : `There were ${errors.length} errors validating the request`);
  return new ServiceError('ValidationError', text, { errors });
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Bytes at or above this are skipped: 252 = 7 * 36, so every character is equally likely. */
const UNBIASED_LIMIT = 252;

// CSPRNG bytes drawn 4 KiB at a time (as crypto.randomUUID does): one call into the random source
// per ~100 ids instead of one per id, which every request paid twice (request id, result set id).
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

function randomByte(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}

/**
 * Random id: prefix + 32 chars of [a-z0-9] (the shape of the service's ids), about 165 bits from
 * the CSPRNG. Ids name result sets and download URLs, so they must not be guessable.
 */
export function randomId(prefix: string): string {
  let out = prefix;
  for (let chars = 0; chars < 32; ) {
    const byte = randomByte();
    if (byte >= UNBIASED_LIMIT) continue; // skipped with probability 4/256
    out += ALNUM[byte % 36];
    chars++;
  }
  return out;
}

/** RFC 3339 UTC with exactly six fractional digits, e.g. 2024-07-25T00:51:46.340938Z. */
export function microTimestamp(epochMicros: bigint = nowMicros()): string {
  const millis = Number(epochMicros / 1000n);
  const micros = Number(epochMicros % 1000n);
  const iso = new Date(millis).toISOString(); // ...HH:MM:SS.mmmZ
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

let lastMicros = 0n;

/**
 * Makes every later timestamp of this process later than `timestamp` (an RFC 3339 time such as
 * microTimestamp writes): the service calls it at start-up with the last stored received_at, so
 * a clock set back between two runs cannot stamp an event earlier than the one before it.
 */
export function keepClockAfter(timestamp: string): void {
  const match = /^(.*\.\d{3})(\d{3})Z$/.exec(timestamp);
  const millis = match ? Date.parse(`${match[1]}Z`) : Number.NaN;
  if (!match || Number.isNaN(millis)) return;
  const micros = BigInt(millis) * 1000n + BigInt(match[2]!);
  if (micros > lastMicros) lastMicros = micros;
}

/** Wall-clock microseconds, strictly increasing within the process. */
export function nowMicros(): bigint {
  const wall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  lastMicros = wall > lastMicros ? wall : lastMicros + 1n;
  return lastMicros;
}

export interface ResponseEnvelope {
  request_id: string;
  request_time: string;
  response_time: string;
  status: ServiceStatus;
  summary: string;
  result: unknown;
}

export function envelope(requestId: string, requestTime: string, status: ServiceStatus, summary: string, result: unknown): ResponseEnvelope {
  return { request_id: requestId, request_time: requestTime, response_time: microTimestamp(), status, summary, result };
}
