// The event hash on the audit's hot path: sha256 of the canonical JSON (RFC 8785) of the envelope,
// for every event of the log. src/merkle's hashEnvelope is the reference and gives the same bytes;
// this one is faster because it is written for values that JSON.parse produced (no undefined, no
// cycles, no path strings kept for error messages) and uses node:crypto, which src/merkle cannot
// (it must run in browsers). test/full-audit/leaf-hash.test.ts checks it against hashEnvelope on
// generated JSON.
import { hash } from 'node:crypto';

/**
 * Is `value` already in canonical member order at every level, with no `toJSON` member? Then
 * JSON.stringify (one native call) writes exactly its canonical JSON: RFC 8785 writes strings and
 * numbers as JSON.stringify does and differs only in member order. A stored envelope is canonical
 * text, so this is the case for every honest event.
 */
function inCanonicalOrder(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if ((value as { toJSON?: unknown }).toJSON != null) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!inCanonicalOrder(value[i])) return false;
    return true;
  }
  const record = value as Record<string, unknown>;
  let previous: string | undefined;
  for (const key in record) {
    // String comparison is by UTF-16 code units: the order RFC 8785 sorts members in.
    if (previous !== undefined && !(previous < key)) return false;
    if (!inCanonicalOrder(record[key])) return false;
    previous = key;
  }
  return true;
}

/**
 * RFC 8785 canonical JSON of a value JSON.parse returned, serialised exactly as src/merkle's
 * canonicalJson (json-canonicalize) does: members sorted by UTF-16 code units, strings and numbers
 * written by JSON.stringify, and an object with an own `toJSON` member handed to JSON.stringify as
 * a whole, as that library does.
 */
export function canonicalParsedJson(value: unknown): string {
  return inCanonicalOrder(value) ? JSON.stringify(value) : serialize(value);
}

function serialize(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if ((value as { toJSON?: unknown }).toJSON != null) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined ? 'null' : serialize(item);
    }
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += first ? '' : ',';
    first = false;
    out += JSON.stringify(key) + ':' + serialize(member);
  }
  return out + '}';
}

/** The event hash of a parsed envelope: 32 bytes. */
export function envelopeHash(envelope: unknown): Buffer {
  return hash('sha256', canonicalParsedJson(envelope), 'buffer');
}

/** sha256 of a text's UTF-8 bytes (a stored envelope that is not JSON still needs a leaf). */
export function textHash(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}
