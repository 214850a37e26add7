// Unit tests of the connection cursor codec (src/graphql/cursor.ts): round trips, every single
// character changed, another gateway's secret, and bodies that carry a valid MAC but are not a
// cursor payload (malformed base64 or JSON, wrong shapes, negative or unsafe offsets, oversized).
import { createHmac } from 'node:crypto';
import { CursorCodec, InvalidCursorError, type CursorPayload } from '../../src/graphql/cursor.js';

const SECRET = Buffer.from('test-secret', 'utf8');
const codec = new CursorCodec(SECRET);

/** A cursor with a valid MAC around any body text (what only the secret's holder can make). */
function forge(body: string, secret = SECRET): string {
  const mac = createHmac('sha256', secret).update(body).digest('base64url').slice(0, 22);
  return `c1.${body}.${mac}`;
}

const forgeJson = (value: unknown): string => forge(Buffer.from(JSON.stringify(value)).toString('base64url'));

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
    expect(cursor).toMatch(/^c1\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/);
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

  test('each part: version, body and MAC', () => {
    const cursor = codec.encode(PAYLOADS[0]!);
    const [, body, mac] = cursor.split('.') as [string, string, string];
    rejects(`c2.${body}.${mac}`, /not one this gateway issued/);
    rejects(`.${body}.${mac}`, /not one this gateway issued/);
    rejects(`c1.${body}`, /not one this gateway issued/);
    rejects(`c1.${body}.${mac}.extra`, /not one this gateway issued/);
    rejects(`${body}.${mac}`, /not one this gateway issued/);
    // The body of another cursor under this MAC, and this body under another MAC.
    const other = codec.encode(PAYLOADS[1]!).split('.') as [string, string, string];
    rejects(`c1.${other[1]}.${mac}`, /altered/);
    rejects(`c1.${body}.${other[2]}`, /altered/);
    // A MAC of the wrong length (shorter, longer, empty) is refused without throwing anything else.
    rejects(`c1.${body}.${mac.slice(0, 21)}`, /altered/);
    rejects(`c1.${body}.${mac}A`, /altered/);
    rejects(`c1.${body}.`, /altered/);
    // A body re-encoded as standard base64 (same bytes, other text) is not the signed text.
    const standard = Buffer.from(body, 'base64url').toString('base64');
    if (standard !== body) rejects(`c1.${standard}.${mac}`, /altered/);
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

  test('the forge helper matches the codec (so the malformed cases below test decoding, not the MAC)', () => {
    expect(forgeJson(['pas_a', 3, 'scope'])).toBe(codec.encode({ resultId: 'pas_a', offset: 3, scope: 'scope' }));
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

  test('oversized cursors are refused before any MAC or JSON work, even when well signed', () => {
    const big = forgeJson(['pas_a', 1, 'x'.repeat(2000)]);
    expect(big.length).toBeGreaterThan(1024);
    rejects(big, /not one this gateway issued/);
    rejects('c1.' + 'A'.repeat(5000) + '.' + 'B'.repeat(22), /not one this gateway issued/);
    // Just under the limit is fine.
    const scope = 'y'.repeat(700);
    const fits = codec.encode({ resultId: 'pas_a', offset: 1, scope });
    expect(fits.length).toBeLessThanOrEqual(1024);
    expect(codec.decode(fits).scope).toBe(scope);
  });

  test('garbage strings are refused with InvalidCursorError, never another error', () => {
    for (const garbage of ['', '.', '..', '...', 'c1', 'c1..', 'c1...', '\u0000', 'c1.\u00ff.\u00ff', 'c1.🙂.🙂', ' c1.a.b', 'null', '{}']) {
      rejects(garbage);
    }
  });
});
