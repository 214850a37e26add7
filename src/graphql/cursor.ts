// Opaque connection cursors: which result set, which offset, for which query and upstream, with an
// HMAC so a tampered or forged cursor is refused instead of paging someone else's results.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface CursorPayload {
  /** The upstream result set id (pas_…). */
  resultId: string;
  /** Offset of the edge in the result set. */
  offset: number;
  /** Identifies what the set answers (the search arguments, or "results"), so a cursor cannot be reused for another query. */
  scope: string;
}

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

const VERSION = 'c1';

export class CursorCodec {
  constructor(private readonly secret: Buffer) {}

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 22);
  }

  encode(payload: CursorPayload): string {
    const body = Buffer.from(JSON.stringify([payload.resultId, payload.offset, payload.scope])).toString('base64url');
    return `${VERSION}.${body}.${this.mac(body)}`;
  }

  /** Decodes a cursor this gateway issued; anything else is an InvalidCursorError. */
  decode(cursor: string): CursorPayload {
    const parts = cursor.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION || cursor.length > 1024) throw new InvalidCursorError('cursor is not one this gateway issued');
    const [, body, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new InvalidCursorError('cursor has been altered or was issued by another gateway');
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new InvalidCursorError('cursor is malformed');
    }
    if (!Array.isArray(decoded)) throw new InvalidCursorError('cursor is malformed');
    const [resultId, offset, scope] = decoded as unknown[];
    if (typeof resultId !== 'string' || typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || typeof scope !== 'string') {
      throw new InvalidCursorError('cursor is malformed');
    }
    return { resultId, offset, scope };
  }
}
