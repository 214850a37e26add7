// The contract's one RFC 3339 `date-time` rule, for every layer that accepts a timestamp: the
// GraphQL DateTime scalar and the local service's event fields and query bounds.
//
// Audit timestamps are hashed as written, so callers keep the text they were given; this module
// only decides whether it is a real instant and gives its fixed-width UTC form
// (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, six fractional digits), whose text order is time order.
// The date and time are separated by `T` or `t` only (RFC 3339 section 5.6's grammar; the space
// its note allows is not accepted).

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))?$/;

export interface TimestampRules {
  /**
   * Accept a date-time without an offset and read it as UTC. The vendor's Python SDK sends such
   * naive timestamps; the GraphQL scalar, which promises RFC 3339, does not accept them.
   */
  naiveIsUtc?: boolean;
}

/**
 * The fixed-width UTC form of an RFC 3339 `date-time` (any offset, any number of fractional
 * digits), or null when `text` is not a calendar-valid one. Extra fractional digits are truncated
 * (not rounded), so the normalised value never moves past the instant written. Leap seconds
 * (`:60`) and results outside years 0000..9999 are rejected: they have no fixed-width UTC form.
 */
export function normalizeTimestamp(text: string, rules: TimestampRules = {}): string | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const hasOffset = m[8] !== undefined || m[9] !== undefined;
  if (!hasOffset && !rules.naiveIsUtc) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = (m[7] ?? '').slice(0, 6).padEnd(6, '0');
  const offsetSign = m[9] === '-' ? -1 : 1;
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);

  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return null;

  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const utc = new Date(date.getTime() - offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000);
  const utcYear = utc.getUTCFullYear();
  if (utcYear < 0 || utcYear > 9999) return null;

  return (
    `${pad(utcYear, 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())}` +
    `T${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}.${fraction}Z`
  );
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
