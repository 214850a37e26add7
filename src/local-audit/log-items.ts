// The items of a v2/log or v2/log_async body ({event, signature?, public_key?}): their validation,
// their stored envelopes (received_at stamped), and the v2/log result shape. v2/log answers at once
// and v2/log_async's job later, with the same checks and the same answer.
import { validateEvent, type AuditSchema } from './audit-schema.js';
import type { AuditLog } from './audit-log.js';
import { microTimestamp } from './core/clock.js';
import { listing, UNLISTED_ERROR, validationError, type FieldError } from './core/errors.js';
import { MAX_BULK_EVENTS, MAX_SHORT_PARAM } from './core/limits.js';
import { pointer, type BodySpec } from './core/validate.js';
import type { AppendedEvent, StoredEnvelope } from './store/event-store.js';

/** The body of v2/log and v2/log_async; the real service accepts unknown top-level keys on both. */
export const LOG_BATCH_BODY: BodySpec = {
  allowUnknown: true,
  fields: {
    events: { type: 'array', required: true, minItems: 1, maxItems: MAX_BULK_EVENTS },
    verbose: { type: 'boolean' },
    prev_root: { type: 'string', maxLength: MAX_SHORT_PARAM },
  },
};

export interface LogItem {
  event: Record<string, unknown>;
  signature?: string;
  public_key?: string;
}

/** Builds the stored envelope; every event of one request gets its own, increasing received_at. */
export function toEnvelope(item: LogItem): StoredEnvelope {
  const envelope: StoredEnvelope = { event: item.event, received_at: microTimestamp() };
  if (item.signature !== undefined) envelope.signature = item.signature;
  if (item.public_key !== undefined) envelope.public_key = item.public_key;
  return envelope;
}

export function checkSignaturePair(item: LogItem, base: string, errors: FieldError[]): void {
  if ((item.signature === undefined) !== (item.public_key === undefined)) {
    errors.push({ code: 'FieldRequired', detail: 'signature and public_key must be sent together', source: base + pointer(item.signature === undefined ? 'signature' : 'public_key') });
  }
}

/** Validates the items of a v2/log body (shape, schema, signature pairs); throws on any problem. */
export function validateBulkItems(schema: AuditSchema, events: unknown[]): LogItem[] {
  const errors: FieldError[] = [];
  events.forEach((raw, i) => {
    // pointer('events', i) without its escaping: neither part can hold '~' or '/'.
    const base = `/events/${i}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      errors.push({ code: 'BadFormat', detail: 'each item must be an object {event, signature?, public_key?}', source: base });
      return;
    }
    const item = raw as Record<string, unknown>;
    for (const key of Object.keys(item)) {
      if (key === 'event' || key === 'signature' || key === 'public_key') continue;
      if (listing(errors)) errors.push({ code: 'UnexpectedProperty', detail: `'${key}' is not a property of a log item`, source: base + pointer(key) });
      else errors.push(UNLISTED_ERROR);
    }
    if (item.event === undefined) errors.push({ code: 'FieldRequired', detail: "'event' is required", source: base + pointer('event') });
    else validateEvent(schema, item.event, base + '/event', errors);
    for (const key of ['signature', 'public_key'] as const) {
      if (item[key] !== undefined && typeof item[key] !== 'string') {
        errors.push({ code: 'BadFormat', detail: `'${key}' must be a string`, source: base + pointer(key) });
      }
    }
    checkSignaturePair(item as unknown as LogItem, base, errors);
  });
  if (errors.length > 0) throw validationError(errors);
  return events as LogItem[];
}

/** Appends validated items and shapes the v2/log result. */
export function appendBulk(log: AuditLog, items: readonly LogItem[], verbose: boolean): BulkResult {
  return bulkResult(log.append(items.map(toEnvelope)), verbose);
}

type BulkResult = { results: Array<{ hash: string; envelope?: StoredEnvelope }> };

export function bulkResult(appended: readonly AppendedEvent[], verbose: boolean): BulkResult {
  return { results: appended.map((a) => (verbose ? { hash: a.hash, envelope: a.envelope } : { hash: a.hash })) };
}
