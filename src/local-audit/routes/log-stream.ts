// v1/log_stream: vendor log streams, mapped onto the standard audit schema and appended as one
// batch. Supported vendor shape: the Auth0 log stream, {logs: [{log_id, data: {date, type,
// description, client_id, client_name?, ip, user_agent, user_id, user_name?, …}}]}.
//
// Mapping of one Auth0 log:
//   timestamp ← data.date (an RFC 3339 date-time, normalised; any other date is refused)   action ← data.type
//   actor     ← data.user_name || data.user_id    source ← data.ip
//   target    ← data.client_name || data.client_id
//   status    ← "success" / "failure" for Auth0 type codes starting with s / f (sys_* excluded:
//               those are system notices, not outcomes), otherwise the type code itself
//   message   ← data.description || data.type
//   new       ← canonical JSON of the whole raw log item, so nothing the vendor sent is lost
// Mapped short fields longer than the schema allows are cut to fit (the full values stay in
// `new`). `new` itself is cut only when the raw record exceeds its 32766-character limit; it then
// ends with TRUNCATION_MARK and is no longer valid JSON.
// The mapping exists only for the standard schema: with a custom schema the endpoint answers a
// ValidationError.
import { canonicalJson } from '../../merkle/index.js';
import { STANDARD_SCHEMA, validateEvent, type AuditSchema } from '../audit-schema.js';
import { microTimestamp } from '../core/clock.js';
import { validationError, type FieldError } from '../core/errors.js';
import { pointer, validateBody } from '../core/validate.js';
import { normalizeTimestamp } from '../core/timestamp.js';
import type { StoredEnvelope } from '../store/event-store.js';
import { MAX_BULK_EVENTS } from '../core/limits.js';
import type { RouteModuleFactory } from './module.js';

export const TRUNCATION_MARK = '…[truncated]';

const STANDARD_SCHEMA_JSON = canonicalJson(STANDARD_SCHEMA);

/** Cuts `text` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function truncate(text: string, max: number, mark = ''): string {
  if (text.length <= max) return text;
  let cut = max - mark.length;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return text.slice(0, cut) + mark;
}

/** A scalar as text; anything else (objects, null, empty strings) counts as absent. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Auth0 type codes: s… are successes (s, sapi, slo, ss, …), f… failures (f, fp, fu, fapi, …). */
export function auth0Status(type: string): string {
  if (type.startsWith('sys_')) return type;
  if (type.startsWith('s')) return 'success';
  if (type.startsWith('f')) return 'failure';
  return type;
}

/**
 * Date of an Auth0 log as RFC 3339 UTC, or null when it is not one. Auth0 log streams carry
 * ISO 8601 date-times with a `Z` or an offset ("2024-03-29T17:26:50.193Z"); normalizeTimestamp
 * takes those, and also one without an offset (read as UTC, the service's one rule). Nothing
 * looser is guessed at: Date.parse read "1" as 2001-01-01 and "March 7" as 2001-03-07, storing a
 * date the vendor never sent; such a log is refused with a ValidationError instead.
 */
function auth0Date(value: unknown): string | null {
  return typeof value === 'string' ? normalizeTimestamp(value) : null;
}

/** Maps one Auth0 log item onto the standard schema; problems go to `errors` under `base`. */
function mapAuth0Log(schema: AuditSchema, raw: unknown, base: string, errors: FieldError[]): Record<string, unknown> | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    errors.push({ code: 'BadFormat', detail: 'each log must be an object {log_id, data}', source: base });
    return undefined;
  }
  const data = (raw as Record<string, unknown>).data;
  if (data === undefined) {
    errors.push({ code: 'FieldRequired', detail: "'data' is required", source: base + pointer('data') });
    return undefined;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    errors.push({ code: 'BadFormat', detail: "'data' must be an object", source: base + pointer('data') });
    return undefined;
  }
  const d = data as Record<string, unknown>;
  const type = text(d.type);
  const description = text(d.description);
  if (type === undefined && description === undefined) {
    errors.push({ code: 'FieldRequired', detail: "'data.type' (or 'data.description') is required", source: base + pointer('data', 'type') });
    return undefined;
  }
  const size = (id: string): number => schema.fields.find((f) => f.id === id)?.size ?? Number.MAX_SAFE_INTEGER;
  const event: Record<string, unknown> = { message: truncate(description ?? type!, size('message')) };
  const set = (field: string, value: string | undefined): void => {
    if (value !== undefined) event[field] = truncate(value, size(field));
  };
  set('actor', text(d.user_name) ?? text(d.user_id));
  set('action', type);
  set('target', text(d.client_name) ?? text(d.client_id));
  set('status', type === undefined ? undefined : auth0Status(type));
  set('source', text(d.ip));
  event.new = truncate(canonicalJson(raw), size('new'), TRUNCATION_MARK);
  if (d.date !== undefined) {
    const timestamp = auth0Date(d.date);
    if (timestamp === null) {
      errors.push({ code: 'BadFormat', detail: "'data.date' must be an RFC 3339 date-time", source: base + pointer('data', 'date') });
      return undefined;
    }
    event.timestamp = timestamp;
  }
  return event;
}

export const logStreamModule: RouteModuleFactory = ({ log }) => ({
  actions: {
    'v1/log_stream': ({ body }) => {
      // The payload is the vendor's: unknown top-level keys are accepted (as the real service does).
      const req = validateBody<{ logs: unknown[] }>(body, {
        allowUnknown: true,
        fields: { logs: { type: 'array', required: true, maxItems: MAX_BULK_EVENTS } },
      });
      if (canonicalJson(log.schema) !== STANDARD_SCHEMA_JSON) {
        throw validationError([
          {
            code: 'BadFormat',
            detail: 'v1/log_stream maps vendor logs onto the standard audit schema; this service uses a custom schema, so log with v1/log or v2/log instead',
            source: '',
          },
        ]);
      }
      const errors: FieldError[] = [];
      const events = req.logs.map((raw, i) => {
        const base = pointer('logs', i);
        const event = mapAuth0Log(log.schema, raw, base, errors);
        // The mapping is built to fit; checking it anyway keeps a mapping bug from storing junk.
        if (event) validateEvent(log.schema, event, base, errors);
        return event;
      });
      if (errors.length > 0) throw validationError(errors);
      if (events.length > 0) {
        log.append(events.map((event): StoredEnvelope => ({ event: event!, received_at: microTimestamp() })));
      }
      return { result: {} };
    },
  },
});
