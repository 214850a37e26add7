// TRUSTED_SIGNING_KEYS_FILE (src/trust/trusted-keys.ts), read from real files, with keys made by
// node:crypto and events signed by src/merkle's signEvent: which keys are trusted for which
// tenant, what each broken file says, and how a passing signature check turns into a FAIL.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifySignatureNative } from '../../src/crypto/native-ed25519.js';
import { normalizeEvent, signEvent, verifySignature, type Verification } from '../../src/merkle/index.js';
import { applyKeyTrust, loadTrustedKeys, parseTrustedKeys, TrustedKeys } from '../../src/trust/trusted-keys.js';

interface TestKey {
  pkcs8: string;
  spkiPem: string;
  spkiDerBase64: string;
  raw: Uint8Array;
  rawBase64: string;
  /** The key-info JSON string signEvent stores as public_key. */
  keyInfo: string;
}

function makeKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spkiPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const raw = Uint8Array.from(der.subarray(12));
  return {
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    spkiPem,
    spkiDerBase64: der.toString('base64'),
    raw,
    rawBase64: Buffer.from(raw).toString('base64'),
    keyInfo: JSON.stringify({ algorithm: 'ED25519', key: spkiPem }),
  };
}

const global = makeKey();
const tenantA = makeKey();
const tenantB = makeKey();
const stranger = makeKey();
const gateway = makeKey();

let dir: string;
let fileCount = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trusted-keys-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeKeysFile(content: unknown): string {
  const path = join(dir, `keys-${++fileCount}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** A signed event of `tenant` (no tenant_id when undefined), and its verdict. */
function signed(by: TestKey, tenant: string | undefined, message = 'user deleted') {
  const event = normalizeEvent({ message, actor: 'alice', ...(tenant === undefined ? {} : { tenant_id: tenant }) });
  const { signature, public_key } = signEvent(event, by.pkcs8);
  const input = { event, signature, publicKey: public_key };
  return { input, verification: verifySignature(input) };
}

function loadError(content: unknown): string {
  const path = writeKeysFile(content);
  try {
    loadTrustedKeys(path);
  } catch (err) {
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(path);
    return message;
  }
  throw new Error(`${JSON.stringify(content)} loaded without an error`);
}

describe('key forms', () => {
  test.each([
    ['SPKI PEM', (k: TestKey): unknown => k.spkiPem],
    ['base64 SPKI DER', (k: TestKey): unknown => k.spkiDerBase64],
    ['base64 raw 32 bytes', (k: TestKey): unknown => k.rawBase64],
    ['key-info JSON string', (k: TestKey): unknown => k.keyInfo],
    ['key-info object', (k: TestKey): unknown => ({ algorithm: 'ED25519', key: k.spkiPem })],
  ])('a key listed as %s is trusted whatever form the event uses, and no other key is', (_form, present) => {
    const trusted = loadTrustedKeys(writeKeysFile({ keys: [present(global)] }));
    for (const form of [global.keyInfo, global.spkiPem, global.spkiDerBase64, global.rawBase64, `  ${global.spkiPem}\n`]) {
      expect(trusted.isTrusted(form, undefined)).toBe(true);
      expect(trusted.isTrusted(form, 'tenant-a')).toBe(true);
    }
    expect(trusted.isTrusted(stranger.keyInfo, undefined)).toBe(false);
    expect(trusted.isTrusted(stranger.rawBase64, 'tenant-a')).toBe(false);
  });

  test('keys that do not parse are never trusted, and isTrusted does not throw on them', () => {
    const trusted = loadTrustedKeys(writeKeysFile({ keys: [global.rawBase64] }));
    for (const bad of ['', 'not a key', '{"algorithm":"RSA","key":"x"}', '{oops', 42 as unknown as string, null as unknown as string]) {
      expect(trusted.isTrusted(bad, undefined)).toBe(false);
    }
  });
});

describe('per-tenant keys', () => {
  let trusted: TrustedKeys;
  beforeAll(() => {
    trusted = loadTrustedKeys(
      writeKeysFile({ keys: [global.spkiPem], tenants: { 'tenant-a': [tenantA.rawBase64], 'tenant-b': [tenantB.keyInfo, tenantB.spkiDerBase64] } }),
    );
  });

  test('a global key is trusted for every tenant and for events without one', () => {
    for (const tenant of ['tenant-a', 'tenant-b', 'tenant-c', undefined]) expect(trusted.isTrusted(global.keyInfo, tenant)).toBe(true);
  });

  test('a tenant key is trusted only for its own tenant', () => {
    expect(trusted.isTrusted(tenantA.keyInfo, 'tenant-a')).toBe(true);
    expect(trusted.isTrusted(tenantA.keyInfo, 'tenant-b')).toBe(false);
    expect(trusted.isTrusted(tenantA.keyInfo, undefined)).toBe(false);
    expect(trusted.isTrusted(tenantB.spkiPem, 'tenant-b')).toBe(true);
    expect(trusted.isTrusted(tenantB.spkiPem, 'tenant-a')).toBe(false);
    // Tenant ids are compared exactly.
    expect(trusted.isTrusted(tenantA.keyInfo, 'Tenant-A')).toBe(false);
    expect(trusted.isTrusted(tenantA.keyInfo, 'tenant-a ')).toBe(false);
  });

  test('signed events: own tenant passes, another tenant\'s key fails with the key and the tenant named', () => {
    const own = signed(tenantA, 'tenant-a');
    expect(own.verification).toEqual({ status: 'PASS' });
    expect(applyKeyTrust(own.verification, own.input, trusted)).toEqual({ status: 'PASS' });

    const foreign = signed(tenantA, 'tenant-b');
    expect(foreign.verification).toEqual({ status: 'PASS' });
    const verdict = applyKeyTrust(foreign.verification, foreign.input, trusted);
    expect(verdict).toEqual({ status: 'FAIL', reason: `signed by an untrusted key: ${tenantA.rawBase64} (tenant_id "tenant-b")` });

    const untenanted = signed(tenantA, undefined);
    expect(applyKeyTrust(untenanted.verification, untenanted.input, trusted)).toEqual({
      status: 'FAIL',
      reason: `signed by an untrusted key: ${tenantA.rawBase64}`,
    });

    const byGlobal = signed(global, 'tenant-b');
    expect(applyKeyTrust(byGlobal.verification, byGlobal.input, trusted)).toBe(byGlobal.verification);
  });

  test('a tenant_id that is not a string counts as no tenant, even if its text names one', () => {
    const numbered = parseTrustedKeys({ tenants: { '7': [tenantA.rawBase64] } }, 'test');
    const event = { message: 'm', tenant_id: 7 };
    const { signature, public_key } = signEvent(event, tenantA.pkcs8);
    const input = { event, signature, publicKey: public_key };
    const verification = verifySignature(input);
    expect(verification.status).toBe('PASS');
    expect(applyKeyTrust(verification, input, numbered)).toEqual({ status: 'FAIL', reason: `signed by an untrusted key: ${tenantA.rawBase64}` });
    const stringEvent = { message: 'm', tenant_id: '7' };
    const resigned = signEvent(stringEvent, tenantA.pkcs8);
    const stringInput = { event: stringEvent, signature: resigned.signature, publicKey: resigned.public_key };
    const stringVerdict = verifySignature(stringInput);
    expect(stringVerdict.status).toBe('PASS');
    expect(applyKeyTrust(stringVerdict, stringInput, numbered)).toBe(stringVerdict);
  });

  test('the OpenSSL verifier\'s PASS is judged the same way', () => {
    const foreign = signed(tenantB, 'tenant-a');
    const native = verifySignatureNative(foreign.input);
    expect(native).toEqual({ status: 'PASS' });
    expect(applyKeyTrust(native, foreign.input, trusted).reason).toMatch(/^signed by an untrusted key: /);
  });

  test('summary counts the global keys and the tenants with keys', () => {
    expect(trusted.summary).toEqual({ everyTenant: 1, tenants: 2 });
  });
});

describe('empty lists', () => {
  test.each([{}, { keys: [] }, { keys: [], tenants: {} }, { tenants: { 'tenant-a': [] } }])('%j loads and trusts no key', (content) => {
    const trusted = loadTrustedKeys(writeKeysFile(content));
    const event = signed(global, 'tenant-a');
    expect(trusted.isTrusted(global.keyInfo, 'tenant-a')).toBe(false);
    expect(applyKeyTrust(event.verification, event.input, trusted)).toEqual({
      status: 'FAIL',
      reason: `signed by an untrusted key: ${global.rawBase64} (tenant_id "tenant-a")`,
    });
    expect(trusted.summary).toEqual({ everyTenant: 0, tenants: 0 });
  });
});

describe('broken files: one line naming the file and the problem', () => {
  test('a missing file and a directory cannot be read', () => {
    const missing = join(dir, 'does-not-exist.json');
    expect(() => loadTrustedKeys(missing)).toThrow(`TRUSTED_SIGNING_KEYS_FILE ${missing} cannot be read: ENOENT`);
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expect(() => loadTrustedKeys(sub)).toThrow(`TRUSTED_SIGNING_KEYS_FILE ${sub} cannot be read: EISDIR`);
  });

  test('not JSON', () => {
    expect(loadError('{ "keys": [ }')).toMatch(/^TRUSTED_SIGNING_KEYS_FILE \S+ is not valid JSON: /);
    expect(loadError('')).toMatch(/is not valid JSON: /);
  });

  test('not a JSON object', () => {
    for (const content of ['[]', 'null', '"keys"', '3']) {
      expect(loadError(content)).toMatch(/ must be a JSON object with "keys", "tenants" and\/or "requireSignatures"$/);
    }
  });

  test('an unknown top-level member', () => {
    expect(loadError({ keys: [], key: [global.rawBase64] })).toMatch(/: unknown member "key" \(expected "keys", "tenants" and\/or "requireSignatures"\)$/);
    expect(loadError({ trusted: [] })).toMatch(/unknown member "trusted"/);
  });

  test('lists and tenant maps of the wrong shape', () => {
    expect(loadError({ keys: global.rawBase64 })).toMatch(/: keys must be a list of public keys$/);
    expect(loadError({ tenants: ['tenant-a'] })).toMatch(/: "tenants" must be an object mapping tenant ids to lists of public keys$/);
    expect(loadError({ tenants: null })).toMatch(/"tenants" must be an object/);
    expect(loadError({ tenants: { 'tenant-a': tenantA.rawBase64 } })).toMatch(/: tenants\["tenant-a"\] must be a list of public keys$/);
    expect(loadError({ tenants: { '': [tenantA.rawBase64] } })).toMatch(/: "tenants" has an empty tenant id$/);
  });

  test('a key that does not parse names its entry and the reason', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(loadError({ keys: [global.rawBase64, 'not a key'] })).toMatch(/: keys\[1\] is not an Ed25519 public key: public key is neither PEM nor base64$/);
    expect(loadError({ keys: [rsa] })).toMatch(/: keys\[0\] is not an Ed25519 public key: public key PEM is not an Ed25519 key$/);
    expect(loadError({ keys: [Buffer.alloc(31).toString('base64')] })).toMatch(/: keys\[0\] is not an Ed25519 public key: public key DER is not an Ed25519 key$/);
    expect(loadError({ keys: ['{"algorithm":"RSA","key":"x"}'] })).toMatch(/keys\[0\] is not an Ed25519 public key: unsupported signature algorithm RSA$/);
    expect(loadError({ keys: [42] })).toMatch(/: keys\[0\] must be a public key \(a string, or a key-info object\)$/);
    expect(loadError({ tenants: { 'tenant-a': [tenantA.rawBase64], 'tenant-b': [tenantB.rawBase64, null] } })).toMatch(
      /: tenants\["tenant-b"\]\[1\] must be a public key/,
    );
  });

  test('a key that parses but could never verify a signature is refused too', () => {
    // 32 zero bytes encode a point of order 4; y = p (2^255 - 19) is a non-canonical encoding.
    expect(loadError({ keys: [Buffer.alloc(32).toString('base64')] })).toMatch(
      /: keys\[0\] is not a usable Ed25519 public key: public key is a small-order point$/,
    );
    const yIsP = Buffer.alloc(32, 0xff);
    yIsP[0] = 0xed;
    yIsP[31] = 0x7f;
    expect(loadError({ tenants: { t: [yIsP.toString('base64')] } })).toMatch(
      /: tenants\["t"\]\[0\] is not a usable Ed25519 public key: public key is not a canonical Ed25519 point encoding$/,
    );
  });

  test('parseTrustedKeys names the source it is given', () => {
    expect(() => parseTrustedKeys({ keys: ['x y'] }, 'inline keys')).toThrow(/^inline keys: keys\[0\] is not an Ed25519 public key/);
    expect(parseTrustedKeys({ keys: [global.spkiPem] }, 'inline keys').isTrusted(global.rawBase64, undefined)).toBe(true);
  });
});

describe('withKey', () => {
  test('returns a copy that also trusts the key for every tenant, in any form, leaving the original as it was', () => {
    const base = loadTrustedKeys(writeKeysFile({ tenants: { 'tenant-a': [tenantA.rawBase64] } }));
    for (const form of [gateway.raw, gateway.spkiPem, gateway.keyInfo, gateway.rawBase64, gateway.spkiDerBase64]) {
      const withGateway = base.withKey(form);
      for (const tenant of ['tenant-a', 'tenant-z', undefined]) expect(withGateway.isTrusted(gateway.keyInfo, tenant)).toBe(true);
      expect(withGateway.isTrusted(tenantA.keyInfo, 'tenant-a')).toBe(true);
      expect(withGateway.isTrusted(tenantA.keyInfo, 'tenant-z')).toBe(false);
      expect(withGateway.summary).toEqual({ everyTenant: 1, tenants: 1 });
    }
    expect(base.isTrusted(gateway.keyInfo, 'tenant-a')).toBe(false);

    const event = signed(gateway, 'tenant-q');
    expect(applyKeyTrust(event.verification, event.input, base).status).toBe('FAIL');
    expect(applyKeyTrust(event.verification, event.input, base.withKey(gateway.raw))).toEqual({ status: 'PASS' });
  });

  test('refuses keys that are not usable Ed25519 public keys', () => {
    const base = parseTrustedKeys({}, 'test');
    expect(() => base.withKey(new Uint8Array(31))).toThrow(/cannot trust this key: public key is not 32 bytes/);
    expect(() => base.withKey(new Uint8Array(32))).toThrow(/cannot trust this key: public key is a small-order point/);
    expect(() => base.withKey('garbage!')).toThrow(/cannot trust this key: it is not an Ed25519 public key/);
  });
});

describe('applyKeyTrust', () => {
  let trusted: TrustedKeys;
  beforeAll(() => {
    trusted = loadTrustedKeys(writeKeysFile({ keys: [global.keyInfo] }));
  });

  test('without a list, every verdict is returned as it is', () => {
    const byStranger = signed(stranger, 'tenant-a');
    expect(byStranger.verification.status).toBe('PASS');
    expect(applyKeyTrust(byStranger.verification, byStranger.input, undefined)).toBe(byStranger.verification);
  });

  test('PASS by a trusted key stays PASS; PASS by another key becomes FAIL', () => {
    const ok = signed(global, undefined);
    expect(applyKeyTrust(ok.verification, ok.input, trusted)).toBe(ok.verification);
    const bad = signed(stranger, undefined);
    expect(applyKeyTrust(bad.verification, bad.input, trusted)).toEqual({ status: 'FAIL', reason: `signed by an untrusted key: ${stranger.rawBase64}` });
  });

  test('FAIL and NONE are returned unchanged, whoever holds the key', () => {
    const tampered = signed(stranger, 'tenant-a');
    const input = { ...tampered.input, event: { ...tampered.input.event, message: 'changed' } };
    const failed = verifySignature(input);
    expect(failed).toEqual({ status: 'FAIL', reason: 'signature does not verify under the public key' });
    expect(applyKeyTrust(failed, input, trusted)).toBe(failed);

    const unsigned = { event: { message: 'm' }, signature: null, publicKey: null };
    const none = verifySignature(unsigned);
    expect(none.status).toBe('NONE');
    expect(applyKeyTrust(none, unsigned, trusted)).toBe(none);
  });

  test('requireSignatures: an unsigned event it covers is FAIL (every event, or the listed tenants\'), others stay NONE', () => {
    const unsigned = (tenant: string | undefined) => ({ event: { message: 'm', ...(tenant ? { tenant_id: tenant } : {}) }, signature: null, publicKey: null });
    const none = verifySignature(unsigned(undefined));
    const everyEvent = loadTrustedKeys(writeKeysFile({ keys: [global.keyInfo], requireSignatures: true }));
    for (const tenant of [undefined, 'tenant-a']) {
      expect(applyKeyTrust(none, unsigned(tenant), everyEvent)).toEqual({ status: 'FAIL', reason: 'the event is unsigned, but TRUSTED_SIGNING_KEYS_FILE requires every event to be signed' });
    }
    const tenantOnly = loadTrustedKeys(writeKeysFile({ tenants: { 'tenant-a': [tenantA.keyInfo] }, requireSignatures: ['tenant-a'] }));
    expect(applyKeyTrust(none, unsigned('tenant-a'), tenantOnly)).toEqual({
      status: 'FAIL',
      reason: 'the event is unsigned, but TRUSTED_SIGNING_KEYS_FILE requires events of tenant_id "tenant-a" to be signed',
    });
    expect(applyKeyTrust(none, unsigned('tenant-b'), tenantOnly)).toBe(none);
    expect(applyKeyTrust(none, unsigned(undefined), tenantOnly)).toBe(none);
    // Off, or unset: unsigned events are NONE as before; signed ones are judged by the keys either way.
    expect(applyKeyTrust(none, unsigned('tenant-a'), loadTrustedKeys(writeKeysFile({ keys: [], requireSignatures: false })))).toBe(none);
    const bad = signed(stranger, 'tenant-a');
    expect(applyKeyTrust(bad.verification, bad.input, tenantOnly).status).toBe('FAIL');
    // The gateway's own key added to the list keeps the requirement.
    expect(applyKeyTrust(none, unsigned('tenant-a'), tenantOnly.withKey(global.raw)).status).toBe('FAIL');
  });

  test('requireSignatures of the wrong shape', () => {
    for (const value of ['yes', 1, null, [''], ['tenant-a', 3], {}]) {
      expect(loadError({ keys: [], requireSignatures: value })).toMatch(/: "requireSignatures" must be true, false or a list of tenant ids$/);
    }
  });

  test('never throws on malformed input; a PASS it cannot judge fails closed', () => {
    const pass: Verification = { status: 'PASS' };
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    const inputs = [
      { event: null, publicKey: null },
      { event: 'not an object', publicKey: 42 },
      { event: hostile, publicKey: global.keyInfo },
      { event: {}, publicKey: 'not a key' },
      null,
      undefined,
      hostile,
    ] as unknown as Array<{ event: unknown; publicKey: unknown }>;
    for (const input of inputs) {
      const verdict = applyKeyTrust(pass, input, trusted);
      expect(verdict.status).toBe('FAIL');
      expect(verdict.reason).toMatch(/^signed by an untrusted key/);
    }
    // A trusted key with an event it cannot read a tenant from is still trusted (a global key).
    expect(applyKeyTrust(pass, { event: 'x', publicKey: global.rawBase64 }, trusted)).toBe(pass);
    expect(applyKeyTrust(null as unknown as Verification, { event: {}, publicKey: global.keyInfo }, trusted)).toBeNull();
  });
});
