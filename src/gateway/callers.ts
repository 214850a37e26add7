// Caller authentication in "gateway keys" mode: API keys and JWTs (HS256 or EdDSA), each granting
// scopes and optionally binding the caller to one tenant. Keys are compared by their SHA-256, so
// the configuration may hold digests instead of the keys themselves.
import { createHash, createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { jwtVerify, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { Caller } from '../auth/caller.js';
import { AuthenticationError, CallerConfigError } from '../auth/errors.js';
import { parseScopes, type Scope } from '../auth/scopes.js';

interface ApiKeyEntry {
  id: string;
  digest: Buffer;
  scopes: ReadonlySet<Scope>;
  tenantId?: string;
}

interface JwtSettings {
  hs256Secret?: Uint8Array;
  eddsaKey?: KeyObject;
  issuer?: string;
  audience?: string;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The callers file (GATEWAY_KEYS_FILE) or inline JSON (GATEWAY_KEYS):
 * {
 *   "apiKeys": [{ "id": "billing", "key": "…" | "sha256": "<hex>", "scopes": ["audit:log"], "tenantId": "t1" }],
 *   "jwt": { "hs256Secret": "…", "eddsaPublicKey": "<SPKI PEM>", "issuer": "…", "audience": "…" }
 * }
 * JWT claims: `scope` (space-separated) or `scopes` (list), optional `tenant_id`, `sub` (required) as
 * the id, `exp` (required) as the caller's expiry.
 */
/**
 * What JSON.parse found, without the text it quotes: V8 quotes a piece of the input (`Unexpected
 * token 'x', "…" is not valid JSON`), and this input holds API keys and secrets, so only its
 * position is kept.
 */
function jsonSyntaxError(err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  const at = /\bat position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(message);
  if (!at) return 'a syntax error';
  return `a syntax error at position ${at[1]}${at[2] ? ` (line ${at[2]} column ${at[3]})` : ''}`;
}

export class CallerDirectory {
  private constructor(
    private readonly keys: ApiKeyEntry[],
    private readonly jwt: JwtSettings | undefined,
  ) {}

  static fromJson(text: string, origin: string): CallerDirectory {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new CallerConfigError(`${origin} is not valid JSON: ${jsonSyntaxError(err)}`);
    }
    const root = parsed as { apiKeys?: unknown; jwt?: unknown };
    if (root === null || typeof root !== 'object') throw new CallerConfigError(`${origin} must be a JSON object`);
    const keys: ApiKeyEntry[] = [];
    const seenIds = new Set<string>();
    for (const [i, raw] of ((root.apiKeys as unknown[] | undefined) ?? []).entries()) {
      const where = `${origin} apiKeys[${i}]`;
      const entry = raw as { id?: unknown; key?: unknown; sha256?: unknown; scopes?: unknown; tenantId?: unknown };
      if (typeof entry.id !== 'string' || entry.id === '') throw new CallerConfigError(`${where}: id is required`);
      if (seenIds.has(entry.id)) throw new CallerConfigError(`${where}: duplicate id "${entry.id}"`);
      seenIds.add(entry.id);
      let digest: Buffer;
      if (typeof entry.key === 'string' && entry.key.length >= 16) digest = sha256(entry.key);
      else if (typeof entry.sha256 === 'string' && /^[0-9a-f]{64}$/i.test(entry.sha256)) digest = Buffer.from(entry.sha256, 'hex');
      else throw new CallerConfigError(`${where}: needs "key" (at least 16 characters) or "sha256" (64 hex digits)`);
      if (entry.tenantId !== undefined && (typeof entry.tenantId !== 'string' || entry.tenantId === '')) {
        throw new CallerConfigError(`${where}: tenantId must be a non-empty string`);
      }
      keys.push({ id: entry.id, digest, scopes: parseScopes(entry.scopes, where), ...(entry.tenantId ? { tenantId: entry.tenantId } : {}) });
    }
    let jwt: JwtSettings | undefined;
    if (root.jwt !== undefined) {
      const j = root.jwt as { hs256Secret?: unknown; eddsaPublicKey?: unknown; issuer?: unknown; audience?: unknown };
      jwt = {};
      if (typeof j.hs256Secret === 'string') {
        if (j.hs256Secret.length < 32) throw new CallerConfigError(`${origin} jwt.hs256Secret must be at least 32 characters`);
        jwt.hs256Secret = new TextEncoder().encode(j.hs256Secret);
      }
      if (typeof j.eddsaPublicKey === 'string') {
        try {
          jwt.eddsaKey = createPublicKey(j.eddsaPublicKey);
        } catch (err) {
          throw new CallerConfigError(`${origin} jwt.eddsaPublicKey is not a PEM public key: ${(err as Error).message}`);
        }
      }
      if (!jwt.hs256Secret && !jwt.eddsaKey) throw new CallerConfigError(`${origin} jwt needs hs256Secret or eddsaPublicKey`);
      if (typeof j.issuer === 'string') jwt.issuer = j.issuer;
      if (typeof j.audience === 'string') jwt.audience = j.audience;
    }
    if (keys.length === 0 && !jwt) throw new CallerConfigError(`${origin} defines no apiKeys and no jwt: nobody could call the gateway`);
    return new CallerDirectory(keys, jwt);
  }

  static fromFile(path: string): CallerDirectory {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new CallerConfigError(`GATEWAY_KEYS_FILE ${path} cannot be read: ${(err as Error).message}`);
    }
    return CallerDirectory.fromJson(text, `GATEWAY_KEYS_FILE ${path}`);
  }

  /** Resolves a bearer credential (API key or JWT) to a caller; throws AuthenticationError. */
  async authenticate(credential: string): Promise<Caller> {
    if (this.jwt && credential.split('.').length === 3) return this.fromJwt(credential);
    const digest = sha256(credential);
    // Every entry is compared (no early exit), in constant time per comparison.
    let found: ApiKeyEntry | undefined;
    for (const entry of this.keys) if (timingSafeEqual(entry.digest, digest)) found = entry;
    if (!found) throw new AuthenticationError('unknown API key');
    return { id: `key:${found.id}`, scopes: found.scopes, ...(found.tenantId ? { tenantId: found.tenantId } : {}) };
  }

  private async fromJwt(token: string): Promise<Caller> {
    const jwt = this.jwt!;
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new AuthenticationError('malformed token');
    }
    const key = alg === 'HS256' ? jwt.hs256Secret : alg === 'EdDSA' || alg === 'Ed25519' ? jwt.eddsaKey : undefined;
    if (!key) throw new AuthenticationError(`tokens signed with ${alg ?? 'no algorithm'} are not accepted`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [alg!],
        ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
        ...(jwt.audience ? { audience: jwt.audience } : {}),
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw new AuthenticationError(`token rejected: ${(err as Error).message}`);
    }
    let scopes: Set<Scope>;
    try {
      scopes = parseScopes(payload.scopes ?? payload.scope, 'token');
    } catch (err) {
      throw new AuthenticationError((err as Error).message);
    }
    const tenant = payload.tenant_id;
    if (tenant !== undefined && (typeof tenant !== 'string' || tenant === '')) throw new AuthenticationError('token tenant_id must be a non-empty string');
    // The subject is the caller's id, and ids own jobs: tokens without one would all be one caller.
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthenticationError('token has no sub claim: it must name its caller (a non-empty string)');
    // jwtVerify has checked that exp is present, a number, and in the future.
    return { id: `jwt:${payload.sub}`, scopes, ...(tenant ? { tenantId: tenant } : {}), expiresAt: payload.exp! * 1000 };
  }
}

/** The bearer credential of a request, or undefined. */
export function bearerCredential(request: Request): string | undefined {
  const header = request.headers.get('authorization');
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}
