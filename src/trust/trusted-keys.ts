// The public keys allowed to sign events (TRUSTED_SIGNING_KEYS_FILE). A valid signature proves
// only that the event matches the key stored beside it, and whoever can write the log can store
// any key; with a list configured, a valid signature by a key not on it is a FAIL.
//
// The file is one JSON object with three optional members, and nothing else:
//   {
//     "keys":    ["<public key>", ...],
//     "tenants": { "<tenant_id>": ["<public key>", ...], ... },
//     "requireSignatures": true | ["<tenant_id>", ...]
//   }
// A key under "keys" is trusted for every event; a key under "tenants"["T"] only for events whose
// tenant_id field is the string "T". A public key is any form an event's public_key may take: the
// key-info JSON string {"algorithm":"ED25519","key":"<SPKI PEM>"} (or that object itself), an SPKI
// PEM, base64 of the SPKI DER, or base64 of the raw 32 bytes. Keys are compared by their raw 32
// bytes, so the file and the events need not use the same form. Every key must pass the signature
// rules of src/merkle (a key that could never verify anything is a mistake in the file). Empty
// lists, or no members at all, are allowed and mean that no key in the file is trusted. The FAIL
// reason names the key as base64 of its raw 32 bytes, ready to be added to the file if it should
// have been trusted.
//
// Keys alone cannot catch an insider who rewrites stored events and simply leaves them unsigned
// (an unsigned event's signature check is NONE, which does not fail a verdict). Where every event
// is signed, "requireSignatures" says so: true for every event, or a list of the tenant_ids whose
// events must be signed. An unsigned event it covers is then a signature FAIL.
import { readFileSync } from 'node:fs';
import { checkPublicKeyBytes } from '../merkle/ed25519-rules.js';
import { fail, parsePublicKey, type Verification } from '../merkle/index.js';

const UNTRUSTED_KEY = 'signed by an untrusted key';

const MEMBERS = ['keys', 'tenants', 'requireSignatures'];

const keyId = (raw: Uint8Array): string => Buffer.from(raw).toString('base64');
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

/** The raw 32 bytes of a public key in any accepted form, or why it is not usable. */
function rawKey(value: unknown): { ok: true; raw: Uint8Array } | { ok: false; reason: string } {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) text = JSON.stringify(value);
  else return { ok: false, reason: 'must be a public key (a string, or a key-info object)' };
  const parsed = parsePublicKey(text);
  if (!parsed.ok) return { ok: false, reason: `is not an Ed25519 public key: ${parsed.reason}` };
  const checked = checkPublicKeyBytes(parsed.key);
  if (!checked.ok) return { ok: false, reason: `is not a usable Ed25519 public key: ${checked.reason}` };
  return { ok: true, raw: checked.key.bytes };
}

function keyList(value: unknown, where: string, source: string): Set<string> {
  if (!Array.isArray(value)) throw new Error(`${source}: ${where} must be a list of public keys`);
  const ids = new Set<string>();
  value.forEach((entry, i) => {
    const key = rawKey(entry);
    if (!key.ok) throw new Error(`${source}: ${where}[${i}] ${key.reason}`);
    ids.add(keyId(key.raw));
  });
  return ids;
}

export class TrustedKeys {
  private constructor(
    /** Base64 of the raw keys trusted for every event. */
    private readonly everyTenant: ReadonlySet<string>,
    /** Base64 of the raw keys trusted for one tenant's events, by tenant_id. */
    private readonly byTenant: ReadonlyMap<string, ReadonlySet<string>>,
    /** Events that must be signed: all of them, or those of these tenant_ids. */
    private readonly signaturesRequired: true | ReadonlySet<string> = new Set(),
  ) {}

  /** See parseTrustedKeys. */
  static fromJson(json: unknown, source: string): TrustedKeys {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new Error(`${source} must be a JSON object with "keys", "tenants" and/or "requireSignatures"`);
    }
    const doc = json as Record<string, unknown>;
    for (const member of Object.keys(doc)) {
      if (!MEMBERS.includes(member)) throw new Error(`${source}: unknown member ${JSON.stringify(member)} (expected "keys", "tenants" and/or "requireSignatures")`);
    }
    const everyTenant = doc.keys === undefined ? new Set<string>() : keyList(doc.keys, 'keys', source);
    const byTenant = new Map<string, Set<string>>();
    if (doc.tenants !== undefined) {
      const tenants = doc.tenants;
      if (tenants === null || typeof tenants !== 'object' || Array.isArray(tenants)) {
        throw new Error(`${source}: "tenants" must be an object mapping tenant ids to lists of public keys`);
      }
      for (const [tenant, keys] of Object.entries(tenants)) {
        if (tenant === '') throw new Error(`${source}: "tenants" has an empty tenant id`);
        byTenant.set(tenant, keyList(keys, `tenants[${JSON.stringify(tenant)}]`, source));
      }
    }
    return new TrustedKeys(everyTenant, byTenant, requiredSignatures(doc.requireSignatures, source));
  }

  /** Whether an event of `tenantId` must carry a signature (requireSignatures). */
  requiresSignature(tenantId: string | undefined): boolean {
    if (this.signaturesRequired === true) return true;
    return typeof tenantId === 'string' && this.signaturesRequired.has(tenantId);
  }

  /** Whether the key (in any accepted form) may sign events of `tenantId`. Never throws. */
  isTrusted(publicKey: string, tenantId: string | undefined): boolean {
    if (typeof publicKey !== 'string') return false;
    const parsed = parsePublicKey(publicKey);
    if (!parsed.ok) return false;
    const id = keyId(parsed.key);
    if (this.everyTenant.has(id)) return true;
    return typeof tenantId === 'string' && this.byTenant.get(tenantId)?.has(id) === true;
  }

  /**
   * A copy that also trusts this key for every tenant: the gateway's own signing key, whose
   * events must not fail for want of a line in the file. Throws on a key that is not usable.
   */
  withKey(rawOrAnyForm: string | Uint8Array): TrustedKeys {
    let raw: Uint8Array;
    if (rawOrAnyForm instanceof Uint8Array) {
      const checked = checkPublicKeyBytes(rawOrAnyForm);
      if (!checked.ok) throw new TypeError(`cannot trust this key: ${checked.reason}`);
      raw = checked.key.bytes;
    } else {
      const key = rawKey(rawOrAnyForm);
      if (!key.ok) throw new TypeError(`cannot trust this key: it ${key.reason}`);
      raw = key.raw;
    }
    return new TrustedKeys(new Set([...this.everyTenant, keyId(raw)]), this.byTenant, this.signaturesRequired);
  }

  /** How many keys are trusted for every tenant, and how many tenants have keys of their own. */
  get summary(): { everyTenant: number; tenants: number } {
    return { everyTenant: this.everyTenant.size, tenants: [...this.byTenant.values()].filter((keys) => keys.size > 0).length };
  }
}

function requiredSignatures(value: unknown, source: string): true | Set<string> {
  if (value === undefined || value === false) return new Set();
  if (value === true) return true;
  if (!Array.isArray(value) || value.some((tenant) => typeof tenant !== 'string' || tenant === '')) {
    throw new Error(`${source}: "requireSignatures" must be true, false or a list of tenant ids`);
  }
  return new Set(value as string[]);
}

/**
 * Reads the trusted-keys document (already parsed from JSON). `source` names it in errors, each
 * of which is one line saying which member or entry is wrong and why.
 */
export function parseTrustedKeys(json: unknown, source: string): TrustedKeys {
  return TrustedKeys.fromJson(json, source);
}

/** Reads TRUSTED_SIGNING_KEYS_FILE; throws a one-line Error naming the file and the problem. */
export function loadTrustedKeys(path: string): TrustedKeys {
  const source = `TRUSTED_SIGNING_KEYS_FILE ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${source} cannot be read: ${oneLine((err as Error).message)}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not valid JSON: ${oneLine((err as Error).message)}`, { cause: err });
  }
  return parseTrustedKeys(json, source);
}

function tenantOf(event: unknown): string | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const tenant = (event as { tenant_id?: unknown }).tenant_id;
  return typeof tenant === 'string' ? tenant : undefined;
}

/**
 * Turns a passing signature check into a FAIL when the key that made it is not trusted for the
 * event's tenant_id, and a NONE (unsigned) into a FAIL when requireSignatures covers the event.
 * Anything else (no list configured, FAIL) is returned unchanged. Never
 * throws: input too malformed to judge, behind a PASS, fails closed.
 */
export function applyKeyTrust(
  verification: Verification,
  input: { event: unknown; publicKey: unknown },
  trusted: TrustedKeys | undefined,
): Verification {
  if (trusted === undefined) return verification;
  if (verification?.status === 'NONE') {
    const tenant = tenantOf(input?.event);
    if (!trusted.requiresSignature(tenant)) return verification;
    return fail(`the event is unsigned, but TRUSTED_SIGNING_KEYS_FILE requires ${tenant === undefined || trusted.requiresSignature(undefined) ? 'every event' : `events of tenant_id ${JSON.stringify(tenant)}`} to be signed`);
  }
  if (verification?.status !== 'PASS') return verification;
  try {
    const publicKey = input?.publicKey;
    const tenant = tenantOf(input?.event);
    if (typeof publicKey !== 'string') return fail(UNTRUSTED_KEY);
    if (trusted.isTrusted(publicKey, tenant)) return verification;
    const parsed = parsePublicKey(publicKey);
    const detail = parsed.ok ? keyId(parsed.key) : parsed.reason;
    return fail(`${UNTRUSTED_KEY}: ${detail}${tenant === undefined ? '' : ` (tenant_id ${JSON.stringify(tenant)})`}`);
  } catch {
    return fail(UNTRUSTED_KEY);
  }
}
