// The lying upstream (test/support/lying-upstream.ts) itself, at the REST level: through it, the
// project's own AuditClient talks to a real local audit service, and every lie must really
// happen on the wire (and only when switched on), while answers stay valid envelopes. The gateway
// tests in lying-upstream.test.ts rely on this: a lie the proxy failed to tell would make a
// gateway that "detects" it look better than it is.
import Database from 'better-sqlite3';
import { generateKeyPairSync } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { AuditClient } from '../../src/audit-client/index.js';
import type { PublishedRoot, SearchEvent, SearchResult } from '../../src/wire/index.js';
import { hashEnvelope, publicKeyPem, signEvent, verifyConsistency, verifyMembership, verifySignature } from '../../src/merkle/index.js';
import { startLyingUpstream, type LyingUpstream } from '../support/lying-upstream.js';
import { startTestService } from '../support/local-audit.js';
import { auditDbPath, REWRITTEN_MESSAGE, rewriteLeaves, withAuditDb } from '../support/tamper.js';

const newKey = (): string => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

/** The root a page's event proves membership against. */
function rootFor(page: { root?: PublishedRoot; unpublished_root?: { root_hash: string } }, event: SearchEvent): string | undefined {
  return event.published ? page.root?.root_hash : page.unpublished_root?.root_hash;
}

/** POSTs through the proxy with fetch, to look at the bytes and headers themselves. */
async function raw(up: LyingUpstream, path: string, body: unknown, token = up.token) {
  const res = await fetch(`${up.url}/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, json: JSON.parse(bytes.toString('utf8')) };
}

/** A valid envelope whose declared length is its real length. */
function expectEnvelope(answer: Awaited<ReturnType<typeof raw>>): void {
  expect(Number(answer.headers.get('content-length'))).toBe(answer.bytes.length);
  expect(answer.json.request_id).toMatch(/^prq_[a-z0-9]{32}$/);
  expect(Object.keys(answer.json).sort()).toEqual(['request_id', 'request_time', 'response_time', 'result', 'status', 'summary']);
}

describe('lying upstream: honest by default, and each lie on the wire', () => {
  let up: LyingUpstream;
  let client: AuditClient;
  const search = async (extra: Record<string, unknown> = {}): Promise<SearchResult> =>
    (await client.search({ query: 'actor:harness', limit: 50, verbose: true, ...extra })).result;

  beforeAll(async () => {
    up = await startLyingUpstream();
    client = new AuditClient({ baseUrl: up.url, token: up.token, retry: { retries: 0 } });
    const batch = (tenant: string, n: number, from: number) =>
      Array.from({ length: n }, (_, i) => ({ event: { message: `${tenant} event ${from + i}`, actor: 'harness', tenant_id: tenant } }));
    // Several publications, so there are older roots to roll back to.
    await client.logBulk({ events: batch('t1', 6, 0) });
    up.publish();
    await client.logBulk({ events: batch('t2', 4, 0) });
    up.publish();
    await client.logBulk({ events: batch('t1', 2, 6) });
    up.publish();
    // Two unpublished ones.
    await client.logBulk({ events: batch('t1', 2, 8) });
  });
  afterEach(async () => {
    up.honest();
    await up.fork(false);
  });
  afterAll(async () => {
    await client.close();
    await up.close();
  });

  test('honest: the service answers through it (token swapped, statuses and errors kept, content-length right)', async () => {
    const direct = await up.primary.post('v1/root', {});
    const through = await raw(up, 'v1/root', {});
    expectEnvelope(through);
    expect(through.status).toBe(200);
    expect(through.json.result).toEqual(direct.result);
    expect(up.calls.at(-1)).toMatchObject({ method: 'POST', path: '/v1/root', served: 'primary', status: 200, lies: [] });

    const page = await search();
    expect(page.count).toBe(14);
    expect(page.events.filter((e) => e.published)).toHaveLength(12);
    for (const e of page.events) expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: rootFor(page, e) }).status).toBe('PASS');

    // Another token is passed on as it is, and refused by the service.
    const wrong = await raw(up, 'v1/root', {}, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.json.status).toBe('Unauthorized');
    await expect(new AuditClient({ baseUrl: up.url, token: 'nope', retry: { retries: 0 } }).root()).rejects.toMatchObject({ name: 'UnauthorizedError' });
    // Audit-specific errors keep their status.
    await expect(client.results({ id: page.id, offset: 500 })).rejects.toMatchObject({ name: 'BadOffsetError' });
    const badOffset = await raw(up, 'v1/results', { id: page.id, offset: 500 });
    expect(badOffset.status).toBe(400);
    expectEnvelope(badOffset);
    // 202 and polling: the location points at the proxy, and the poll goes through it.
    const accepted = await client.logBulkAsync({ events: [{ event: { message: 'async through the proxy', actor: 'async' } }] });
    expect(accepted.status).toBe('Accepted');
    expect('location' in accepted && accepted.location.startsWith(up.url)).toBe(true);
    const done = await client.logBulkAsync({ events: [{ event: { message: 'async polled', actor: 'async' } }] }, { poll: true });
    expect(done.result.results).toHaveLength(1);
    expect(up.calls.some((c) => c.method === 'GET' && c.path.startsWith('/request/'))).toBe(true);
    // Download links too: the file comes through the proxy unchanged (gzip, no token).
    const link = (await client.downloadResults({ result_id: page.id, format: 'json' })).result;
    expect(link.dest_url.startsWith(`${up.url}/`)).toBe(true);
    const file = await fetch(link.dest_url);
    expect(file.status).toBe(200);
    expect(JSON.parse(gunzipSync(Buffer.from(await file.arrayBuffer())).toString('utf8')).events).toHaveLength(14);
    expect(up.calls.every((c) => c.lies.length === 0)).toBe(true);
  });

  test('strip: each part is withheld from search and results pages, and only while switched on', async () => {
    const perEvent = [
      ['hash', 'hash'],
      ['membershipProof', 'membership_proof'],
      ['published', 'published'],
      ['leafIndex', 'leaf_index'],
    ] as const;
    for (const [flag, key] of perEvent) {
      up.strip({ [flag]: true });
      const page = await search();
      expect(page.events).toHaveLength(14);
      for (const e of page.events) expect(e).not.toHaveProperty(key);
      const next = (await client.results({ id: page.id, offset: 3, limit: 5 })).result;
      expect(next.events).toHaveLength(5);
      for (const e of next.events) expect(e).not.toHaveProperty(key);
      expect(up.calls.at(-1)!.lies).toEqual([`stripped ${key} from 5 events`]);
    }
    up.strip({ root: true });
    let page = await search();
    expect(page).not.toHaveProperty('root');
    expect(page.unpublished_root).toBeDefined();
    up.strip({ unpublishedRoot: true });
    page = await search();
    expect(page).not.toHaveProperty('unpublished_root');
    expect(page.root).toBeDefined();
    expect((await client.results({ id: page.id, limit: 2 })).result).not.toHaveProperty('unpublished_root');

    up.strip({ consistencyProofOfRoot: true });
    page = await search();
    expect(page.root).toBeDefined();
    expect(page.root).not.toHaveProperty('consistency_proof');
    expect((await client.root()).result.data).not.toHaveProperty('consistency_proof');
    expect((await client.root({ tree_size: 7 })).result.data).not.toHaveProperty('consistency_proof');
    const rootAnswer = await raw(up, 'v1/root', { tree_size: 5 });
    expectEnvelope(rootAnswer);
    expect(rootAnswer.json.result.data.size).toBe(5);

    // Only the chosen events.
    up.strip({ membershipProof: true }, (e) => e.envelope.event.tenant_id === 't2');
    page = await search();
    for (const e of page.events) expect('membership_proof' in e).toBe(e.envelope.event.tenant_id !== 't2');

    up.honest();
    page = await search();
    expect(page.root?.consistency_proof).toBeDefined();
    for (const e of page.events) expect(e).toHaveProperty('membership_proof');
    const stripped = await raw(up, 'v1/search', { query: 'actor:harness', limit: 3 });
    expectEnvelope(stripped);
  });

  test('dropEvents: pages lose events, count stays', async () => {
    up.dropEvents(2);
    let page = await search();
    expect(page.count).toBe(14);
    expect(page.events).toHaveLength(12);
    const next = (await client.results({ id: page.id, offset: 4, limit: 4 })).result;
    expect(next.count).toBe(14);
    expect(next.events).toHaveLength(2);
    up.dropEvents((e) => e.envelope.event.tenant_id === 't2');
    page = await search();
    expect(page.count).toBe(14);
    expect(page.events).toHaveLength(10);
    expect(page.events.some((e) => e.envelope.event.tenant_id === 't2')).toBe(false);
    up.dropEvents(0);
    expect((await search()).events).toHaveLength(14);
  });

  test('ignoreRestriction: the forced restriction never reaches the service, so other tenants come back', async () => {
    const restriction = { tenant_id: ['t1'] };
    const honest = await search({ search_restriction: restriction });
    expect(honest.count).toBe(10);
    await expect(client.results({ id: honest.id, assert_search_restriction: { tenant_id: ['t2'] } })).rejects.toMatchObject({ name: 'ValidationError' });

    up.ignoreRestriction(true);
    const lying = await search({ search_restriction: restriction });
    expect(lying.count).toBe(14);
    expect(lying.events.filter((e) => e.envelope.event.tenant_id === 't2')).toHaveLength(4);
    const call = up.calls.at(-1)!;
    expect(call.request.search_restriction).toEqual(restriction);
    expect(call.forwarded).not.toHaveProperty('search_restriction');
    expect(call.lies).toEqual(['removed search_restriction {"tenant_id":["t1"]}']);
    // The set was made unrestricted; asserting the restriction would refuse it, so the assertion goes too.
    const paged = (await client.results({ id: lying.id, offset: 0, limit: 20, assert_search_restriction: restriction })).result;
    expect(paged.events.some((e) => e.envelope.event.tenant_id === 't2')).toBe(true);
    expect(up.calls.at(-1)!.forwarded).not.toHaveProperty('assert_search_restriction');
    up.ignoreRestriction(false);
    await expect(client.results({ id: lying.id, assert_search_restriction: restriction })).rejects.toMatchObject({ name: 'ValidationError' });
  });

  test('withholdLogConsistencyProof: v1/log answers lose the proof a known prev_root earns', async () => {
    const first = (await client.log({ event: { message: 'log 1', actor: 'logger' }, verbose: true })).result;
    const second = (await client.log({ event: { message: 'log 2', actor: 'logger' }, verbose: true, prev_root: first.unpublished_root! })).result;
    expect(second.consistency_proof?.length).toBeGreaterThan(0);
    expect(verifyConsistency({ oldRootHash: first.unpublished_root, newRootHash: second.unpublished_root, proof: second.consistency_proof }).status).toBe('PASS');
    up.withholdLogConsistencyProof(true);
    const third = (await client.log({ event: { message: 'log 3', actor: 'logger' }, verbose: true, prev_root: second.unpublished_root! })).result;
    expect(third).not.toHaveProperty('consistency_proof');
    expect(third.membership_proof).toBeDefined();
    expect(up.calls.at(-1)!.lies).toEqual(['withheld consistency_proof']);
  });

  test('rollback: the latest root (v1/root and page roots) is the real root k sizes back; sized v1/root stays honest', async () => {
    const latest = (await client.root()).result.data;
    up.rollback(2);
    const rolled = (await client.root()).result.data;
    expect(rolled.size).toBe(latest.size - 2);
    expect(rolled).toEqual((await up.primary.post<{ data: PublishedRoot }>('v1/root', { tree_size: latest.size - 2 })).result.data);
    expect((await client.root({ tree_size: latest.size })).result.data).toEqual(latest);
    const page = await search();
    expect(page.root?.size).toBe(latest.size - 2);
    expect(up.calls.at(-1)!.lies).toEqual([`root rolled back from size ${latest.size} to ${latest.size - 2}`]);
    // The events' proofs still lead to the real root, not to the one shown.
    const published = page.events.filter((e) => e.published);
    expect(published.every((e) => verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: page.root!.root_hash }).status === 'FAIL')).toBe(true);
  });

  test('resign: events come back signed by the attacker, hashes recomputed, so the tree no longer holds them', async () => {
    const attacker = newKey();
    up.resign(attacker);
    const page = await search();
    const pem = publicKeyPem(attacker);
    for (const e of page.events) {
      expect(JSON.parse(e.envelope.public_key!).key).toBe(pem);
      expect(verifySignature({ event: e.envelope.event, signature: e.envelope.signature, publicKey: e.envelope.public_key }).status).toBe('PASS');
      expect(hashEnvelope(e.envelope)).toBe(e.hash);
      expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: rootFor(page, e) }).status).toBe('FAIL');
    }
    up.resign(null);
    for (const e of (await search()).events) expect(e.envelope.signature).toBeUndefined();
  });

  test('fork: a second history with one event changed, consistent with itself, same sizes and roots count', async () => {
    const before = (await client.root()).result.data;
    const primaryPage = await search({ order: 'asc' });
    await up.fork(true, { leaf: 3 });
    expect(up.served).toBe(up.forkService);
    const forked = (await client.root()).result.data;
    expect(up.calls.at(-1)!.served).toBe('fork');
    expect(forked.size).toBe(before.size);
    expect(forked.tree_name).toBe(before.tree_name);
    expect(forked.root_hash).not.toBe(before.root_hash);
    // Consistent with itself: every proof holds against the fork's roots.
    const page = await search({ order: 'asc' });
    expect(page.count).toBe(primaryPage.count);
    expect(page.events.find((e) => e.leaf_index === 3)!.envelope.event.message).toBe(REWRITTEN_MESSAGE);
    // Its searchable columns were rewritten too: the fork finds it by what it now says.
    expect((await search({ query: `message:"${REWRITTEN_MESSAGE}"` })).events.map((e) => e.leaf_index)).toEqual([3]);
    expect(page.events.find((e) => e.leaf_index === 2)!.hash).toBe(primaryPage.events.find((e) => e.leaf_index === 2)!.hash);
    for (const e of page.events) {
      expect(hashEnvelope(e.envelope)).toBe(e.hash);
      expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: rootFor(page, e) }).status).toBe('PASS');
    }
    for (let size = 2; size <= forked.size; size++) {
      const [older, newer] = [(await client.root({ tree_size: size - 1 })).result.data, (await client.root({ tree_size: size })).result.data];
      expect(verifyConsistency({ oldRootHash: older.root_hash, newRootHash: newer.root_hash, proof: newer.consistency_proof, sizes: { oldSize: size - 1, newSize: size } }).status).toBe('PASS');
    }
    // Root 3 (before the changed leaf) is the same; root 4 on is not.
    expect((await client.root({ tree_size: 3 })).result.data.root_hash).toBe((await up.primary.post<{ data: PublishedRoot }>('v1/root', { tree_size: 3 })).result.data.root_hash);
    expect((await client.root({ tree_size: 4 })).result.data.root_hash).not.toBe((await up.primary.post<{ data: PublishedRoot }>('v1/root', { tree_size: 4 })).result.data.root_hash);
    // Same published sizes in both files.
    const sizes = (path: string) => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare('SELECT size FROM published_roots ORDER BY size').pluck().all();
      } finally {
        db.close();
      }
    };
    expect(sizes(auditDbPath(up.forkService!.dataDir))).toEqual(sizes(auditDbPath(up.primary.dataDir)));
    // Writes while forked go to the fork; the primary is untouched.
    const primarySize = up.primary.log.size;
    await client.log({ event: { message: 'written to the fork', actor: 'fork' } });
    expect(up.forkService!.log.size).toBe(primarySize + 1);
    expect(up.primary.log.size).toBe(primarySize);

    await up.fork(false);
    expect((await client.root()).result.data).toEqual(before);
    expect(up.calls.at(-1)!.served).toBe('primary');
  });
});

test('resignAtRest: the stored events are re-signed and the tree and roots rebuilt, so only the signing key tells', async () => {
  const up = await startLyingUpstream();
  const legit = newKey();
  const client = new AuditClient({ baseUrl: up.url, token: up.token, signer: (event) => signEvent(event as Record<string, unknown>, legit) });
  try {
    await client.logBulk({ events: Array.from({ length: 6 }, (_, i) => ({ event: { message: `signed ${i}`, actor: 'signer' } })) });
    up.publish();
    await client.logBulk({ events: [{ event: { message: 'signed 6', actor: 'signer' } }] });
    up.publish();
    const before = (await client.root()).result.data;
    const attacker = newKey();
    const changed = up.resignAtRest(attacker, [1, 4]);
    expect(changed.map((c) => c.leaf)).toEqual([1, 4]);
    expect(changed.every((c) => c.oldHash !== c.newHash)).toBe(true);

    const after = (await client.root()).result.data;
    expect(after.size).toBe(before.size);
    expect(after.root_hash).not.toBe(before.root_hash);
    const older = (await client.root({ tree_size: after.size - 1 })).result.data;
    expect(verifyConsistency({ oldRootHash: older.root_hash, newRootHash: after.root_hash, proof: after.consistency_proof, sizes: { oldSize: older.size, newSize: after.size } }).status).toBe('PASS');
    const page = (await client.search({ query: 'actor:signer', order: 'asc', limit: 20 })).result;
    expect(page.root).toEqual(after);
    for (const e of page.events) {
      expect(hashEnvelope(e.envelope)).toBe(e.hash);
      expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: page.root!.root_hash, position: { leafIndex: e.leaf_index!, treeSize: page.root!.size, oneEventPerLeaf: true } }).status).toBe('PASS');
      expect(verifySignature({ event: e.envelope.event, signature: e.envelope.signature, publicKey: e.envelope.public_key }).status).toBe('PASS');
      const key = JSON.parse(e.envelope.public_key!).key;
      expect(key).toBe(publicKeyPem([1, 4].includes(e.leaf_index!) ? attacker : legit));
    }
    expect(changed.map((c) => c.newHash)).toEqual([1, 4].map((leaf) => page.events.find((e) => e.leaf_index === leaf)!.hash));
    // Nothing was lied about in transit.
    expect(up.calls.every((c) => c.lies.length === 0)).toBe(true);
  } finally {
    await client.close();
    await up.close();
  }
});

test('tamper.ts keeps the searchable columns and the trigram index in step with a rewritten field', async () => {
  // The trigram index narrows searches only from this many events on: use it from the first.
  const service = await startTestService({ prefilterMinEvents: 0 });
  try {
    const logged = await service.post('v2/log', { events: Array.from({ length: 5 }, (_, i) => ({ event: { message: `m${i}`, actor: 'harness-actor', target: `t${i}` } })) });
    expect(logged.status).toBe('Success');
    const find = async (query: string) => ((await service.post<SearchResult>('v1/search', { query, order: 'asc' })).result.events ?? []).map((e) => e.leaf_index ?? -1);
    expect(await find('actor:mallory')).toEqual([]);
    withAuditDb(service.dataDir, (db) =>
      rewriteLeaves(db, [2], (envelope) => {
        envelope.event.actor = 'mallory';
      }),
    );
    service.publishNow();
    expect(await find('actor:mallory')).toEqual([2]);
    expect(await find('actor:harness-actor')).toEqual([0, 1, 3, 4]);
    const events = (await service.post<SearchResult>('v1/search', { query: 'actor:mallory' })).result.events;
    expect(hashEnvelope(events[0]!.envelope)).toBe(events[0]!.hash);
  } finally {
    await service.destroy();
  }
});
