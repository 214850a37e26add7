// The service's timestamps (core/clock.ts): RFC 3339 UTC with six fractional digits, whatever
// order the microseconds come in (the date part is formatted once per millisecond and reused).
import { microTimestamp } from '../../src/local-audit/core/clock.js';

test('each microsecond gets its own timestamp, across milliseconds, seconds and days, in any order', () => {
  const at = (micros: bigint): string => microTimestamp(micros);
  expect(at(1_700_000_000_123_456n)).toBe('2023-11-14T22:13:20.123456Z');
  expect(at(1_700_000_000_123_457n)).toBe('2023-11-14T22:13:20.123457Z');
  expect(at(1_700_000_000_124_000n)).toBe('2023-11-14T22:13:20.124000Z');
  expect(at(1_700_000_000_123_999n)).toBe('2023-11-14T22:13:20.123999Z'); // an earlier millisecond again
  expect(at(1_700_000_000_999_999n)).toBe('2023-11-14T22:13:20.999999Z');
  expect(at(1_700_000_001_000_000n)).toBe('2023-11-14T22:13:21.000000Z');
  expect(at(1_700_006_399_999_999n)).toBe('2023-11-14T23:59:59.999999Z');
  expect(at(1_700_006_400_000_001n)).toBe('2023-11-15T00:00:00.000001Z');
  expect(at(0n)).toBe('1970-01-01T00:00:00.000000Z');
});

test('timestamps of the clock rise strictly, even within one millisecond', () => {
  const stamps = Array.from({ length: 5000 }, () => microTimestamp());
  for (let i = 1; i < stamps.length; i++) expect(stamps[i]! > stamps[i - 1]!).toBe(true);
  expect(stamps.every((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(s))).toBe(true);
});
