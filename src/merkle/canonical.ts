// Canonical JSON (RFC 8785 / JCS) via the `json-canonicalize` package, which matches every vector
// in test/fixtures/vectors/canonicalization.json and hashes.json. This file adds the audit-specific rules.
import { canonicalizeEx } from 'json-canonicalize';

// Absent members are dropped (as JSON.stringify does) rather than written as "undefined".
const OPTIONS = { filterUndefined: true, undefinedInArrayToNull: true } as const;

/** RFC 8785 canonical JSON of a JSON value. Throws on values JSON cannot represent. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) throw new TypeError('undefined has no JSON representation');
  return canonicalizeEx(value, OPTIONS);
}

/**
 * Sets an own, enumerable member of a plain object, whatever its name. "__proto__" is a legal
 * JSON member name and must stay an own member (assignment would hit the prototype setter and
 * silently drop it from the signed event); it is the only name on Object.prototype with a setter,
 * so every other member is assigned, which is cheaper than defining it.
 */
export function setMember(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * The SDK rule applied before an event is sent or signed: every object- or array-valued field is
 * replaced by its canonical JSON string, so the service stores (and hashes) a string.
 * Strings, numbers and booleans are kept as they are; `undefined` fields are dropped.
 */
export function normalizeEvent(event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (value === undefined) continue;
    const normalized = value !== null && typeof value === 'object' ? canonicalJson(value) : value;
    setMember(out, key, normalized);
  }
  return out;
}

/** Canonical form of an envelope, with the event normalised first (the SDK's envelope mode). */
export function canonicalEnvelope(envelope: { event: Record<string, unknown> } & Record<string, unknown>): string {
  return canonicalJson({ ...envelope, event: normalizeEvent(envelope.event) });
}
