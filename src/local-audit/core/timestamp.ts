// The service's timestamps, by the contract's one RFC 3339 rule (src/wire/timestamp.ts). Timestamps in the store are RFC 3339 UTC strings normalised
// to exactly `YYYY-MM-DDTHH:MM:SS.ffffffZ` (six fractional digits, `Z`). That fixed width makes
// plain text comparison in SQL agree with time order, so datetime comparisons compile to
// `col > ?` against a value normalised the same way. The store must use `normalizeTimestamp` when
// it writes, and an event's datetime field is valid exactly when it normalises (audit-schema.ts):
// a value accepted but not normalisable would be stored raw and sort out of time order.
// The date and time are separated by `T` or `t` only (RFC 3339 section 5.6's grammar; the
// space its note allows is not accepted).
// One departure from RFC 3339: a date-time without an offset is read as UTC. The vendor's Python
// SDK sends `datetime.isoformat()` of naive UTC times (`2026-12-04T13:13:46.054917`), and this is
// the one rule for event fields, query comparisons, restrictions and time bounds alike. Only the
// normalised copy used for order and ranges is UTC; the envelope keeps the text as sent, since
// its hash covers it.

import { normalizeTimestamp as normalizeWireTimestamp } from '../../wire/timestamp.js';

const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Normalises an RFC 3339 `date-time` (any offset, none meaning UTC, any number of fractional
 * digits) to UTC with exactly six fractional digits, or returns null when `text` is not a
 * calendar-valid one (the contract's rule in src/wire/timestamp.ts).
 */
export function normalizeTimestamp(text: string): string | null {
  return normalizeWireTimestamp(text, { naiveIsUtc: true });
}

/**
 * For comparisons (`when>2024-05-01`): an RFC 3339 date-time, or a bare `full-date` meaning
 * midnight UTC of that day. Null when neither.
 */
export function normalizeTimestampBound(text: string): string | null {
  return FULL_DATE.test(text) ? normalizeTimestamp(`${text}T00:00:00Z`) : normalizeTimestamp(text);
}
