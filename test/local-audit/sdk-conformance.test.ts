// The vendor's own Node SDK (pangea-node-sdk) against the local audit service over real HTTP: it
// logs (single, signed, bulk), searches, pages and fetches roots, and its own verification code
// must report "pass" wherever the cloud service would make it pass. Arweave is stubbed in-process
// (an empty transaction list) so the SDK falls back to v1/root for published roots, as designed.
// Every value the SDK reports is also re-checked with src/merkle where that adds something.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditService, PangeaConfig, PangeaErrors, type Audit } from 'pangea-node-sdk';
import { canonicalEnvelope, hashEnvelope, sha256HexOfString, verifyConsistency, verifyMembership } from '../../src/merkle/index.js';
import { installArweaveStub, type ArweaveStub } from '../support/arweave-stub.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type SdkSigner = NonNullable<Audit.LogOptions['signer']>;
type EnvelopeArg = Parameters<typeof canonicalEnvelope>[0];

/**
 * The SDK's Signer, as its tests use it: an Ed25519 private key read from a PEM file. pangea-node-sdk
 * 5.6 declares the class in its types but does not export it from the bundle, so this is the same
 * class written out (sign → base64, public key → SPKI PEM, algorithm "ED25519").
 */
class PemFileSigner implements SdkSigner {
  privateKey: KeyObject;
  constructor(privateKeyFilename: string) {
    this.privateKey = createPrivateKey(readFileSync(privateKeyFilename));
  }
  sign(data: string): string {
    return sign(null, Buffer.from(data), this.privateKey).toString('base64');
  }
  getPublicKey(): string {
    return String(createPublicKey(this.privateKey).export({ format: 'pem', type: 'spki' }));
  }
  getAlgorithm(): string {
    return 'ED25519';
  }
}

let svc: TestService;
let arweave: ArweaveStub;
let signer: PemFileSigner;
let keyDir: string;

function sdk(token = svc.token): AuditService {
  return new AuditService(token, new PangeaConfig({ baseUrlTemplate: svc.url, requestRetries: 0 }));
}

beforeAll(async () => {
  arweave = installArweaveStub();
  svc = await startTestService();
  keyDir = tempDir('audit-sdk-key-');
  const { privateKey } = generateKeyPairSync('ed25519');
  const keyFile = join(keyDir, 'privkey.pem');
  writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  signer = new PemFileSigner(keyFile);
});

afterAll(async () => {
  arweave.restore();
  await svc.destroy();
  rmSync(keyDir, { recursive: true, force: true });
});

describe('log', () => {
  test('verify + verbose + signer, several in a row: membership, consistency (from the 2nd on) and signature pass', async () => {
    const audit = sdk();
    const outcomes: Array<[string | undefined, string | undefined, string | undefined]> = [];
    let prevRoot: string | undefined;
    for (let i = 0; i < 6; i++) {
      // Non-ASCII text and an object-valued field: the SDK canonicalises both before signing,
      // the service must store and hash them so the SDK's own re-canonicalisation agrees.
      const event = { message: `signed ${i} — café ✓`, actor: 'sdk-signer', action: 'log', new: { step: i, tags: ['a', 'b'] } };
      const res = await audit.log(event, { verify: true, verbose: true, signer });
      expect(res.status).toBe('Success');
      const r = res.result;
      outcomes.push([r.membership_verification, r.consistency_verification, r.signature_verification]);
      // The SDK parses JSON-looking message/new/old strings of a response back into objects, and
      // re-stringifies them canonically when it hashes: hash in that same "envelope mode".
      expect(typeof r.envelope.event.new).toBe('object');
      expect(r.envelope.event.new).toEqual({ step: i, tags: ['a', 'b'] });
      expect(sha256HexOfString(canonicalEnvelope(r.envelope as unknown as EnvelopeArg))).toBe(r.hash);
      // What the service stored (and hashed) is the string the SDK sent.
      const stored = svc.log.events.get(svc.log.size - 1)!;
      expect(stored.hash).toBe(r.hash);
      expect(stored.envelope.event.new).toBe(`{"step":${i},"tags":["a","b"]}`);
      expect(hashEnvelope(stored.envelope)).toBe(r.hash);
      expect(JSON.parse(r.envelope.public_key!)).toEqual({ algorithm: 'ED25519', key: signer.getPublicKey() });
      expect(verifyMembership({ hash: r.hash, proof: r.membership_proof, rootHash: r.unpublished_root }).status).toBe('PASS');
      if (prevRoot === undefined) {
        expect(r).not.toHaveProperty('consistency_proof');
      } else {
        expect(verifyConsistency({ oldRootHash: prevRoot, newRootHash: r.unpublished_root, proof: r.consistency_proof }).status).toBe('PASS');
      }
      prevRoot = r.unpublished_root;
    }
    expect(outcomes).toEqual([
      ['pass', 'none', 'pass'], // the first log has no previous root to be consistent with
      ...Array.from({ length: 5 }, () => ['pass', 'pass', 'pass']),
    ]);
  });

  test('an unsigned event verifies as "none" for its signature; a plain log carries no proofs', async () => {
    const audit = sdk();
    const verified = await audit.log({ message: 'unsigned' }, { verify: true });
    expect(verified.result.membership_verification).toBe('pass');
    expect(verified.result.signature_verification).toBe('none');
    const plain = await audit.log({ message: 'plain' });
    expect(Object.keys(plain.result).sort()).toEqual(['hash', 'signature_verification']);
    expect(plain.result.signature_verification).toBe('none');
  });

  test('logBulk verbose: every hash verifies (the SDK throws otherwise), in input order, signatures pass', async () => {
    const audit = sdk();
    const events = Array.from({ length: 25 }, (_, i) => ({ message: `bulk ${i}`, actor: 'sdk-bulk', target: `t${i % 3}` }));
    const res = await audit.logBulk(events, { verbose: true, signer });
    expect(res.result.results).toHaveLength(25);
    res.result.results.forEach((r, i) => {
      expect(r.envelope.event.message).toBe(`bulk ${i}`);
      expect(hashEnvelope(r.envelope)).toBe(r.hash);
      expect(r.signature_verification).toBe('pass');
    });
    // Consecutive leaves: the hashes are stored in order at the end of the tree.
    const size = svc.log.size;
    const last = svc.log.events.getMany(Array.from({ length: 25 }, (_, i) => size - 25 + i));
    expect(last.map((e) => e.hash)).toEqual(res.result.results.map((r) => r.hash));
  });

  test('SDK limit, not a service fault: a JSON-looking but non-canonical message fails the SDK\'s own hash check', async () => {
    // The SDK's response reviver parses message/new/old strings that look like JSON ("123",
    // "true", '{ "b": 2 }') and re-serialises them before hashing, so its check cannot match
    // what was stored. The service stores and hashes the string exactly as sent.
    const audit = sdk();
    for (const message of ['123', 'true', '{ "b": 2, "a": 1 }']) {
      await expect(audit.log({ message }, { verbose: true })).rejects.toBeInstanceOf(PangeaErrors.AuditEventError);
      const stored = svc.log.events.get(svc.log.size - 1)!;
      expect(stored.envelope.event.message).toBe(message);
      expect(hashEnvelope(stored.envelope)).toBe(stored.hash);
    }
    // Canonical JSON text survives the round trip.
    const ok = await audit.log({ message: '{"a":1,"b":2}' }, { verbose: true });
    expect(ok.result.envelope.event.message).toEqual({ a: 1, b: 2 });
  });

  test('a wrong token is an UnauthorizedError from the SDK', async () => {
    await expect(sdk('not-the-token').log({ message: 'x' })).rejects.toBeInstanceOf(PangeaErrors.UnauthorizedError);
  });
});

describe('search, results and root after publishing', () => {
  const ACTOR = 'sdk-search';
  let publishedSize: number;

  beforeAll(async () => {
    const audit = sdk();
    // Signed and unsigned events, published; then more that stay unpublished.
    await audit.logBulk(
      Array.from({ length: 8 }, (_, i) => ({ message: `pub signed ${i}`, actor: ACTOR })),
      { verbose: false, signer },
    );
    await audit.logBulk(Array.from({ length: 7 }, (_, i) => ({ message: `pub plain ${i}`, actor: ACTOR })), {});
    svc.publishNow();
    publishedSize = svc.log.latestPublishedSize();
    await audit.log({ message: 'unpub signed', actor: ACTOR }, { signer });
    await audit.logBulk(Array.from({ length: 4 }, (_, i) => ({ message: `unpub plain ${i}`, actor: ACTOR })), {});
  });

  test('verifyConsistency: membership passes for all; consistency passes for published, "none" for unpublished; signatures as signed', async () => {
    const audit = sdk();
    const before = arweave.requests.length;
    const res = await audit.search(`actor:${ACTOR}`, { limit: 100 }, { verifyConsistency: true });
    const r = res.result;
    expect(r.count).toBe(20);
    expect(r.events).toHaveLength(20);
    expect(r.root!.size).toBe(publishedSize);
    expect(r.unpublished_root!.size).toBe(svc.log.size);
    // The SDK asked Arweave first (and got nothing), then used v1/root.
    expect(arweave.requests.slice(before).some((req) => req === 'POST https://arweave.net/graphql')).toBe(true);

    const byKind = { published: 0, unpublished: 0 };
    for (const e of r.events) {
      const message = e.envelope.event.message as string;
      const signed = message.includes('signed');
      expect(e.membership_verification).toBe('pass');
      expect(e.signature_verification).toBe(signed ? 'pass' : 'none');
      if (message.startsWith('pub ')) {
        byKind.published++;
        expect(e.published).toBe(true);
        expect(Number(e.leaf_index)).toBeLessThan(publishedSize);
        expect(e.consistency_verification).toBe('pass');
      } else {
        byKind.unpublished++;
        expect(e.published).toBe(false);
        expect(e).not.toHaveProperty('leaf_index');
        expect(e.consistency_verification).toBe('none');
      }
    }
    expect(byKind).toEqual({ published: 15, unpublished: 5 });
  });

  test('the event at leaf 0 passes consistency trivially; an event at leaf L needs roots L and L+1', async () => {
    const audit = sdk();
    const res = await audit.search('', { limit: 3, order: 'asc' }, { verifyConsistency: true });
    const [first, second] = res.result.events;
    expect(first!.leaf_index).toBe(0);
    expect(first!.consistency_verification).toBe('pass');
    expect(second!.leaf_index).toBe(1);
    expect(second!.consistency_verification).toBe('pass');
    expect(second!.membership_verification).toBe('pass');
  });

  test('results pages through ~60 events with limit/offset, each page verified by the SDK', async () => {
    const audit = sdk();
    await audit.logBulk(Array.from({ length: 60 }, (_, i) => ({ message: `page ${String(i).padStart(2, '0')}`, actor: 'sdk-pager' })), {});
    svc.publishNow();
    await audit.logBulk(Array.from({ length: 3 }, (_, i) => ({ message: `page late ${i}`, actor: 'sdk-pager' })), {});
    const first = await audit.search('actor:sdk-pager', { limit: 7, order: 'asc' }, { verifyConsistency: true });
    expect(first.result.count).toBe(63);
    const seen = first.result.events.map((e) => e.envelope.event.message);
    for (let offset = 7; offset < 63; offset += 7) {
      const page = await audit.results(first.result.id, 7, offset, { verifyConsistency: true });
      expect(page.result.count).toBe(63);
      for (const e of page.result.events) {
        expect(e.membership_verification).toBe('pass');
        expect(e.consistency_verification).toBe(e.published ? 'pass' : 'none');
      }
      seen.push(...page.result.events.map((e) => e.envelope.event.message));
    }
    expect(seen).toEqual([
      ...Array.from({ length: 60 }, (_, i) => `page ${String(i).padStart(2, '0')}`),
      ...Array.from({ length: 3 }, (_, i) => `page late ${i}`),
    ]);
    const past = audit.results(first.result.id, 7, 63);
    await expect(past).rejects.toBeInstanceOf(PangeaErrors.APIError);
    await expect(past).rejects.toMatchObject({ pangeaResponse: { status: 'BadOffset' } });
  });

  test('root: latest and by tree_size, with consistency proofs the SDK-shaped data carries', async () => {
    const audit = sdk();
    const latestSize = svc.log.latestPublishedSize();
    const latest = await audit.root();
    expect(latest.result.data).toMatchObject({ size: latestSize, tree_name: svc.log.treeName, root_hash: svc.log.rootHash(latestSize) });
    for (const size of [2, 9, publishedSize, latestSize]) {
      const root = (await audit.root(size)).result.data;
      const prev = (await audit.root(size - 1)).result.data;
      expect(root.size).toBe(size);
      expect(verifyConsistency({ oldRootHash: prev.root_hash, newRootHash: root.root_hash, proof: root.consistency_proof, sizes: { oldSize: size - 1, newSize: size } }).status).toBe('PASS');
    }
    const one = (await audit.root(1)).result.data;
    expect(one.size).toBe(1);
    expect(one).not.toHaveProperty('consistency_proof');
    await expect(audit.root(latestSize + 1)).rejects.toBeInstanceOf(PangeaErrors.ValidationError);
  });
});
