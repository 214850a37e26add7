// Events as the client sends them: the SDK rules applied once, before sending and before signing.
import { normalizeEvent, setMember } from '../merkle/index.js';
import type { EventFieldValue, WireEvent } from '../wire/index.js';

/**
 * An event as callers hand it over: standard or custom-schema fields whose values may also be
 * objects/arrays (sent as canonical JSON strings) or Dates (sent as ISO strings). `null` and
 * `undefined` mean "absent" and are dropped, since the wire never carries null for a field.
 */
export type EventInput = Record<string, unknown>;

/** Signs a prepared event, e.g. `(e) => signEvent(e, privateKey)` from src/merkle. */
export type EventSigner = (event: WireEvent) => { signature: string; public_key: string };

/** Caller input for one event: the wire item with an event that still needs preparing. */
export interface EventItemInput {
  event: EventInput;
  /** A precomputed signature over canonical(prepared event); the event is then sent exactly as given. */
  signature?: string;
  public_key?: string;
}

/** An item as it goes on the wire: normalised, tenant added, signed. */
export interface PreparedItem {
  event: WireEvent;
  signature?: string;
  public_key?: string;
}

/**
 * Normalises an event: Dates → ISO strings, null/undefined dropped, object values → canonical JSON
 * strings (normalizeEvent from src/merkle, the same rule the verifier applies).
 */
export function normalizeEventInput(event: EventInput): WireEvent {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new TypeError('an audit event must be a plain object of fields');
  }
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (value === null || value === undefined) continue;
    // A field named __proto__ stays a field (setMember).
    setMember(plain, key, value instanceof Date ? value.toISOString() : value);
  }
  const normalized = normalizeEvent(plain);
  for (const [key, value] of Object.entries(normalized)) {
    if (!isFieldValue(value)) throw new TypeError(`event field '${key}' has a value JSON cannot carry (${typeof value})`);
  }
  return normalized as Record<string, EventFieldValue>;
}

function isFieldValue(value: unknown): value is EventFieldValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Prepares one item. The default tenant is added to events without `tenant_id`, and the signer
 * signs the final event — unless the caller supplied a signature, in which case the event is not
 * changed beyond normalisation (adding a tenant would break that signature).
 */
export function prepareItem(item: EventItemInput, defaults: { tenantId?: string | undefined; sign?: EventSigner | undefined }): PreparedItem {
  const event = normalizeEventInput(item.event);
  const presigned = item.signature !== undefined;
  if (!presigned && defaults.tenantId !== undefined && event.tenant_id === undefined) {
    (event as Record<string, EventFieldValue>).tenant_id = defaults.tenantId;
  }
  const out: PreparedItem = { event };
  if (presigned) {
    out.signature = item.signature!;
    if (item.public_key !== undefined) out.public_key = item.public_key;
  } else if (defaults.sign) {
    const signed = defaults.sign(event);
    out.signature = signed.signature;
    out.public_key = signed.public_key;
  } else if (item.public_key !== undefined) {
    out.public_key = item.public_key;
  }
  return out;
}
