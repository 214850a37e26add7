// Request bodies of the local service: read within a hard limit (the product's one bounded reader),
// then parsed as JSON within the depth and number limits every handler relies on.
import type { IncomingMessage } from 'node:http';
import { BodyTooLargeError, readBoundedBody } from '../../node-http/bounded-body.js';
import { ServiceError } from '../core/errors.js';
import { MAX_JSON_DEPTH } from '../core/limits.js';
import { pointer } from '../core/validate.js';

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  try {
    return await readBoundedBody(req, limitBytes);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new ServiceError('PayloadTooLarge', err.message);
    throw err;
  }
}

function badFormat(detail: string, source: string): ServiceError {
  return new ServiceError('ValidationError', detail, { errors: [{ code: 'BadFormat', detail, source }] });
}

/**
 * Parses JSON, mapping a syntax error to a ValidationError that says where it is. Also refuses
 * what JSON.parse accepts but no handler can use: nesting deeper than MAX_JSON_DEPTH and numbers
 * beyond ±Number.MAX_SAFE_INTEGER (1e400 parses to Infinity, which canonical JSON cannot write).
 *
 * Integers beyond ±(2^53 − 1) are refused rather than stored: JSON.parse rounds such a literal to
 * the nearest double before any handler sees it, so a 30-digit integer field would be stored, and
 * hashed in its envelope, as another number than the client sent and hashed. Checking the parsed
 * value finds every such literal without scanning the raw text (Node 20's JSON.parse reviver has
 * no `context.source`): rounding is monotonic and 2^53 is a double, so a literal of magnitude
 * above 2^53 − 1 parses to at least 2^53. The same check refuses non-integer literals that large
 * (1e300): every double of that magnitude is an integer anyway, and no field takes fractions.
 * The checks walk the parsed value once without building anything; only a body that fails them is
 * walked again, naming each member on the way, to say which value it was.
 */
export function parseJson(raw: Buffer): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw badFormat(`request body is not valid JSON: ${(err as Error).message}`, '');
  }
  if (!withinLimits(value, 0)) throwFirstViolation(value);
  return value;
}

/**
 * Whether no number in `value` is beyond ±(2^53 − 1) and no object or array in it sits
 * MAX_JSON_DEPTH or more levels deep (`depth`: its own level). It recurses, but never below
 * MAX_JSON_DEPTH levels: a deeper value is refused before it is entered.
 */
function withinLimits(value: unknown, depth: number): boolean {
  if (typeof value === 'number') return Math.abs(value) <= Number.MAX_SAFE_INTEGER;
  if (value === null || typeof value !== 'object') return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!withinLimits(value[i], depth + 1)) return false;
    return true;
  }
  // A parsed object has only own, enumerable members (and no inherited enumerable ones).
  const record = value as Record<string, unknown>;
  for (const key in record) if (!withinLimits(record[key], depth + 1)) return false;
  return true;
}

/** Finds the value withinLimits refused, with the JSON pointer of where it is, and throws it. */
function throwFirstViolation(value: unknown): never {
  // Iterative walk: the check itself must not recurse.
  const stack: Array<[unknown, number, string]> = [[value, 0, '']];
  while (stack.length > 0) {
    const [v, depth, source] = stack.pop()!;
    if (typeof v === 'number' && !(Math.abs(v) <= Number.MAX_SAFE_INTEGER)) {
      const field = source === '' ? 'the request body' : `'${source}'`;
      throw badFormat(`${field} is a number beyond ±${Number.MAX_SAFE_INTEGER} (2^53 - 1), which cannot be kept exactly; send a smaller integer`, source);
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) throw badFormat(`the request body nests deeper than ${MAX_JSON_DEPTH} levels`, source);
    for (const [key, child] of Object.entries(v)) stack.push([child, depth + 1, source + pointer(key)]);
  }
  throw new Error('withinLimits refused a value the precise walk accepts');
}
