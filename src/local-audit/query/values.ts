// Conversions of user-written values to what typed columns hold, shared by the query compiler
// and the search_restriction compiler.

const INTEGER = /^[+-]?\d+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A decimal integer within SQLite's 64-bit range, as a number when it is exactly representable
 * and as a bigint otherwise (better-sqlite3 binds both); null when `text` is not one.
 */
export function parseInteger(text: string): number | bigint | null {
  if (!INTEGER.test(text)) return null;
  const value = BigInt(text);
  if (value < INT64_MIN || value > INT64_MAX) return null;
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : value;
}

/** `true` / `false` as the 1 / 0 SQLite stores for JSON booleans; null for anything else. */
export function parseBoolean(text: string): 1 | 0 | null {
  if (text === 'true') return 1;
  if (text === 'false') return 0;
  return null;
}
