// Opaque connection cursors: which result set, which offset, for which query and upstream, with an
// HMAC so a tampered or forged cursor is refused instead of paging someone else's results.
//
// One MAC covers a window of offsets (the page the cursors were handed out with) and each cursor
// names its position in that window: a page's 20 cursors cost one HMAC instead of 20 (the MACs
// were the largest single cost of a warm page). A cursor whose position is changed to another in
// the same window is one of the cursors its holder was given; one outside the window is refused.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface CursorPayload {
  /** The upstream result set id (pas_…). */
  resultId: string;
  /** Offset of the edge in the result set. */
  offset: number;
  /** Identifies what the set answers (the search arguments, or "results"), so a cursor cannot be reused for another query. */
  scope: string;
}

/** The offsets start..start+count-1 of one result set, for one scope. */
export interface CursorWindow {
  resultId: string;
  scope: string;
  start: number;
  count: number;
}

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

/** A window's cursors: `c2.<window>.<mac>.<position>`. */
const VERSION = 'c2';
/** One cursor per offset, MAC'd each: still read, so cursors handed out before an upgrade keep paging. */
const SINGLE_VERSION = 'c1';
/** Longer cursors are refused unread (before any MAC is computed). */
export const MAX_CURSOR_CHARS = 1024;
const POSITION = /^(0|[1-9][0-9]{0,8})$/;

export class CursorCodec {
  constructor(private readonly secret: Buffer) {}

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 22);
  }

  /** The cursors of a window, by offset (start <= offset < start + count). */
  window(window: CursorWindow): (offset: number) => string {
    const { resultId, scope, start, count } = window;
    if (!isOffset(start) || !isOffset(count) || !windowFits(start, count)) {
      throw new RangeError(`not a cursor window: start ${start}, count ${count}`);
    }
    const body = Buffer.from(JSON.stringify([resultId, start, count, scope])).toString('base64url');
    const prefix = `${VERSION}.${body}.${this.mac(body)}.`;
    return (offset) => {
      if (!Number.isSafeInteger(offset) || offset < start || offset >= start + count) throw new RangeError(`offset ${offset} is outside the cursor window ${start}..${start + count - 1}`);
      return prefix + String(offset - start);
    };
  }

  /** The cursor of one offset (a window of one). */
  encode(payload: CursorPayload): string {
    return this.window({ resultId: payload.resultId, scope: payload.scope, start: payload.offset, count: 1 })(payload.offset);
  }

  /** Decodes a cursor this gateway issued; anything else is an InvalidCursorError. */
  decode(cursor: string): CursorPayload {
    if (cursor.length > MAX_CURSOR_CHARS) throw new InvalidCursorError('cursor is not one this gateway issued');
    const parts = cursor.split('.');
    if (parts.length === 4 && parts[0] === VERSION) return this.decodeWindowed(parts[1]!, parts[2]!, parts[3]!);
    if (parts.length === 3 && parts[0] === SINGLE_VERSION) return this.decodeSingle(parts[1]!, parts[2]!);
    throw new InvalidCursorError('cursor is not one this gateway issued');
  }

  private decodeWindowed(body: string, mac: string, position: string): CursorPayload {
    this.checkMac(body, mac);
    if (!POSITION.test(position)) throw new InvalidCursorError('cursor is malformed');
    const [resultId, start, count, scope] = this.payload(body);
    const index = Number(position);
    if (!isOffset(start) || !isOffset(count) || !windowFits(start, count) || typeof resultId !== 'string' || typeof scope !== 'string') {
      throw new InvalidCursorError('cursor is malformed');
    }
    if (index >= count) throw new InvalidCursorError('cursor has been altered or was issued by another gateway');
    return { resultId, offset: start + index, scope };
  }

  private decodeSingle(body: string, mac: string): CursorPayload {
    this.checkMac(body, mac);
    const [resultId, offset, scope] = this.payload(body);
    if (typeof resultId !== 'string' || !isOffset(offset) || typeof scope !== 'string') throw new InvalidCursorError('cursor is malformed');
    return { resultId, offset, scope };
  }

  private checkMac(body: string, mac: string): void {
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new InvalidCursorError('cursor has been altered or was issued by another gateway');
    }
  }

  /** The signed body's JSON array (only reached with a valid MAC). */
  private payload(body: string): unknown[] {
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new InvalidCursorError('cursor is malformed');
    }
    if (!Array.isArray(decoded)) throw new InvalidCursorError('cursor is malformed');
    return decoded as unknown[];
  }
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** At least one offset, the last of them still a safe integer (compared so that no sum rounds). */
function windowFits(start: number, count: number): boolean {
  return count >= 1 && count - 1 <= Number.MAX_SAFE_INTEGER - start;
}
