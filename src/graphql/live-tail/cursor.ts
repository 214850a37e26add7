// Live-tail resume cursors: a watcher position (an instant and the keys of the events delivered at
// it) signed with the gateway's connection cursor codec, so that it is bounded like every other
// cursor the gateway reads. Resuming drops the events whose keys the cursor carries; one that
// carries them all neither repeats nor skips an event.
import { InvalidCursorError, MAX_CURSOR_CHARS, type CursorCodec } from '../cursor.js';
import { EVENT_KEY_CHARS, eventKey, type TailPosition } from './watcher.js';

/**
 * Keys a cursor carries: those of the last events delivered at its instant. With a received_at of
 * up to 32 characters (RFC 3339, microseconds, a numeric offset) the cursor stays within
 * MAX_CURSOR_CHARS. When more events share the instant, resuming delivers the earlier ones again:
 * a repeat, never a gap.
 */
export const MAX_CURSOR_KEYS = 56;

/** Between the instant and the packed keys; never in a timestamp or in base64url. */
const KEYS_MARK = '#';

export function encodeTailCursor(codec: CursorCodec, scope: string, position: TailPosition): string {
  let keys = position.keys.slice(-MAX_CURSOR_KEYS);
  for (;;) {
    const cursor = codec.encode({ resultId: position.receivedAt + KEYS_MARK + keys.join(''), offset: 0, scope });
    // Only an upstream received_at far longer than a timestamp gets here: fewer keys, so the
    // cursor is still one the gateway reads back.
    if (cursor.length <= MAX_CURSOR_CHARS || keys.length === 0) return cursor;
    keys = keys.slice(1);
  }
}

/** The position of a cursor encodeTailCursor made for `scope`; anything else is an InvalidCursorError. */
export function decodeTailCursor(codec: CursorCodec, scope: string, cursor: string): TailPosition {
  const payload = codec.decode(cursor);
  if (payload.scope !== scope) throw new InvalidCursorError('cursor belongs to another live tail; pass the same query and searchRestriction');
  const mark = payload.resultId.indexOf(KEYS_MARK);
  if (mark < 0) {
    // `instant|hash|hash…`, full hashes: still read, so a client resuming across an upgrade keeps its place.
    const [receivedAt, ...hashes] = payload.resultId.split('|');
    return { receivedAt: receivedAt!, keys: hashes.map(eventKey) };
  }
  const packed = payload.resultId.slice(mark + 1);
  if (packed.length % EVENT_KEY_CHARS !== 0) throw new InvalidCursorError('cursor is malformed');
  const keys: string[] = [];
  for (let at = 0; at < packed.length; at += EVENT_KEY_CHARS) keys.push(packed.slice(at, at + EVENT_KEY_CHARS));
  return { receivedAt: payload.resultId.slice(0, mark), keys };
}
