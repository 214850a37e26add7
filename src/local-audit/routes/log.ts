// v1/log and v2/log: validate, stamp received_at, append as one batch, answer with hashes and
// (verbose) envelopes, the unpublished root, and proofs built from the tree.
import { validateEvent, type AuditSchema } from '../audit-schema.js';
import type { AuditLog } from '../audit-log.js';
import { microTimestamp, validationError, type FieldError } from '../http/envelope.js';
import { pointer, validateBody, type BodySpec } from '../http/validate.js';
import type { RouteModuleFactory } from './module.js';
import type { AppendedEvent, StoredEnvelope } from '../store/event-store.js';

const SIGNATURE_FIELDS = {
  signature: { type: 'string', maxLength: 512 },
  public_key: { type: 'string', maxLength: 4096 },
} as const;

const V1_LOG: BodySpec = {
  fields: {
    event: { type: 'object', required: true },
    verbose: { type: 'boolean' },
    prev_root: { type: 'string', maxLength: 64 },
    ...SIGNATURE_FIELDS,
  },
};

export const MAX_BULK_EVENTS = 1000;
/** v2/log requests of at most this many events are appended by group commit (AuditLog.appendBatched). */
const BATCHED_MAX_EVENTS = 100;

const V2_LOG: BodySpec = {
  // The real service accepts unknown top-level keys on v2/log and v2/log_async.
  allowUnknown: true,
  fields: {
    events: { type: 'array', required: true, minItems: 1, maxItems: MAX_BULK_EVENTS },
    verbose: { type: 'boolean' },
    prev_root: { type: 'string', maxLength: 64 },
  },
};

interface LogItem {
  event: Record<string, unknown>;
  signature?: string;
  public_key?: string;
}

/** Builds the stored envelope; every event of one request gets its own, increasing received_at. */
function toEnvelope(item: LogItem): StoredEnvelope {
  const envelope: StoredEnvelope = { event: item.event, received_at: microTimestamp() };
  if (item.signature !== undefined) envelope.signature = item.signature;
  if (item.public_key !== undefined) envelope.public_key = item.public_key;
  return envelope;
}

function checkSignaturePair(item: LogItem, base: string, errors: FieldError[]): void {
  if ((item.signature === undefined) !== (item.public_key === undefined)) {
    errors.push({ code: 'FieldRequired', detail: 'signature and public_key must be sent together', source: base + pointer(item.signature === undefined ? 'signature' : 'public_key') });
  }
}

/** Validates the items of a v2/log body (shape, schema, signature pairs); throws on any problem. */
export function validateBulkItems(schema: AuditSchema, events: unknown[]): LogItem[] {
  const errors: FieldError[] = [];
  events.forEach((raw, i) => {
    const base = pointer('events', i);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      errors.push({ code: 'BadFormat', detail: 'each item must be an object {event, signature?, public_key?}', source: base });
      return;
    }
    const item = raw as Record<string, unknown>;
    for (const key of Object.keys(item)) {
      if (key !== 'event' && key !== 'signature' && key !== 'public_key') {
        errors.push({ code: 'UnexpectedProperty', detail: `'${key}' is not a property of a log item`, source: base + pointer(key) });
      }
    }
    if (item.event === undefined) errors.push({ code: 'FieldRequired', detail: "'event' is required", source: base + pointer('event') });
    else validateEvent(schema, item.event, base + pointer('event'), errors);
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

/** Appends validated items and shapes the v2/log result. Shared with v2/log_async's job. */
export function appendBulk(log: AuditLog, items: readonly LogItem[], verbose: boolean): BulkResult {
  return bulkResult(log.append(items.map(toEnvelope)), verbose);
}

type BulkResult = { results: Array<{ hash: string; envelope?: StoredEnvelope }> };

function bulkResult(appended: readonly AppendedEvent[], verbose: boolean): BulkResult {
  return { results: appended.map((a) => (verbose ? { hash: a.hash, envelope: a.envelope } : { hash: a.hash })) };
}

export const logModule: RouteModuleFactory = ({ log }) => ({
  actions: {
    'v1/log': async ({ body }) => {
      const req = validateBody<LogItem & { verbose?: boolean; prev_root?: string }>(body, V1_LOG);
      const errors: FieldError[] = [];
      validateEvent(log.schema, req.event, '/event', errors);
      checkSignaturePair(req, '', errors);
      if (errors.length > 0) throw validationError(errors);
      // Single events from many callers at once share a commit (AuditLog.appendBatched); the
      // answer is built in that transaction (it may record the root it hands out).
      const result = await log.appendBatched(
        () => [toEnvelope(req)],
        ([appended]) => {
          const size = appended!.leafIndex + 1;
          const out: Record<string, unknown> = { hash: appended!.hash };
          if (req.verbose) {
            out.envelope = appended!.envelope;
            out.unpublished_root = log.unpublishedRoot(size)!.root_hash;
            out.membership_proof = log.membershipProof(appended!.leafIndex, size);
          }
          if (req.prev_root !== undefined) {
            const prevSize = log.roots.sizeOf(req.prev_root);
            if (prevSize !== undefined && prevSize < size) out.consistency_proof = log.consistencyProof(prevSize, size);
          }
          return out;
        },
      );
      return { result };
    },
    'v2/log': async ({ body }) => {
      const req = validateBody<{ events: unknown[]; verbose?: boolean }>(body, V2_LOG);
      const items = validateBulkItems(log.schema, req.events);
      const verbose = req.verbose ?? false;
      // Small batches from many callers share commits as single events do; a large one is worth
      // its own transaction (joining others would only delay the first of them).
      if (items.length > BATCHED_MAX_EVENTS) return { result: appendBulk(log, items, verbose) };
      return { result: await log.appendBatched(() => items.map(toEnvelope), (appended) => bulkResult(appended, verbose)) };
    },
  },
  close: () => log.flushAppends(),
});
