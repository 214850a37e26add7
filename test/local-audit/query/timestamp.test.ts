// The store writes datetimes through normalizeTimestamp and the compiler compares against values
// normalised the same way, so text order must equal time order.
import fc from 'fast-check';
import { normalizeTimestamp, normalizeTimestampBound } from '../../../src/local-audit/query/index.js';

describe('normalizeTimestamp', () => {
  test.each<[string, string]>([
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000000Z'],
    ['2024-05-01t10:00:00z', '2024-05-01T10:00:00.000000Z'],
    ['2024-05-01T10:00:00.5Z', '2024-05-01T10:00:00.500000Z'],
    ['2024-05-01T10:00:00.123456Z', '2024-05-01T10:00:00.123456Z'],
    ['2024-05-01T10:00:00.1234569Z', '2024-05-01T10:00:00.123456Z'],
    ['2024-05-01T12:30:00+02:30', '2024-05-01T10:00:00.000000Z'],
    ['2024-05-01T00:30:00+01:00', '2024-04-30T23:30:00.000000Z'],
    ['2024-12-31T23:00:00-01:00', '2025-01-01T00:00:00.000000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000000Z'],
    ['0050-01-01T00:00:00Z', '0050-01-01T00:00:00.000000Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
    ['2024-05-01T10:00:00-00:00', '2024-05-01T10:00:00.000000Z'],
    // No offset: UTC (what the vendor's Python SDK sends).
    ['2024-05-01T10:00:00', '2024-05-01T10:00:00.000000Z'],
    ['2026-12-04T13:13:46.054917', '2026-12-04T13:13:46.054917Z'],
  ])('%s', (input, expected) => {
    expect(normalizeTimestamp(input)).toBe(expected);
  });

  test.each([
    '',
    '2024-05-01',
    '2024-05-01T10:00',
    '2024-05-01 10:00:00Z',
    '2024-5-1T10:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-00-01T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-05-01T24:00:00Z',
    '2024-05-01T10:60:00Z',
    '2024-05-01T23:59:60Z',
    '2024-05-01T10:00:00.Z',
    '2024-05-01T10:00:00+0200',
    '2024-05-01T10:00:00+24:00',
    '0000-01-01T00:00:00+00:01',
    '9999-12-31T23:59:59-00:01',
    ' 2024-05-01T10:00:00Z',
    'yesterday',
  ])('rejects %j', (input) => {
    expect(normalizeTimestamp(input)).toBeNull();
  });

  test('normalised text order is time order, and normalising is idempotent', () => {
    const instant = fc.date({ min: new Date('0001-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true });
    const offset = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 });
    const micros = fc.integer({ min: 0, max: 999 });
    const written = fc.tuple(instant, offset, micros).map(([date, minutes, extra]) => {
      // Write the instant in local time at `minutes` offset, with microsecond precision.
      const local = new Date(date.getTime() + minutes * 60_000).toISOString().slice(0, 23);
      const sign = minutes < 0 ? '-' : '+';
      const abs = Math.abs(minutes);
      const text = `${local}${String(extra).padStart(3, '0')}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
      return { text, micros: date.getTime() * 1000 + extra };
    });
    fc.assert(
      fc.property(written, written, (a, b) => {
        const na = normalizeTimestamp(a.text);
        const nb = normalizeTimestamp(b.text);
        expect(na).not.toBeNull();
        expect(nb).not.toBeNull();
        expect(normalizeTimestamp(na!)).toBe(na);
        expect(Math.sign(compareText(na!, nb!))).toBe(Math.sign(a.micros - b.micros));
      }),
    );
  });
});

describe('normalizeTimestampBound', () => {
  test('a full date is midnight UTC', () => {
    expect(normalizeTimestampBound('2024-05-01')).toBe('2024-05-01T00:00:00.000000Z');
  });
  test('a date-time is normalised', () => {
    expect(normalizeTimestampBound('2024-05-01T02:00:00+02:00')).toBe('2024-05-01T00:00:00.000000Z');
  });
  test('an impossible date is rejected', () => {
    expect(normalizeTimestampBound('2024-02-30')).toBeNull();
    expect(normalizeTimestampBound('2024-05')).toBeNull();
  });
});

/** Binary (code unit) comparison, as SQLite's BINARY collation does for these ASCII strings. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
