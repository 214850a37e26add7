// Sealed tokens: a JSON value encrypted and authenticated (AES-256-GCM) under a key derived (HKDF)
// from a gateway secret, one key per purpose. Any altered byte fails the GCM tag, and the content
// stays opaque to the holder: used for download links and for request handles.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Far above any token the gateway makes; anything longer is refused unread. */
const MAX_TOKEN_CHARS = 8192;

export class SealedBox {
  private readonly key: Buffer;
  private readonly aad: Buffer;

  /** `keyInfo` separates keys per purpose: tokens of one purpose never open as another's. */
  constructor(secret: Buffer, keyInfo: string, aad: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), keyInfo, 32));
    this.aad = Buffer.from(aad);
  }

  seal(value: unknown): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(this.aad);
    const sealed = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  /** The sealed value, or undefined for anything this box did not seal. */
  open(token: string): unknown {
    if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(this.aad);
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return JSON.parse(Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }
}
