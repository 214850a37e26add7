// Unit tests of the connection cursor codec (src/graphql/cursor.ts): round trips, windows of
// cursors under one MAC, every single character changed, another gateway's secret, and bodies
// that carry a valid MAC but are not a cursor payload (malformed base64 or JSON, wrong shapes,
// negative or unsafe offsets, positions outside the window, oversized). The single-offset `c1`
// cursors of earlier versions are still read.
import { createHmac } from 'node:crypto';
import { CursorCodec, InvalidCursorError, type CursorPayload } from '../../src/graphql/cursor.js';

const SECRET = Buffer.from('test-secret', 'utf8');
const codec = new CursorCodec(SECRET);

const macOf = (body: string, secret = SECRET): string => createHmac('sha256', secret).update(body).digest('base64url').slice(0, 22);

/** A single-offset (c1) cursor with a valid MAC around any body text (what only the secret's holder can make). */
function forge(body: string, secret = SECRET): string {
  return `c1.${body}.${macOf(body, secret)}`;
}

const forgeJson = (value: unknown): string => forge(Buffer.from(JSON.stringify(value)).toString('base64url'));

/** A window (c2) cursor with a valid MAC around any window payload, at any position text. */
function forgeWindow(value: unknown, position: string): string {
  const body = Buffer.from(JSON.stringify(value)).toString('base64url');
  return `c2.${body}.${macOf(body)}.${position}`;
}

function rejects(cursor: string, message?: RegExp): void {
  let thrown: unknown;
  try {
    codec.decode(cursor);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(InvalidCursorError);
  expect((thrown as Error).name).toBe('InvalidCursorError');
  if (message) expect((thrown as Error).message).toMatch(message);
}

const PAYLOADS: CursorPayload[] = [
  { resultId: 'pas_abc123', offset: 0, scope: 'search:AbCdEf0123456789' },
  { resultId: 'pas_x', offset: 999, scope: 'results:pas_x' },
  { resultId: '', offset: Number.MAX_SAFE_INTEGER, scope: '' },
  { resultId: 'pas_ünïcødé/+=.', offset: 42, scope: 'search:"quoted" \\ and . dots' },
];

describe('CursorCodec', () => {
  test.each(PAYLOADS)('round trips %j', (payload) => {
    const cursor = codec.encode(payload);
    expect(cursor).toMatch(/^c2\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}\.0$/);
    expect(codec.decode(cursor)).toEqual(payload);
    // Deterministic: the same payload always gives the same cursor.
    expect(codec.encode(payload)).toBe(cursor);
    // Another codec with the same secret (a restarted gateway) reads it.
    expect(new CursorCodec(Buffer.from('test-secret')).decode(cursor)).toEqual(payload);
  });

  test('cursors of different payloads differ', () => {
    const cursors = new Set(PAYLOADS.map((p) => codec.encode(p)));
    expect(cursors.size).toBe(PAYLOADS.length);
    expect(codec.encode({ ...PAYLOADS[0]!, offset: 1 })).not.toBe(codec.encode(PAYLOADS[0]!));
  });

  test('changing any single character of a cursor is detected', () => {
    for (const payload of PAYLOADS) {
      const cursor = codec.encode(payload);
      for (let i = 0; i < cursor.length; i++) {
        for (const replacement of ['A', '_', '.', '=']) {
          if (cursor[i] === replacement) continue;
          const tampered = cursor.slice(0, i) + replacement + cursor.slice(i + 1);
          rejects(tampered);
        }
      }
    }
  });

  test('each part: version, body, MAC and position', () => {
    const cursor = codec.encode(PAYLOADS[0]!);
    const [, body, mac, position] = cursor.split('.') as [string, string, string, string];
    rejects(`c3.${body}.${mac}.${position}`, /not one this gateway issued/);
    rejects(`c1.${body}.${mac}.${position}`, /not one this gateway issued/);
    rejects(`c2.${body}.${mac}`, /not one this gateway issued/);
    rejects(`.${body}.${mac}.${position}`, /not one this gateway issued/);
    rejects(`c2.${body}.${mac}.${position}.extra`, /not one this gateway issued/);
    rejects(`${body}.${mac}.${position}`, /not one this gateway issued/);
    // The body of another cursor under this MAC, and this body under another MAC.
    const other = codec.encode(PAYLOADS[1]!).split('.') as [string, string, string, string];
    rejects(`c2.${other[1]}.${mac}.${position}`, /altered/);
    rejects(`c2.${body}.${other[2]}.${position}`, /altered/);
    // A MAC of the wrong length (shorter, longer, empty) is refused without throwing anything else.
    rejects(`c2.${body}.${mac.slice(0, 21)}.${position}`, /altered/);
    rejects(`c2.${body}.${mac}A.${position}`, /altered/);
    rejects(`c2.${body}..${position}`, /altered/);
    // A body re-encoded as standard base64 (same bytes, other text) is not the signed text.
    const standard = Buffer.from(body, 'base64url').toString('base64');
    if (standard !== body) rejects(`c2.${standard}.${mac}.${position}`, /altered/);
    // A position past the window (of one) is not one the gateway handed out.
    rejects(`c2.${body}.${mac}.1`, /altered/);
  });

  test('a cursor made with another secret (another gateway) is refused', () => {
    const foreign = new CursorCodec(Buffer.from('another-secret')).encode(PAYLOADS[0]!);
    rejects(foreign, /another gateway|altered/);
    rejects(forge(foreign.split('.')[1]!, Buffer.from('another-secret')), /altered/);
    // A prefix or an extension of the secret is another secret. (Not trailing NUL bytes: HMAC
    // zero-pads short keys, so "k" and "k\0" are the same key.)
    rejects(new CursorCodec(Buffer.from('test-secre')).encode(PAYLOADS[0]!));
    rejects(new CursorCodec(Buffer.from('test-secret2')).encode(PAYLOADS[0]!));
  });

  test('the forge helpers match the codec (so the malformed cases below test decoding, not the MAC)', () => {
    expect(forgeWindow(['pas_a', 3, 1, 'scope'], '0')).toBe(codec.encode({ resultId: 'pas_a', offset: 3, scope: 'scope' }));
    expect(forgeWindow(['pas_a', 3, 5, 'scope'], '4')).toBe(codec.window({ resultId: 'pas_a', scope: 'scope', start: 3, count: 5 })(7));
    // Single-offset cursors of earlier versions are still read.
    expect(codec.decode(forgeJson(['pas_a', 3, 'scope']))).toEqual({ resultId: 'pas_a', offset: 3, scope: 'scope' });
  });

  test('malformed base64 or JSON under a valid MAC is refused as malformed', () => {
    rejects(forge(''), /malformed/);
    rejects(forge('!!!!'), /malformed/); // not base64url at all: decodes to nothing
    rejects(forge(Buffer.from('not json').toString('base64url')), /malformed/);
    rejects(forge(Buffer.from('["pas_a", 1, "s"').toString('base64url')), /malformed/);
    rejects(forge(Buffer.from([0xff, 0xfe, 0x00, 0x80]).toString('base64url')), /malformed/);
    rejects(forge('eyJ'), /malformed/); // a truncated base64 JSON object
  });

  test.each([
    ['an object instead of an array', { resultId: 'pas_a', offset: 1, scope: 's' }],
    ['null', null],
    ['a string', 'pas_a'],
    ['an empty array', []],
    ['a missing scope', ['pas_a', 1]],
    ['a numeric result id', [12, 1, 's']],
    ['a string offset', ['pas_a', '1', 's']],
    ['a null offset', ['pas_a', null, 's']],
    ['a negative offset', ['pas_a', -1, 's']],
    ['a fractional offset', ['pas_a', 1.5, 's']],
    ['an unsafe offset', ['pas_a', Number.MAX_SAFE_INTEGER + 1, 's']],
    ['an exponent offset beyond safe integers', ['pas_a', 1e300, 's']],
    ['a numeric scope', ['pas_a', 1, 7]],
  ])('a well-signed payload with %s is refused as malformed', (_label, value) => {
    rejects(forgeJson(value), /malformed/);
  });

  test('extra array elements are ignored only because they are signed; the three fields are what count', () => {
    // Not a cursor the codec makes, but a signed one: decoding reads the three fields.
    expect(codec.decode(forgeJson(['pas_a', 2, 's', 'extra']))).toEqual({ resultId: 'pas_a', offset: 2, scope: 's' });
  });

  test.each([
    ['an object instead of an array', { resultId: 'pas_a', start: 1, count: 2, scope: 's' }],
    ['a missing scope', ['pas_a', 1, 2]],
    ['a numeric result id', [12, 1, 2, 's']],
    ['a string start', ['pas_a', '1', 2, 's']],
    ['a negative start', ['pas_a', -1, 2, 's']],
    ['a fractional count', ['pas_a', 1, 1.5, 's']],
    ['an empty window', ['pas_a', 1, 0, 's']],
    ['a window past the safe integers', ['pas_a', Number.MAX_SAFE_INTEGER, 2, 's']],
    ['a window ending at the largest safe integer is fine only as an offset of one', ['pas_a', Number.MAX_SAFE_INTEGER - 1, 3, 's']],
    ['a numeric scope', ['pas_a', 1, 2, 7]],
  ])('a well-signed window with %s is refused as malformed', (_label, value) => {
    rejects(forgeWindow(value, '0'), /malformed/);
  });


  test('a window: one MAC, every offset of the window and none other', () => {
    const window = { resultId: 'pas_w', scope: 'search:w', start: 40, count: 20 };
    const cursorAt = codec.window(window);
    const cursors = Array.from({ length: 20 }, (_, i) => cursorAt(40 + i));
    expect(new Set(cursors).size).toBe(20);
    cursors.forEach((cursor, i) => {
      expect(cursor).toMatch(new RegExp(`^c2\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{22}\\.${i}$`));
      expect(codec.decode(cursor)).toEqual({ resultId: 'pas_w', offset: 40 + i, scope: 'search:w' });
    });
    // The same window always gives the same cursors; another window (even overlapping) other ones.
    expect(codec.window(window)(45)).toBe(cursors[5]);
    expect(codec.window({ ...window, start: 41, count: 19 })(45)).not.toBe(cursors[5]);
    expect(codec.window({ ...window, start: 41, count: 19 })(45).split('.')[2]).not.toBe(cursors[5]!.split('.')[2]);
    // Only the offsets of the window can be asked for.
    expect(() => cursorAt(39)).toThrow(RangeError);
    expect(() => cursorAt(60)).toThrow(RangeError);
    expect(() => cursorAt(40.5)).toThrow(RangeError);
    expect(() => codec.window({ ...window, count: 0 })).toThrow(RangeError);
    expect(() => codec.window({ ...window, start: -1 })).toThrow(RangeError);
    // A position beyond the window is refused; within it, it names an offset the holder was given.
    const prefix = cursors[0]!.slice(0, cursors[0]!.lastIndexOf('.') + 1);
    for (const position of ['20', '21', '100', '999999999']) rejects(prefix + position, /altered/);
    expect(codec.decode(prefix + '19')).toEqual({ resultId: 'pas_w', offset: 59, scope: 'search:w' });
    // Positions are canonical decimal numbers.
    for (const position of ['', '01', '+1', '-1', '-0', '1e1', '0x1', ' 1', '1 ', '1.0', '٣', '1234567890']) rejects(prefix + position, /malformed|altered|not one this gateway issued/);
  });

  test('oversized cursors are refused before any MAC or JSON work, even when well signed', () => {
    const big = forgeJson(['pas_a', 1, 'x'.repeat(2000)]);
    expect(big.length).toBeGreaterThan(1024);
    rejects(big, /not one this gateway issued/);
    rejects('c1.' + 'A'.repeat(5000) + '.' + 'B'.repeat(22), /not one this gateway issued/);
    rejects(forgeWindow(['pas_a', 1, 1, 'x'.repeat(2000)], '0'), /not one this gateway issued/);
    // Just under the limit is fine.
    const scope = 'y'.repeat(700);
    const fits = codec.encode({ resultId: 'pas_a', offset: 1, scope });
    expect(fits.length).toBeLessThanOrEqual(1024);
    expect(codec.decode(fits).scope).toBe(scope);
  });

  test('garbage strings are refused with InvalidCursorError, never another error', () => {
    for (const garbage of ['', '.', '..', '...', 'c1', 'c1..', 'c1...', 'c2...', 'c2....', '\u0000', 'c1.\u00ff.\u00ff', 'c1.🙂.🙂', 'c2.🙂.🙂.0', ' c1.a.b', ' c2.a.b.0', 'null', '{}']) {
      rejects(garbage);
    }
  });
});
