// Request bodies of the local service: read within a hard limit (the product's one bounded reader),
// then parsed as JSON within the depth and number limits every handler relies on.
import type { IncomingMessage } from 'node:http';
import { BodyTooLargeError, readBoundedBody } from '../../node-http/bounded-body.js';
import { ServiceError } from '../core/errors.js';
import { MAX_JSON_DEPTH } from '../core/limits.js';
import { pointer } from '../core/validate.js';
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from '../../wire/json-bytes.js';

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
 * what JSON.parse accepts but no handler can use:
 * - bytes that are not UTF-8 (decoding would silently turn them into U+FFFD, so the stored and
 *   hashed event would differ from what the client sent and signed);
 * - nesting deeper than MAX_JSON_DEPTH, found by scanning the raw bytes before JSON.parse: parsing
 *   a body of millions of brackets first held the event loop for seconds;
 * - strings, member names included, that are not well-formed Unicode (a lone surrogate from an
 *   escape such as "\udead"): canonical JSON (RFC 8785, I-JSON) cannot write them, so the SDK's
 *   canonicaliser threw on every search page holding such an event, and on `log(…, {verbose})`
 *   after the event was committed;
 * - numbers beyond ±Number.MAX_SAFE_INTEGER (1e400 parses to Infinity, which canonical JSON
 *   cannot write).
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
  const tooDeep = tooDeepAt(raw);
  if (tooDeep !== null) throw badFormat(`the request body nests deeper than ${MAX_JSON_DEPTH} levels`, tooDeep);
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw badFormat('request body is not valid JSON: it is not valid UTF-8', '');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badFormat(`request body is not valid JSON: ${(err as Error).message}`, '');
  }
  if (!withinLimits(value, 0)) throwFirstViolation(value);
  return value;
}

/** Fatal: invalid bytes throw. The BOM is kept, so JSON.parse refuses it as it always did. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** String.prototype.isWellFormed (Node 20) is ES2024, past this project's lib. */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** With the u flag, a surrogate range matches only surrogates that are not part of a pair. */
const LONE_SURROGATE = /[\ud800-\udfff]/gu;


/**
 * The JSON pointer of the first array or object in `raw` that sits MAX_JSON_DEPTH or more levels
 * deep (the top-level value being level 0), or null when there is none. Scans bytes, outside
 * strings (honouring backslash escapes): UTF-8 never uses bytes below 0x80 inside a multi-byte
 * character, so brackets, quotes and backslashes are found without decoding. Only the path to the
 * current place is kept (at most MAX_JSON_DEPTH levels: each level's array index or the span of
 * its current member name), and names are decoded only to report a refusal. The text need not be
 * valid JSON: JSON.parse judges that afterwards.
 */
function tooDeepAt(raw: Buffer): string | null {
  const isObject: boolean[] = [];
  const index: number[] = [];
  const nameStart: number[] = [];
  const nameEnd: number[] = [];
  let depth = 0;
  let expectName = false;
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    const c = raw[i]!;
    if (c === QUOTE) {
      const start = i;
      for (i++; i < n; i++) {
        const b = raw[i]!;
        if (b === BACKSLASH) i++;
        else if (b === QUOTE) break;
      }
      if (expectName && depth > 0) {
        nameStart[depth - 1] = start;
        nameEnd[depth - 1] = i + 1;
        expectName = false;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (depth >= MAX_JSON_DEPTH) return pathAt(raw, depth, isObject, index, nameStart, nameEnd);
      isObject[depth] = c === OPEN_OBJECT;
      index[depth] = 0;
      nameStart[depth] = nameEnd[depth] = 0;
      expectName = c === OPEN_OBJECT;
      depth++;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (depth > 0) depth--;
      expectName = false;
    } else if (c === COMMA && depth > 0) {
      if (isObject[depth - 1]) expectName = true;
      else index[depth - 1]!++;
    }
  }
  return null;
}

function pathAt(raw: Buffer, depth: number, isObject: boolean[], index: number[], nameStart: number[], nameEnd: number[]): string {
  let path = '';
  for (let level = 0; level < depth; level++) {
    if (!isObject[level]) {
      path += pointer(index[level]!);
      continue;
    }
    const name = raw.subarray(nameStart[level], nameEnd[level]).toString('utf8');
    let key: unknown;
    try {
      key = JSON.parse(name);
    } catch {
      key = name;
    }
    path += pointer(typeof key === 'string' ? key.replace(LONE_SURROGATE, '\ufffd') : name);
  }
  return path;
}

/**
 * Whether no number in `value` is beyond ±(2^53 − 1), every string and member name in it is
 * well-formed Unicode, and no object or array in it sits MAX_JSON_DEPTH or more levels deep
 * (`depth`: its own level). It recurses, but never below MAX_JSON_DEPTH levels: a deeper value is
 * refused before it is entered.
 */
function withinLimits(value: unknown, depth: number): boolean {
  if (typeof value === 'number') return Math.abs(value) <= Number.MAX_SAFE_INTEGER;
  if (typeof value === 'string') return isWellFormed(value);
  if (value === null || typeof value !== 'object') return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!withinLimits(value[i], depth + 1)) return false;
    return true;
  }
  // A parsed object has only own, enumerable members (and no inherited enumerable ones).
  const record = value as Record<string, unknown>;
  for (const key in record) if (!isWellFormed(key) || !withinLimits(record[key], depth + 1)) return false;
  return true;
}

const NOT_WELL_FORMED = 'which canonical JSON (RFC 8785) cannot write; send whole surrogate pairs only';

/** Why a string is refused, with where in it (as a query's other errors say where). */
function notWellFormed(text: string): string {
  const at = /[\ud800-\udfff]/u.exec(text)?.index ?? 0;
  return `is not well-formed Unicode: it holds a lone UTF-16 surrogate (such as the escape "\\udead") at position ${at}, ${NOT_WELL_FORMED}`;
}

/**
 * Finds the first value, in document order, that withinLimits refused, with the JSON pointer of
 * where it is, and throws it. A member name that is not well-formed is reported at its object:
 * a pointer through the name itself would carry the lone surrogate into the answer.
 */
function throwFirstViolation(value: unknown): never {
  // Iterative walk: the check itself must not recurse. Children are pushed last-first so that
  // they are popped in document order.
  const stack: Array<[unknown, number, string]> = [[value, 0, '']];
  while (stack.length > 0) {
    const [v, depth, source] = stack.pop()!;
    const field = source === '' ? 'the request body' : `'${source}'`;
    if (typeof v === 'number' && !(Math.abs(v) <= Number.MAX_SAFE_INTEGER)) {
      throw badFormat(`${field} is a number beyond ±${Number.MAX_SAFE_INTEGER} (2^53 - 1), which cannot be kept exactly; send a smaller integer`, source);
    }
    if (typeof v === 'string' && !isWellFormed(v)) throw badFormat(`${field} ${notWellFormed(v)}`, source);
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) throw badFormat(`the request body nests deeper than ${MAX_JSON_DEPTH} levels`, source);
    const entries = Object.entries(v);
    for (const [key] of entries) if (!isWellFormed(key)) throw badFormat(`a member name of ${field} ${notWellFormed(key)}`, source);
    for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![1], depth + 1, source + pointer(entries[i]![0])]);
  }
  throw new Error('withinLimits refused a value the precise walk accepts');
}
