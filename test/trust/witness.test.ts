// The root witness (src/trust/witness.ts) against real servers on 127.0.0.1: a local audit service
// publishes roots, the test copies them onto an Arweave-shaped server (test/support/arweave-server.ts),
// and the witness must agree with the copies, catch tampered ones, and say why when it cannot tell.
// The vendor SDK is pointed at the same server, so the server (and with it the witness) is held to
// the protocol the SDK really speaks.
import { AuditService, PangeaConfig } from 'pangea-node-sdk';
import { AuditClient, type PublishedRoot } from '../../src/audit-client/index.js';
import { verifyConsistency } from '../../src/merkle/index.js';
import {
  ARWEAVE_BASE_URL,
  createRootWitness,
  parseRootWitness,
  type RootWitness,
  type RootWitnessOptions,
  type WitnessOutcome,
  type WitnessRoot,
} from '../../src/trust/witness.js';
import { routeArweaveTo, startArweaveServer, type ArweaveServer } from '../support/arweave-server.js';
import { startTestService, type TestService } from '../support/local-audit.js';

const FORGED = 'ab'.repeat(32);
const PASS: WitnessOutcome = { status: 'PASS' };

let svc: TestService;
let client: AuditClient;
/** The service's published roots of sizes 1..6, as v1/root gives them. */
let roots: PublishedRoot[];
let treeName: string;

beforeAll(async () => {
  svc = await startTestService();
  client = new AuditClient({ baseUrl: svc.url, token: svc.token });
  for (let i = 0; i < 6; i++) {
    await client.log({ event: { message: `witnessed ${i}`, actor: 'witness-test' } });
    // Publication happens at a few points only; v1/root still answers every size below the latest.
    if (i === 0 || i === 2 || i === 5) svc.publishNow();
  }
  roots = [];
  for (let size = 1; size <= 6; size++) roots.push((await client.root({ tree_size: size })).result.data);
  treeName = roots[0]!.tree_name;
});

afterAll(async () => {
  await client?.close();
  await svc?.destroy();
});

let ar: ArweaveServer;
const opened: RootWitness[] = [];

function witness(options: RootWitnessOptions = {}): RootWitness {
  const w = createRootWitness({ kind: 'arweave', baseUrl: ar.baseUrl }, options);
  opened.push(w);
  return w;
}

beforeEach(async () => {
  ar = await startArweaveServer();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.close()));
  await ar.close();
});

const claim = (r: PublishedRoot): WitnessRoot => ({ tree_name: r.tree_name, size: r.size, root_hash: r.root_hash });
const root = (size: number): PublishedRoot => roots[size - 1]!;
const publishAll = (): void => roots.forEach((r) => ar.publish(r));
const dataReads = (): string[] => ar.requests.filter((r) => r.startsWith('GET '));
const queries = (): string[] => ar.requests.filter((r) => r === 'POST /graphql');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the published roots under test', () => {
  test('are real: six sizes, each proven consistent with the one before by src/merkle', () => {
    expect(roots.map((r) => r.size)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(roots.map((r) => r.root_hash)).size).toBe(6);
    for (let size = 2; size <= 6; size++) {
      const check = verifyConsistency({ oldRootHash: root(size - 1).root_hash, newRootHash: root(size).root_hash, proof: root(size).consistency_proof });
      expect(check.status).toBe('PASS');
    }
  });
});

describe('parseRootWitness', () => {
  test('unset or empty gives the default kind', () => {
    expect(parseRootWitness(undefined, 'arweave')).toEqual({ kind: 'arweave', baseUrl: 'https://arweave.net' });
    expect(parseRootWitness(undefined, 'none')).toEqual({ kind: 'none' });
    expect(parseRootWitness('', 'none')).toEqual({ kind: 'none' });
    expect(parseRootWitness('  ', 'arweave')).toEqual({ kind: 'arweave', baseUrl: ARWEAVE_BASE_URL });
  });

  test('arweave and none override the default, in any case', () => {
    expect(parseRootWitness('arweave', 'none')).toEqual({ kind: 'arweave', baseUrl: 'https://arweave.net' });
    expect(parseRootWitness('ARWEAVE', 'none')).toEqual({ kind: 'arweave', baseUrl: 'https://arweave.net' });
    expect(parseRootWitness('none', 'arweave')).toEqual({ kind: 'none' });
    expect(parseRootWitness(' None ', 'arweave')).toEqual({ kind: 'none' });
  });

  test('an http(s) base URL, trailing slashes trimmed, path kept', () => {
    expect(parseRootWitness('http://127.0.0.1:1984', 'none')).toEqual({ kind: 'arweave', baseUrl: 'http://127.0.0.1:1984' });
    expect(parseRootWitness('http://127.0.0.1:1984/', 'none')).toEqual({ kind: 'arweave', baseUrl: 'http://127.0.0.1:1984' });
    expect(parseRootWitness('https://gw.example.org/arweave///', 'none')).toEqual({ kind: 'arweave', baseUrl: 'https://gw.example.org/arweave' });
    expect(parseRootWitness('HTTPS://GW.Example.org', 'none')).toEqual({ kind: 'arweave', baseUrl: 'https://gw.example.org' });
  });

  test.each([
    ['arwave'],
    ['true'],
    ['ftp://gw.example.org'],
    ['file:///tmp/roots'],
    ['https://gw.example.org/?network=main'],
    ['https://gw.example.org/#roots'],
    ['https://user:s3cret@gw.example.org'],
  ])('rejects %p with one line naming ROOT_WITNESS and the accepted values', (value) => {
    let error: unknown;
    try {
      parseRootWitness(value, 'arweave');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/^ROOT_WITNESS must be "arweave", "none" or the http\(s\) base URL of an Arweave-compatible gateway/);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('s3cret');
  });
});

describe('ROOT_WITNESS=none', () => {
  test('is disabled and answers NONE for every root', async () => {
    const none = createRootWitness(parseRootWitness('none', 'arweave'));
    expect(none.enabled).toBe(false);
    await expect(none.check(claim(root(1)))).resolves.toEqual({ status: 'NONE', reason: 'no witness configured' });
    await expect(none.checkMany(roots.map(claim))).resolves.toEqual(roots.map(() => ({ status: 'NONE', reason: 'no witness configured' })));
    await none.close();
  });
});

describe('an Arweave-compatible witness', () => {
  test('PASS for every root the service published, all sizes in one transactions query', async () => {
    publishAll();
    const w = witness();
    expect(w.enabled).toBe(true);
    await expect(w.checkMany(roots.map(claim))).resolves.toEqual(roots.map(() => PASS));
    expect(queries()).toHaveLength(1);
    expect(ar.queries[0]!.tags).toEqual([
      { name: 'tree_size', values: ['1', '2', '3', '4', '5', '6'] },
      { name: 'tree_name', values: [treeName] },
    ]);
    // One read per copy, at <base>/<id>/ as the Node SDK reads it.
    expect(dataReads()).toHaveLength(6);
    for (const read of dataReads()) expect(read).toMatch(/^GET \/[A-Za-z0-9_-]{43}\/$/);
  });

  test('root_hash is compared without regard to case', async () => {
    publishAll();
    const upper = { ...claim(root(4)), root_hash: root(4).root_hash.toUpperCase() };
    await expect(witness().check(upper)).resolves.toEqual(PASS);
  });

  test('FAIL for a tampered copy, naming the root_hash the witness holds', async () => {
    publishAll();
    ar.tamper(3, FORGED);
    const outcomes = await witness().checkMany(roots.map(claim));
    expect(outcomes[2]).toEqual({ status: 'FAIL', reason: `the witness holds root_hash ${FORGED} for size 3` });
    expect(outcomes.filter((o) => o.status === 'PASS')).toHaveLength(5);
  });

  test('FAIL for a root the service rewrote, when the witness holds the original', async () => {
    publishAll();
    const rewritten = { ...claim(root(5)), root_hash: FORGED };
    await expect(witness().check(rewritten)).resolves.toEqual({ status: 'FAIL', reason: `the witness holds root_hash ${root(5).root_hash} for size 5` });
  });

  test('a mined copy that disagrees is FAIL even next to a good one, whichever came first', async () => {
    ar.publish({ ...root(2), root_hash: FORGED });
    publishAll();
    ar.publish({ ...root(4), root_hash: FORGED });
    const [two, four] = await witness().checkMany([claim(root(2)), claim(root(4))]);
    for (const [outcome, size] of [[two, 2], [four, 4]] as const) {
      expect(outcome).toEqual({ status: 'FAIL', reason: `the witness holds root_hash ${FORGED} for size ${size} (its 2 mined copies of that size disagree)` });
    }
  });

  test('identical copies of one size PASS', async () => {
    publishAll();
    ar.publish(root(2));
    ar.publish(root(2));
    await expect(witness().check(claim(root(2)))).resolves.toEqual(PASS);
    expect(dataReads()).toHaveLength(3);
  });

  test('a forged copy cannot hide behind more than a page of good ones', async () => {
    ar.publish({ ...root(1), root_hash: FORGED });
    for (let i = 0; i < 120; i++) ar.publish(root(1));
    const outcome = await witness({ maxInFlight: 8 }).check(claim(root(1)));
    expect(outcome).toEqual({ status: 'FAIL', reason: `the witness holds root_hash ${FORGED} for size 1 (its 2 mined copies of that size disagree)` });
    // Newest first, 100 a page: the forged copy is on the second page.
    expect(ar.queries.map((q) => q.first)).toEqual([100, 100]);
    expect(ar.queries[1]!.after).toBeDefined();
  });

  test('FAIL when the data is not a root record for that size', async () => {
    ar.publishRaw({ tree_name: treeName, size: 2 }, 'not json at all');
    ar.publishRaw({ tree_name: treeName, size: 3 }, JSON.stringify({ size: 3, published_at: '2025-01-01T00:00:00Z' }));
    ar.publishRaw({ tree_name: treeName, size: 4 }, JSON.stringify({ size: 7, root_hash: root(4).root_hash }));
    ar.publishRaw({ tree_name: treeName, size: 5 }, JSON.stringify({ size: 5, tree_name: 'another-tree', root_hash: root(5).root_hash }));
    const outcomes = await witness().checkMany([2, 3, 4, 5].map((s) => claim(root(s))));
    const reasons = outcomes.map((o) => (o.status === 'FAIL' ? o.reason : o.status));
    expect(reasons[0]).toMatch(/^the witness's copy of size 2 \(transaction [A-Za-z0-9_-]{43}\) is malformed: not JSON$/);
    expect(reasons[1]).toMatch(/copy of size 3 .* is malformed: root_hash is missing or not 64 hex characters$/);
    expect(reasons[2]).toMatch(/copy of size 4 .* is malformed: it says size 7$/);
    expect(reasons[3]).toMatch(/copy of size 5 .* is malformed: it names tree "another-tree"$/);
  });

  test('a claim that cannot be a published root is FAIL without asking the witness', async () => {
    publishAll();
    const w = witness();
    await expect(w.check({ ...claim(root(1)), root_hash: 'zz'.repeat(32) })).resolves.toEqual({
      status: 'FAIL',
      reason: "the root's root_hash is not 64 hex characters",
    });
    await expect(w.check({ ...claim(root(1)), size: 0 })).resolves.toEqual({ status: 'FAIL', reason: "the root's size 0 is not a positive integer" });
    await expect(w.check({ ...claim(root(1)), tree_name: '' })).resolves.toEqual({ status: 'FAIL', reason: 'the root has no tree_name' });
    expect(ar.requests).toEqual([]);
  });

  test('transactions of another tree or of sizes not asked for are ignored', async () => {
    ar.publish({ ...root(3), tree_name: 'f'.repeat(64), root_hash: FORGED });
    ar.publish(root(3));
    await expect(witness().check(claim(root(3)))).resolves.toEqual(PASS);
    expect(dataReads()).toHaveLength(1);
  });
});

describe('PENDING, with the reason', () => {
  test('no transaction for the size yet', async () => {
    ar.publish(root(1));
    await expect(witness().check(claim(root(2)))).resolves.toEqual({ status: 'PENDING', reason: 'the witness has no copy of size 2 yet' });
  });

  test('a transaction that is not mined yet', async () => {
    const id = ar.publish(root(2), { pending: true });
    await expect(witness().check(claim(root(2)))).resolves.toEqual({
      status: 'PENDING',
      reason: `the witness's copy of size 2 (transaction ${id}) is not mined yet (Pending)`,
    });
  });

  test('a listed transaction whose data is not there (404)', async () => {
    const id = ar.publish(root(3), { withoutData: true });
    await expect(witness().check(claim(root(3)))).resolves.toEqual({
      status: 'PENDING',
      reason: `the witness's copy of size 3 (transaction ${id}) has no data yet (HTTP 404)`,
    });
  });

  test('the witness answers 503', async () => {
    publishAll();
    ar.setDown(true);
    await expect(witness().check(claim(root(1)))).resolves.toEqual({
      status: 'PENDING',
      reason: `the witness at ${ar.baseUrl} answered the transactions query with HTTP 503 Service Unavailable`,
    });
  });

  test('the witness is unreachable (its server closed)', async () => {
    publishAll();
    await ar.close();
    const outcome = await witness().check(claim(root(1)));
    expect(outcome.status).toBe('PENDING');
    expect((outcome as { reason: string }).reason).toMatch(new RegExp(`^the witness at ${ar.baseUrl} could not be reached: .*ECONNREFUSED`));
  });

  test('the witness does not answer in time', async () => {
    publishAll();
    ar.setDelay(2_000);
    const started = performance.now();
    await expect(witness({ timeoutMs: 150 }).check(claim(root(1)))).resolves.toEqual({
      status: 'PENDING',
      reason: `the witness at ${ar.baseUrl} did not answer within 150 ms`,
    });
    expect(performance.now() - started).toBeLessThan(1_500);
  });
});

// Every copy of a size must be read and agree before the witness says PASS: the copies read so far
// agreeing says nothing about the ones that were not read (a forger's, or the genuine one).
describe('PASS only when every copy of the size was read', () => {
  const agreeing = (n: number, size: number, why: string): WitnessOutcome => ({
    status: 'PENDING',
    reason: `the witness's ${n === 1 ? 'one copy' : `${n} copies`} of size ${size} read so far ${n === 1 ? 'agrees' : 'agree'}, but not every copy could be read: ${why}`,
  });

  test('a copy whose data answers 404 next to a good one', async () => {
    publishAll();
    const id = ar.publish(root(3), { withoutData: true });
    await expect(witness().check(claim(root(3)))).resolves.toEqual(agreeing(1, 3, `the witness's copy of size 3 (transaction ${id}) has no data yet (HTTP 404)`));
  });

  test('an honest but flaky witness: a 5xx on one copy is PENDING, asked again after pendingRetryMs, then a final PASS', async () => {
    publishAll();
    ar.publish(root(2));
    const id = ar.publish(root(2));
    ar.setDataFault(id, { status: 502, statusText: 'Bad Gateway' });
    const w = witness({ pendingRetryMs: 200 });
    const flaky = agreeing(2, 2, `the witness at ${ar.baseUrl} answered HTTP 502 Bad Gateway for the witness's copy of size 2 (transaction ${id})`);
    await expect(w.check(claim(root(2)))).resolves.toEqual(flaky);
    ar.setDataFault(id, undefined);
    const seen = ar.requests.length;
    await expect(w.check(claim(root(2)))).resolves.toEqual(flaky);
    expect(ar.requests.length).toBe(seen);
    await sleep(250);
    await expect(w.check(claim(root(2)))).resolves.toEqual(PASS);
    expect(dataReads().filter((r) => r.includes(id))).toHaveLength(2);
    const settled = ar.requests.length;
    await sleep(250);
    await expect(w.check(claim(root(2)))).resolves.toEqual(PASS);
    expect(ar.requests.length).toBe(settled);
  });

  test('a copy whose read times out next to a good one', async () => {
    publishAll();
    const id = ar.publish(root(4));
    ar.setDataFault(id, { hang: true });
    const started = performance.now();
    await expect(witness({ timeoutMs: 150 }).check(claim(root(4)))).resolves.toEqual(agreeing(1, 4, `the witness at ${ar.baseUrl} did not answer within 150 ms`));
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  test('a disagreeing copy buried under more agreeing copies than the listing reads: PENDING, saying not all were read', async () => {
    ar.publish({ ...root(1), root_hash: FORGED });
    for (let i = 0; i < 100; i++) ar.publish(root(1));
    const w = witness({ maxPages: 1, pendingRetryMs: 200 });
    const truncated = agreeing(100, 1, 'the witness lists more than 100 transactions for these sizes; not all were read');
    await expect(w.check(claim(root(1)))).resolves.toEqual(truncated);
    expect(ar.queries).toHaveLength(1);
    // Not final: asked again once pendingRetryMs has passed.
    await sleep(250);
    await expect(w.check(claim(root(1)))).resolves.toEqual(truncated);
    expect(ar.queries).toHaveLength(2);
  });

  test('the genuine copy buried under a flood: the truncation is named first, then the other reasons', async () => {
    ar.publish(root(6));
    for (let i = 0; i < 99; i++) ar.publish(root(6));
    const missing = ar.publish(root(6), { withoutData: true });
    const outcome = await witness({ maxPages: 1 }).check(claim(root(6)));
    expect(outcome).toEqual(
      agreeing(99, 6, `the witness lists more than 100 transactions for these sizes; not all were read; the witness's copy of size 6 (transaction ${missing}) has no data yet (HTTP 404)`),
    );
  });

  test('a transactions answer with GraphQL errors next to its data is not taken as complete', async () => {
    publishAll();
    ar.setListingFault('errors');
    await expect(witness().check(claim(root(2)))).resolves.toEqual({
      status: 'PENDING',
      reason: `the witness at ${ar.baseUrl} gave an unusable answer to the transactions query: error "upstream timeout resolving tags"`,
    });
  });

  test('a listed edge without its transaction could be a copy of any size asked for', async () => {
    publishAll();
    ar.setListingFault('nullNode');
    const outcomes = await witness().checkMany([claim(root(2)), claim(root(6))]);
    // Newest first, so the edge that lost its node is size 2's only copy; size 6's copy was read.
    const why = 'the witness listed a transaction without its id and tags';
    expect(outcomes).toEqual([{ status: 'PENDING', reason: why }, agreeing(1, 6, why)]);
  });
});

describe('caching and sharing', () => {
  test('a PASS is final: not fetched again, even if the copy changes later', async () => {
    publishAll();
    const w = witness();
    await expect(w.check(claim(root(2)))).resolves.toEqual(PASS);
    const seen = ar.requests.length;
    ar.tamper(2, FORGED);
    await expect(w.check(claim(root(2)))).resolves.toEqual(PASS);
    expect(ar.requests.length).toBe(seen);
  });

  test('a FAIL is final, and is per size: a different claim for that size is judged from the cache', async () => {
    publishAll();
    ar.tamper(4, FORGED);
    const w = witness();
    expect((await w.check(claim(root(4)))).status).toBe('FAIL');
    const seen = ar.requests.length;
    ar.tamper(4, root(4).root_hash);
    expect((await w.check(claim(root(4)))).status).toBe('FAIL');
    await expect(w.check({ ...claim(root(4)), root_hash: FORGED })).resolves.toEqual(PASS);
    expect(ar.requests.length).toBe(seen);
  });

  test('a PENDING is reused for pendingRetryMs, then asked again', async () => {
    ar.publish(root(3), { pending: true });
    const w = witness({ pendingRetryMs: 300 });
    expect((await w.check(claim(root(3)))).status).toBe('PENDING');
    const seen = ar.requests.length;
    ar.mine(3);
    expect((await w.check(claim(root(3)))).status).toBe('PENDING');
    expect(ar.requests.length).toBe(seen);
    await sleep(350);
    await expect(w.check(claim(root(3)))).resolves.toEqual(PASS);
    expect(ar.requests.length).toBeGreaterThan(seen);
  });

  test('an unreachable witness is retried after pendingRetryMs too', async () => {
    publishAll();
    ar.setDown(true);
    const w = witness({ pendingRetryMs: 200 });
    expect((await w.check(claim(root(1)))).status).toBe('PENDING');
    ar.setDown(false);
    expect((await w.check(claim(root(1)))).status).toBe('PENDING');
    await sleep(250);
    await expect(w.check(claim(root(1)))).resolves.toEqual(PASS);
  });

  test('a copy not mined yet next to a good one is PENDING, re-checked, and turns FAIL once a forged copy is mined', async () => {
    publishAll();
    const id = ar.publish({ ...root(5), root_hash: FORGED }, { pending: true });
    const w = witness({ pendingRetryMs: 200 });
    await expect(w.check(claim(root(5)))).resolves.toEqual({
      status: 'PENDING',
      reason: `the witness's one copy of size 5 read so far agrees, but not every copy could be read: the witness's copy of size 5 (transaction ${id}) is not mined yet (Pending)`,
    });
    ar.mine(5);
    await sleep(250);
    expect(await w.check(claim(root(5)))).toEqual({
      status: 'FAIL',
      reason: `the witness holds root_hash ${FORGED} for size 5 (its 2 mined copies of that size disagree)`,
    });
  });

  test('concurrent checks of one root share one query and one read', async () => {
    publishAll();
    ar.setDelay(50);
    const w = witness();
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => w.check(claim(root(6)))));
    expect(outcomes).toEqual(outcomes.map(() => PASS));
    expect(queries()).toHaveLength(1);
    expect(dataReads()).toHaveLength(1);
  });

  test('separate checks made in the same turn share one transactions query', async () => {
    publishAll();
    const w = witness();
    const outcomes = await Promise.all(roots.map((r) => w.check(claim(r))));
    expect(outcomes).toEqual(roots.map(() => PASS));
    expect(queries()).toHaveLength(1);
    expect(ar.queries[0]!.tags[0]!.values).toHaveLength(6);
  });

  test('maxSizesPerQuery splits a batch into several queries', async () => {
    publishAll();
    await expect(witness({ maxSizesPerQuery: 4 }).checkMany(roots.map(claim))).resolves.toEqual(roots.map(() => PASS));
    expect(ar.queries.map((q) => q.tags[0]!.values)).toEqual([
      ['1', '2', '3', '4'],
      ['5', '6'],
    ]);
  });

  test('no more than maxInFlight requests reach the witness at once', async () => {
    publishAll();
    ar.setDelay(40);
    await expect(witness({ maxInFlight: 2 }).checkMany(roots.map(claim))).resolves.toEqual(roots.map(() => PASS));
    expect(dataReads()).toHaveLength(6);
    expect(ar.peakInFlight).toBe(2);
  });

  test('the cache is bounded: the least recently used verdict is dropped first', async () => {
    publishAll();
    const w = witness({ maxCacheEntries: 2 });
    for (const size of [1, 2]) await w.check(claim(root(size)));
    await w.check(claim(root(1))); // 1 is now the most recent
    await w.check(claim(root(3))); // evicts 2
    const seen = queries().length;
    await w.check(claim(root(1)));
    await w.check(claim(root(3)));
    expect(queries().length).toBe(seen);
    await expect(w.check(claim(root(2)))).resolves.toEqual(PASS);
    expect(queries().length).toBe(seen + 1);
  });
});

describe('cancellation and close', () => {
  test("an aborted caller's signal rejects its wait but not the shared lookup", async () => {
    publishAll();
    ar.setDelay(200);
    const w = witness();
    const caller = new AbortController();
    const cancelled = w.check(claim(root(2)), caller.signal);
    const other = w.check(claim(root(2)));
    setTimeout(() => caller.abort(new Error('client went away')), 30);
    await expect(cancelled).rejects.toThrow('client went away');
    await expect(other).resolves.toEqual(PASS);
    await expect(w.check(claim(root(1)), AbortSignal.abort(new Error('already gone')))).rejects.toThrow('already gone');
  });

  test('close ends lookups in flight with PENDING, and later checks say the witness is closed', async () => {
    publishAll();
    ar.setDelay(5_000);
    const w = witness();
    const started = performance.now();
    const inFlight = w.check(claim(root(1)));
    await sleep(50);
    await w.close();
    await expect(inFlight).resolves.toEqual({ status: 'PENDING', reason: 'the root witness was closed before the witness answered' });
    expect(performance.now() - started).toBeLessThan(2_000);
    await expect(w.check(claim(root(2)))).resolves.toEqual({ status: 'PENDING', reason: 'the root witness is closed' });
  });
});

describe('the vendor SDK against the same server', () => {
  test("Go's read path gives the same copy, base64url without padding", async () => {
    const id = ar.publish(root(6));
    const pendingId = ar.publish(root(5), { pending: true });
    const direct = await (await fetch(`${ar.baseUrl}/${id}/`)).text();
    const encoded = await (await fetch(`${ar.baseUrl}/tx/${id}/data`)).text();
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(encoded, 'base64url').toString('utf8')).toBe(direct);
    expect(JSON.parse(direct)).toMatchObject({ size: 6, root_hash: root(6).root_hash, consistency_proof: root(6).consistency_proof });
    const pending = await fetch(`${ar.baseUrl}/tx/${pendingId}/data`);
    expect([pending.status, pending.statusText, await pending.text()]).toEqual([202, 'Pending', 'Pending']);
  });

  test('reads its published roots there and agrees with the witness on a tampered copy', async () => {
    publishAll();
    const route = routeArweaveTo(ar.baseUrl);
    try {
      const sdk = (): AuditService => new AuditService(svc.token, new PangeaConfig({ baseUrlTemplate: svc.url, requestRetries: 0 }));
      const search = async (): Promise<Map<number, string | undefined>> => {
        const res = await sdk().search('actor:witness-test', { limit: 10, order: 'asc' }, { verifyConsistency: true });
        return new Map(res.result.events.map((e) => [Number(e.leaf_index), e.consistency_verification]));
      };
      const genuine = await search();
      expect([...genuine.values()]).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
      // Its query carries the same tags the witness sends, and it reads each copy at <base>/<id>/.
      expect(ar.queries[0]!.tags.map((t) => t.name)).toEqual(['tree_size', 'tree_name']);
      expect(ar.queries[0]!.tags[1]!.values).toEqual([treeName]);
      expect(dataReads().length).toBeGreaterThanOrEqual(6);
      expect(route.rerouted.some((url) => url === 'https://arweave.net/graphql')).toBe(true);

      ar.tamper(3, FORGED);
      const tampered = await search();
      // Leaves 2 and 3 need the root of size 3: the SDK's consistency check fails for exactly those.
      expect([...tampered.entries()].filter(([, v]) => v !== 'pass').map(([leaf]) => leaf)).toEqual([2, 3]);
      const outcomes = await witness().checkMany(roots.map(claim));
      expect(outcomes.map((o) => o.status)).toEqual(['PASS', 'PASS', 'FAIL', 'PASS', 'PASS', 'PASS']);
    } finally {
      route.restore();
    }
  });
});
