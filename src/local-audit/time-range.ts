// The `start` / `end` bounds of v1/search and v1/export: an RFC 3339 date-time (any offset), a bare
// full-date (midnight UTC), or a relative time such as `7d`, `2h`, `120min` meaning "that long
// before now". Every accepted form is normalised to `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the fixed-width
// form `received_at` is stored in, so SQL can compare them as text.
import { validationError, type FieldError } from './core/errors.js';
import { pointer } from './core/validate.js';
import { normalizeTimestampBound } from './core/timestamp.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// A bare `m` is deliberately absent: it is ambiguous between minutes and months.
const UNITS: Record<string, number> = {
  s: SECOND, sec: SECOND, secs: SECOND, second: SECOND, seconds: SECOND,
  min: MINUTE, mins: MINUTE, minute: MINUTE, minutes: MINUTE,
  h: HOUR, hr: HOUR, hrs: HOUR, hour: HOUR, hours: HOUR,
  d: DAY, day: DAY, days: DAY,
  w: 7 * DAY, week: 7 * DAY, weeks: 7 * DAY,
};

const RELATIVE = /^(\d{1,12})\s*([a-z]+)$/i;

/** Milliseconds of a relative duration like `7d` or `120min`, or null when `text` is not one. */
export function parseRelativeDuration(text: string): number | null {
  const m = RELATIVE.exec(text.trim());
  if (!m) return null;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const ms = Number(m[1]) * unit;
  return Number.isSafeInteger(ms) ? ms : null;
}

/**
 * Normalises a time bound to `YYYY-MM-DDTHH:MM:SS.ffffffZ`, or null when it is none of the
 * accepted forms. Relative times count back from `now`.
 */
export function parseTimeBound(text: string, now: Date | number = Date.now()): string | null {
  const absolute = normalizeTimestampBound(text.trim());
  if (absolute !== null) return absolute;
  const duration = parseRelativeDuration(text);
  if (duration === null) return null;
  const nowMs = typeof now === 'number' ? now : now.getTime();
  const when = new Date(nowMs - duration);
  // Before year 0 toISOString switches to the extended ±YYYYYY form, which is not RFC 3339.
  if (Number.isNaN(when.getTime()) || when.getUTCFullYear() < 0) return null;
  const iso = when.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 23)}000Z`;
}

/** The error for a bound that parseTimeBound rejected, pointing at the request field. */
function timeBoundError(field: string, text: string): FieldError {
  return {
    code: 'BadFormat',
    detail:
      `'${field}' must be an RFC 3339 date-time (e.g. 2024-05-01T00:00:00Z), a date (2024-05-01) ` +
      `or a relative time such as 7d, 2h, 120min, 30s, 2w; got "${text}"`,
    source: pointer(field),
  };
}

interface TimeRange {
  start?: string;
  end?: string;
}

/**
 * Parses both bounds of a request, collecting every problem into one ValidationError; a start
 * later than the end is rejected too, since it can only ever match nothing.
 */
export function parseTimeRange(input: { start?: string; end?: string }, now: Date | number = Date.now()): TimeRange {
  const errors: FieldError[] = [];
  const range: TimeRange = {};
  for (const field of ['start', 'end'] as const) {
    const text = input[field];
    if (text === undefined) continue;
    const parsed = parseTimeBound(text, now);
    if (parsed === null) errors.push(timeBoundError(field, text));
    else range[field] = parsed;
  }
  if (errors.length === 0 && range.start !== undefined && range.end !== undefined && range.start > range.end) {
    errors.push({ code: 'BadFormat', detail: `'start' (${range.start}) is after 'end' (${range.end})`, source: pointer('start') });
  }
  if (errors.length > 0) throw validationError(errors);
  return range;
}
