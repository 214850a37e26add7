// Canonical JSON (RFC 8785) on the hot paths (the local service's ingest, the full audit): the
// same text as canonicalJson (json-canonicalize, the reference) for values made of what JSON.parse
// returns (plain objects, arrays, strings, finite numbers, booleans, null), without what that
// library keeps for any value (a path string per member for its error messages, a map of the
// objects seen, to catch cycles, which parsed values cannot have). test/merkle/canonical-parsed.test.ts
// checks it against canonicalJson on generated JSON.
import { setMember } from './canonical.js';

/**
 * Is `value` already in canonical member order at every level, with no `toJSON` member and no
 * number JSON cannot hold? Then JSON.stringify (one native call) writes exactly its canonical
 * JSON: RFC 8785 writes strings and numbers as JSON.stringify does and differs only in member
 * order. A stored envelope is canonical text, so this is the case for every honest event.
 */
function inCanonicalOrder(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
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
 * RFC 8785 canonical JSON of a value made of what JSON.parse returns, serialised exactly as
 * canonicalJson does: members sorted by UTF-16 code units, strings and numbers written by
 * JSON.stringify, undefined members left out and undefined array items written as null, an object
 * with a `toJSON` member handed to JSON.stringify as a whole, and a number JSON cannot hold refused.
 */
export function canonicalParsedJson(value: unknown): string {
  if (value === undefined) throw new TypeError('undefined has no JSON representation');
  if (inCanonicalOrder(value)) return JSON.stringify(value);
  // A copy in canonical member order is again one JSON.stringify call: faster than writing the
  // text member by member, and its result is one flat string, which hashing reads at once.
  const copy = inMemberOrder(value);
  return copy === NOT_ORDERABLE ? serialize(value) : JSON.stringify(copy);
}

const NOT_ORDERABLE = Symbol('not orderable');

/**
 * A copy of `value` whose objects have their members inserted in canonical order, so that
 * JSON.stringify lists them in that order; NOT_ORDERABLE when an object has a member whose name
 * starts with a digit: objects list array-index names ("9", "10") first, in numeric order,
 * whatever the insertion order. Throws for a number JSON cannot hold, as serialize does.
 */
function inMemberOrder(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`${value} has no JSON representation (RFC 8785 §3.2.2.3)`);
  if (value === null || typeof value !== 'object') return value;
  // JSON.stringify hands such an object to its toJSON as a whole, as serialize does.
  if ((value as { toJSON?: unknown }).toJSON != null) return value;
  if (Array.isArray(value)) {
    const items: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = inMemberOrder(value[i]);
      if (item === NOT_ORDERABLE) return NOT_ORDERABLE;
      items[i] = item;
    }
    return items;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const code = key.charCodeAt(0);
    if (code >= 0x30 && code <= 0x39) return NOT_ORDERABLE;
    const member = inMemberOrder(record[key]);
    if (member === NOT_ORDERABLE) return NOT_ORDERABLE;
    // Undefined members are left out (as JSON.stringify would leave them out).
    if (member !== undefined) setMember(out, key, member);
  }
  return out;
}

function serialize(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`${value} has no JSON representation (RFC 8785 §3.2.2.3)`);
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
