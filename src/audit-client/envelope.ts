// Turns a response body into a response envelope, or says precisely why it is not one: not JSON
// at all, JSON cut off part-way, or JSON of the wrong shape. The client maps each outcome to its
// transport error; keeping the decision here makes it testable without a socket.
import type { ResponseEnvelope } from '../wire/index.js';

export type EnvelopeParse =
  | { ok: true; envelope: ResponseEnvelope }
  | { ok: false; problem: 'non-json' | 'truncated' | 'malformed'; detail: string };

const STRING_MEMBERS = ['request_id', 'request_time', 'response_time', 'status', 'summary'] as const;

export function parseEnvelope(text: string): EnvelopeParse {
  if (text.trim() === '') return { ok: false, problem: 'non-json', detail: 'the body is empty' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (isJsonPrefix(text)) return { ok: false, problem: 'truncated', detail: 'the JSON body ends part-way through a value' };
    return { ok: false, problem: 'non-json', detail: `the body is not JSON${syntaxErrorPlace(err)}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problem: 'malformed', detail: 'the body is JSON but not an object' };
  }
  const record = value as Record<string, unknown>;
  for (const member of STRING_MEMBERS) {
    if (typeof record[member] !== 'string') {
      return { ok: false, problem: 'malformed', detail: `envelope member '${member}' is ${record[member] === undefined ? 'missing' : 'not a string'}` };
    }
  }
  if (record.status === '') return { ok: false, problem: 'malformed', detail: "envelope 'status' is empty" };
  if (!('result' in record)) return { ok: false, problem: 'malformed', detail: "envelope member 'result' is missing" };
  const { status, result } = record;
  if ((status === 'Success' || status === 'Accepted') && (result === null || typeof result !== 'object' || Array.isArray(result))) {
    return { ok: false, problem: 'malformed', detail: `a ${status as string} envelope's 'result' is not an object` };
  }
  return { ok: true, envelope: record as unknown as ResponseEnvelope };
}

/**
 * Where JSON.parse gave up, without the rest of its message: V8 quotes the start of the body there
 * ("Unexpected token 'p', "pts_abc"... is not valid JSON"), and a body echoing the bearer token
 * would put the token's first characters into the error, cut where no redaction can recognise
 * them. The error's scrubbed body excerpt shows the text itself.
 */
function syntaxErrorPlace(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  const position = /\bat position (\d+)/.exec(typeof message === 'string' ? message : '')?.[1];
  return position === undefined ? '' : ` (a syntax error at character ${position})`;
}

/**
 * Is the text the beginning of a JSON object or array that stops before it is closed? A scan of
 * strings and bracket depth is enough: a body cut mid-way leaves a string or a bracket open, while
 * an HTML page or other garbage does not start with `{`/`[` or closes and then continues.
 */
export function isJsonPrefix(text: string): boolean {
  const start = text.search(/\S/);
  if (start < 0 || (text[start] !== '{' && text[start] !== '[')) return false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      // Closed before the end: the body is complete (so it is invalid, not truncated).
      if (depth === 0) return false;
    }
  }
  return depth > 0 || inString;
}
