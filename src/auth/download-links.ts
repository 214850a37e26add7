// Download links the gateway hands out: `${PUBLIC_URL}/downloads/<token>`. The token is the bearer
// credential of the link (a browser GET cannot add an Authorization header), so it must be
// unguessable, unalterable, expiring and opaque: it holds the upstream's file URL (itself a
// capability that needs no authorization, and an internal address), which must never reach the
// client. Hence AES-256-GCM rather than a readable signed payload: the token is the sealed claims
// {upstream URL, caller id, tenant, format, expiry}; any altered byte fails the GCM tag.
//
// The key is derived (HKDF) from a secret the gateway keeps across restarts when it can (the
// cursor secret: CURSOR_SECRET, or <DATA_DIR>/cursor-secret), so links outlive a restart; with a
// per-process secret they stop working when the gateway restarts.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface DownloadClaims {
  /** The upstream's file URL (dest_url). */
  upstreamUrl: string;
  /** The caller the link was issued to. */
  callerId: string;
  /** The tenant the caller was bound to, if any. */
  tenantId: string | undefined;
  /** csv or json: names the file the browser saves. */
  format: string;
  /** When the link stops working (ms since epoch). */
  expiresAtMs: number;
}

export type OpenedLink = { ok: true; claims: DownloadClaims } | { ok: false; reason: 'invalid' | 'expired' };

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Far above a token holding a long presigned URL; anything longer is refused unread. */
const MAX_TOKEN_CHARS = 8192;
const AAD = Buffer.from('audit-gateway download link v1');

export class DownloadLinks {
  private readonly key: Buffer;

  constructor(secret: Buffer) {
    // A key of its own: a cursor HMAC and a link never share key material.
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'audit-gateway download links', 32));
  }

  seal(claims: DownloadClaims): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(AAD);
    const body = JSON.stringify({ u: claims.upstreamUrl, c: claims.callerId, t: claims.tenantId ?? null, f: claims.format, e: claims.expiresAtMs });
    const sealed = Buffer.concat([cipher.update(body, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  open(token: string, nowMs: number = Date.now()): OpenedLink {
    if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return { ok: false, reason: 'invalid' };
    const raw = Buffer.from(token, 'base64url');
    if (raw.length <= IV_BYTES + TAG_BYTES) return { ok: false, reason: 'invalid' };
    let text: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(AAD);
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    const body = JSON.parse(text) as { u: string; c: string; t: string | null; f: string; e: number };
    if (!(nowMs < body.e)) return { ok: false, reason: 'expired' };
    return { ok: true, claims: { upstreamUrl: body.u, callerId: body.c, tenantId: body.t ?? undefined, format: body.f, expiresAtMs: body.e } };
  }
}
