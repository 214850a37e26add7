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
import { SealedBox } from './sealed.js';

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

export class DownloadLinks {
  private readonly box: SealedBox;

  constructor(secret: Buffer) {
    // A key of its own: a cursor HMAC, a request handle and a link never share key material.
    this.box = new SealedBox(secret, 'audit-gateway download links', 'audit-gateway download link v1');
  }

  seal(claims: DownloadClaims): string {
    return this.box.seal({ u: claims.upstreamUrl, c: claims.callerId, t: claims.tenantId ?? null, f: claims.format, e: claims.expiresAtMs });
  }

  open(token: string, nowMs: number = Date.now()): OpenedLink {
    const body = this.box.open(token) as { u: string; c: string; t: string | null; f: string; e: number } | undefined;
    if (body === undefined) return { ok: false, reason: 'invalid' };
    if (!(nowMs < body.e)) return { ok: false, reason: 'expired' };
    return { ok: true, claims: { upstreamUrl: body.u, callerId: body.c, tenantId: body.t ?? undefined, format: body.f, expiresAtMs: body.e } };
  }
}
