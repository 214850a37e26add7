// Every mutation and non-paging query end to end, through POST /graphql on the real listener of a
// gateway started with startGateway() over the embedded local audit service (real SQLite).
import { createPublicKey, verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { JobHandles } from '../../src/auth/job-handles.js';
import { loadConfig } from '../../src/config.js';
import { canonicalJson, hashEnvelope } from '../../src/merkle/index.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const LOG = `
  mutation Log($event: AuditEventInput!, $options: LogOptions) {
    log(event: $event, options: $options) {
      __typename
      ... on LogResult {
        hash envelope receivedAt unpublishedRoot membershipProof consistencyProof
        verification { hash membership consistency signature failures }
      }
      ... on Error { message }
      ... on InputError { argument }
      ... on UpstreamValidationError { fieldErrors { code detail source path } }
    }
  }`;

const LOG_EVENT = `
  mutation LogEvent($event: JSON!, $options: LogOptions) {
    logEvent(event: $event, options: $options) {
      __typename
      ... on LogResult { hash envelope verification { hash membership consistency signature failures } }
      ... on Error { message }
      ... on InputError { argument }
      ... on UpstreamValidationError { fieldErrors { code detail source path } }
    }
  }`;

const LOG_BULK = `
  mutation LogBulk($events: [AuditEventInput!]!, $options: LogOptions) {
    logBulk(events: $events, options: $options) {
      __typename
      ... on LogBulkResult { count results { hash envelope hashVerification signatureVerification } }
      ... on Error { message }
      ... on InputError { argument }
      ... on UpstreamValidationError { requestId fieldErrors { code detail source path } }
    }
  }`;

const LOG_BULK_ASYNC = `
  mutation LogBulkAsync($events: [AuditEventInput!]!, $options: LogOptions) {
    logBulkAsync(events: $events, options: $options) {
      __typename
      ... on AcceptedRequest { requestId ttlMins retryCounter location }
      ... on Error { message }
      ... on InputError { argument }
    }
  }`;

const POLL = `
  query Poll($id: ID!) {
    pollResult(requestId: $id) {
      __typename
      ... on PollResult { requestId done result accepted { requestId retryCounter } logBulk { count results { hash hashVerification signatureVerification } } }
      ... on Error { message }
    }
  }`;

const EXPORT = `
  mutation Export($format: DownloadFormat, $start: String, $order: SortOrder, $verbose: Boolean) {
    export(format: $format, start: $start, order: $order, verbose: $verbose) {
      __typename
      ... on AcceptedRequest { requestId ttlMins location }
      ... on Error { message }
      ... on InputError { argument }
    }
  }`;

const DOWNLOAD = `
  mutation Download($resultId: ID, $requestId: ID, $format: DownloadFormat) {
    downloadResults(resultId: $resultId, requestId: $requestId, format: $format) {
      __typename
      ... on DownloadLink { url expiresAt }
      ... on Error { message }
      ... on InputError { argument }
    }
  }`;

const ROOT = `
  query Root($size: Int) {
    root(treeSize: $size) {
      __typename
      ... on PublishedRoot { treeName size rootHash publishedAt url consistencyProof consistency consistencyFailure }
      ... on Error { message }
      ... on InputError { argument }
      ... on UpstreamValidationError { fieldErrors { code source path } }
    }
  }`;

const SEARCH = `
  query Search($query: String!, $first: Int, $order: SortOrder) {
    search(query: $query, first: $first, order: $order) {
      __typename
      ... on AuditEventConnection {
        totalCount resultId
        edges { node { hash message actor action target status source new published leafIndex signature publicKey event
          verification { hash membership consistency signature verified failures } } }
      }
      ... on Error { message }
    }
  }`;

/** Polls until the request is done (the local service runs jobs in the background). */
async function pollUntilDone(gw: TestGateway, requestId: string): Promise<Json> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { pollResult } = await gw.runOk(POLL, { id: requestId });
    expect(pollResult.__typename).toBe('PollResult');
    if (pollResult.done) return pollResult;
    expect(pollResult.accepted.requestId).toBe(requestId);
    if (Date.now() > deadline) throw new Error(`request ${requestId} did not finish`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function fetchGunzip(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8');
}

describe('gateway mutations and queries (embedded service, signing key configured)', () => {
  let gw: TestGateway;
  let keyFile: string;

  beforeAll(async () => {
    gw = await startTestGateway({ signingKey: true });
    keyFile = gw.signingKeyFile!;
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('root before anything is published is a TreeNotFoundError', async () => {
    const root = await gw.runError(ROOT, {}, 'TreeNotFoundError');
    expect(root.message).toMatch(/no root has been published/);
  });

  test('log verbose returns the stored envelope, the root and a proof; verify twice chains consistency', async () => {
    const verbose = (await gw.runOk(LOG, { event: { message: 'verbose one', actor: 'alice', action: 'login' }, options: { verbose: true } })).log;
    expect(verbose.__typename).toBe('LogResult');
    expect(verbose.envelope.event).toEqual({ message: 'verbose one', actor: 'alice', action: 'login' });
    expect(verbose.receivedAt).toBe(verbose.envelope.received_at);
    expect(hashEnvelope(verbose.envelope)).toBe(verbose.hash);
    expect(verbose.unpublishedRoot).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof verbose.membershipProof).toBe('string');
    expect(verbose.consistencyProof).toBeNull();
    // Verbose without verify: hash/membership are checked; nothing to chain; unsigned.
    expect(verbose.verification).toEqual({ hash: 'PASS', membership: 'PASS', consistency: 'NONE', signature: 'NONE', failures: [] });

    // Without verbose the service returns only the hash: nothing can be checked.
    const terse = (await gw.runOk(LOG, { event: { message: 'terse' } })).log;
    expect(terse.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(terse.envelope).toBeNull();
    expect(terse.unpublishedRoot).toBeNull();
    expect(terse.verification).toMatchObject({ hash: 'NONE', membership: 'NONE', consistency: 'NONE', signature: 'NONE' });
    // Not verified, and said so: every plain log gets the same verdict and reason.
    const VERDICT = `mutation Log($event: AuditEventInput!) { log(event: $event) { ... on LogResult { verification { verdict verdictReason verified failures } } } }`;
    const verdicts = await Promise.all(['terse 2', 'terse 3'].map(async (message) => (await gw.runOk(VERDICT, { event: { message } })).log.verification));
    expect(verdicts[0]).toEqual(verdicts[1]);
    expect(verdicts[0].verdict).not.toBe('VERIFIED');
    expect(verdicts[0].verified).toBe(false);
    expect(verdicts[0].verdictReason).toMatch(/not verbose|not verified/);
    expect(verdicts[0].failures).toEqual([]);

    const first = (await gw.runOk(LOG, { event: { message: 'verify one' }, options: { verify: true } })).log;
    expect(first.verification.hash).toBe('PASS');
    expect(first.verification.membership).toBe('PASS');
    // The first verified log of this gateway has nothing to chain from.
    expect(first.verification.consistency).toBe('NONE');
    const second = (await gw.runOk(LOG, { event: { message: 'verify two' }, options: { verify: true } })).log;
    expect(second.consistencyProof).not.toBeNull();
    expect(second.consistencyProof.length).toBeGreaterThan(0);
    expect(second.verification).toEqual({ hash: 'PASS', membership: 'PASS', consistency: 'PASS', signature: 'NONE', failures: [] });
    // A non-verify log in between does not break the chain: the service proves from the old root.
    await gw.runOk(LOG, { event: { message: 'in between' } });
    const third = (await gw.runOk(LOG, { event: { message: 'verify three' }, options: { verify: true } })).log;
    expect(third.verification.consistency).toBe('PASS');
  });

  test('signLocal signs with the SIGNING_KEY_FILE key; the signature verifies with node:crypto too', async () => {
    const log = (await gw.runOk(LOG, { event: { message: 'signed', actor: 'bob', old: { a: 1 } }, options: { verify: true, signLocal: true } })).log;
    expect(log.__typename).toBe('LogResult');
    expect(log.verification.signature).toBe('PASS');
    expect(log.verification.failures).toEqual([]);
    const { envelope } = log;
    // JSON input values travel as canonical JSON strings.
    expect(envelope.event).toEqual({ message: 'signed', actor: 'bob', old: '{"a":1}' });
    expect(typeof envelope.signature).toBe('string');
    // The stored public key is the key file's public key, and the signature covers canonical(event).
    const publicKey = createPublicKey(readFileSync(keyFile, 'utf8'));
    expect(JSON.parse(envelope.public_key)).toEqual({ algorithm: 'ED25519', key: publicKey.export({ format: 'pem', type: 'spki' }) });
    expect(edVerify(null, Buffer.from(canonicalJson(envelope.event)), publicKey, Buffer.from(envelope.signature, 'base64'))).toBe(true);
  });

  test('logEvent logs any JSON object; non-objects are InputError', async () => {
    const r = (await gw.runOk(LOG_EVENT, { event: { message: 'json event', status: 'ok', new: { k: [1, 2] } }, options: { verbose: true } })).logEvent;
    expect(r.__typename).toBe('LogResult');
    expect(r.envelope.event).toEqual({ message: 'json event', status: 'ok', new: '{"k":[1,2]}' });
    expect(r.verification.hash).toBe('PASS');
    for (const bad of ['a string', [1, 2], 42]) {
      const err = await gw.runError(LOG_EVENT, { event: bad }, 'InputError');
      expect(err.argument).toBe('event');
    }
    // The service's own validation errors keep the field path.
    const invalid = await gw.runError(LOG_EVENT, { event: { actor: 'no message' } }, 'UpstreamValidationError');
    expect(invalid.fieldErrors).toEqual([expect.objectContaining({ code: 'FieldRequired', source: '/event/message', path: 'event.message' })]);
  });

  test('log with an upstream validation error keeps code, source and path', async () => {
    const err = await gw.runError(LOG, { event: { message: 'x'.repeat(40_000) } }, 'UpstreamValidationError');
    expect(err.fieldErrors.length).toBeGreaterThan(0);
    expect(err.fieldErrors[0]).toMatchObject({ source: '/event/message', path: 'event.message' });
    expect(err.fieldErrors[0].code).toMatch(/Max/);
  });

  test('logBulk verbose returns every envelope in order, checked by the gateway', async () => {
    const events = [1, 2, 3].map((i) => ({ message: `bulk ${i}`, actor: 'bulker' }));
    const r = (await gw.runOk(LOG_BULK, { events, options: { verbose: true } })).logBulk;
    expect(r.__typename).toBe('LogBulkResult');
    expect(r.count).toBe(3);
    expect(r.results.map((x: Json) => x.envelope.event.message)).toEqual(['bulk 1', 'bulk 2', 'bulk 3']);
    for (const x of r.results) {
      expect(hashEnvelope(x.envelope)).toBe(x.hash);
      expect(x.hashVerification).toBe('PASS');
      expect(x.signatureVerification).toBe('NONE');
    }
    const signed = (await gw.runOk(LOG_BULK, { events: [{ message: 'bulk signed' }], options: { verbose: true, signLocal: true } })).logBulk;
    expect(signed.results[0].signatureVerification).toBe('PASS');
    const terse = (await gw.runOk(LOG_BULK, { events: [{ message: 'bulk terse' }] })).logBulk;
    expect(terse.results[0].envelope).toBeNull();
    expect(terse.results[0].hashVerification).toBe('NONE');
  });

  test('logBulk refuses more than 1000 events and an empty list before calling upstream', async () => {
    const before = gw.local!.log.size;
    const many = Array.from({ length: 1001 }, (_, i) => ({ message: `m${i}` }));
    const tooMany = await gw.runError(LOG_BULK, { events: many }, 'InputError');
    expect(tooMany.argument).toBe('events');
    expect(tooMany.message).toMatch(/1000/);
    const none = await gw.runError(LOG_BULK, { events: [] }, 'InputError');
    expect(none.argument).toBe('events');
    expect(gw.local!.log.size).toBe(before);
  });

  test('logBulk with an invalid event is an UpstreamValidationError naming the event; nothing is stored', async () => {
    const before = gw.local!.log.size;
    const err = await gw.runError(LOG_BULK, { events: [{ message: 'fine' }, { message: 'bad', actor: 'a'.repeat(500) }] }, 'UpstreamValidationError');
    expect(err.requestId).toMatch(/\S/);
    // The message is the service's summary, not the client's line with endpoint and HTTP status.
    expect(err.message).not.toMatch(/v2\/log|HTTP 400|request prq_/);
    expect(err.fieldErrors).toHaveLength(1);
    expect(err.fieldErrors[0]).toMatchObject({ source: '/events/1/event/actor', path: 'events.1.actor' });
    expect(err.fieldErrors[0].code).toMatch(/\S/);
    expect(err.fieldErrors[0].detail).toMatch(/\S/);
    expect(gw.local!.log.size).toBe(before);
  });

  test('signLocal with logBulk and logBulkAsync works; logBulkAsync + pollResult until done', async () => {
    const before = gw.local!.log.size;
    const accepted = (await gw.runOk(LOG_BULK_ASYNC, { events: [{ message: 'async 1' }, { message: 'async 2' }], options: { verbose: true, signLocal: true } })).logBulkAsync;
    expect(accepted.__typename).toBe('AcceptedRequest');
    expect(accepted.requestId).toMatch(/\S/);
    const done = await pollUntilDone(gw, accepted.requestId);
    expect(done.accepted).toBeNull();
    const results = done.result.results as Json[];
    expect(results.map((x) => x.envelope.event.message)).toEqual(['async 1', 'async 2']);
    for (const x of results) {
      expect(hashEnvelope(x.envelope)).toBe(x.hash);
      expect(typeof x.envelope.signature).toBe('string');
    }
    // The same checks logBulk carries, made by the gateway on the finished request.
    expect(done.logBulk).toEqual({ count: 2, results: results.map((x) => ({ hash: x.hash, hashVerification: 'PASS', signatureVerification: 'PASS' })) });
    expect(gw.local!.log.size).toBe(before + 2);
    const tooMany = await gw.runError(LOG_BULK_ASYNC, { events: Array.from({ length: 1001 }, () => ({ message: 'm' })) }, 'InputError');
    expect(tooMany.argument).toBe('events');
  });

  test('pollResult of an unknown request is a typed error', async () => {
    // A valid handle (sealed with the test gateway's cursor secret) of a job the upstream does not know.
    const handle = new JobHandles(Buffer.from('test', 'utf8')).seal({ upstreamId: 'prq_doesnotexist', kind: 'logBulkAsync', callerId: 'local', tenantId: undefined });
    const { pollResult } = await gw.runOk(POLL, { id: handle });
    expect(pollResult.__typename).toBe('NotFoundError');
    // The audit service's own summary, not the client's diagnostic line (endpoint, HTTP status).
    expect(pollResult.message).toBe('request prq_doesnotexist was not found or has expired');
    // A bare upstream id is not a handle: the same typed error, without asking the upstream.
    const bare = (await gw.runOk(POLL, { id: 'prq_doesnotexist' })).pollResult;
    expect(bare.__typename).toBe('NotFoundError');
    expect(bare.message).toMatch(/no such request/);
  });

  test('export + pollResult + downloadResults(requestId): the gzip JSON file holds every event', async () => {
    const size = gw.local!.log.size;
    const accepted = (await gw.runOk(EXPORT, { format: 'JSON', order: 'ASC' })).export;
    expect(accepted.__typename).toBe('AcceptedRequest');
    const done = await pollUntilDone(gw, accepted.requestId);
    expect(done.result).toMatchObject({ count: size });
    const link = (await gw.runOk(DOWNLOAD, { requestId: accepted.requestId, format: 'JSON' })).downloadResults;
    expect(link.__typename).toBe('DownloadLink');
    expect(Date.parse(link.expiresAt)).toBeGreaterThan(Date.now());
    const file = JSON.parse(await fetchGunzip(link.url));
    expect(file.count).toBe(size);
    expect(file.events).toHaveLength(size);
    for (const e of file.events) expect(hashEnvelope(e.envelope)).toBe(e.hash);
    expect(file.events[0].envelope.event.message).toBe('verbose one');
    // CSV of the same export: a header and one row per event.
    const csv = (await gw.runOk(DOWNLOAD, { requestId: accepted.requestId, format: 'CSV' })).downloadResults;
    const lines = (await fetchGunzip(csv.url)).split('\r\n').filter((l) => l !== '');
    expect(lines[0]!.startsWith('received_at,hash,')).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(size + 1);
    // order is a SortOrder, as in search: a bad one is refused by validation and never reaches the service.
    const badOrder = await gw.graphql(EXPORT, { order: 'sideways' });
    expect(badOrder.body.data).toBeUndefined();
    expect(badOrder.body.errors[0].message).toMatch(/"\$order".*SortOrder/);
  });

  test('downloadResults(resultId) gives the search result set; both or neither id is an InputError', async () => {
    const search = (await gw.runOk(SEARCH, { query: 'actor:bulker', first: 1 })).search;
    expect(search.totalCount).toBe(3);
    const link = (await gw.runOk(DOWNLOAD, { resultId: search.resultId, format: 'JSON' })).downloadResults;
    expect(link.__typename).toBe('DownloadLink');
    const file = JSON.parse(await fetchGunzip(link.url));
    expect(file.count).toBe(3);
    expect(file.events.map((e: Json) => e.envelope.event.message).sort()).toEqual(['bulk 1', 'bulk 2', 'bulk 3']);

    const both = await gw.runError(DOWNLOAD, { resultId: search.resultId, requestId: 'prq_x' }, 'InputError');
    expect(both.message).toMatch(/exactly one/);
    const neither = await gw.runError(DOWNLOAD, {}, 'InputError');
    expect(neither.argument).toBe('resultId');
    // An unknown result set is ResultSetExpiredError, as in search/results; an unknown export is NotFoundError.
    const unknown = await gw.runError(`mutation { downloadResults(resultId: "pas_doesnotexist") { __typename ... on ResultSetExpiredError { resultId } } }`, undefined, 'ResultSetExpiredError');
    expect(unknown.resultId).toBe('pas_doesnotexist');
    const unknownExport = await gw.runError(DOWNLOAD, { requestId: new JobHandles(Buffer.from('test', 'utf8')).seal({ upstreamId: 'prq_doesnotexist', kind: 'export', callerId: 'local', tenantId: undefined }) }, 'NotFoundError');
    expect(unknownExport.message).toMatch(/prq_doesnotexist/);
    const bareExport = await gw.runError(DOWNLOAD, { requestId: 'prq_doesnotexist' }, 'NotFoundError');
    expect(bareExport.message).toMatch(/no such request/);
  });

  test('logStream with an Auth0 payload stores one mapped event per log', async () => {
    const before = gw.local!.log.size;
    const payload = {
      logs: [
        {
          log_id: '90020240329172650193000000000000001111111111111111111111',
          data: { date: '2024-03-29T17:26:50.193Z', type: 's', description: 'Successful login', client_name: 'Acme Dashboard', ip: '203.0.113.7', user_name: 'alice@example.com', user_id: 'auth0|1' },
        },
        {
          log_id: '90020240329172711000000000000000002222222222222222222222',
          data: { date: '2024-03-29T17:27:11.000Z', type: 'fp', description: 'Wrong email or password.', client_id: 'client-1', ip: '198.51.100.23', user_id: 'auth0|2' },
        },
      ],
    };
    const r = (
      await gw.runOk(`mutation S($data: JSON!) { logStream(data: $data) { __typename ... on LogStreamResult { requestId summary } ... on Error { message } } }`, { data: payload })
    ).logStream;
    expect(r.__typename).toBe('LogStreamResult');
    expect(r.requestId).toMatch(/\S/);
    expect(r.summary).toMatch(/\S/);
    expect(gw.local!.log.size).toBe(before + 2);
    const found = (await gw.runOk(SEARCH, { query: 'action:fp status:failure', first: 5 })).search;
    expect(found.totalCount).toBe(1);
    expect(found.edges[0].node).toMatchObject({ message: 'Wrong email or password.', actor: 'auth0|2', target: 'client-1', source: '198.51.100.23' });
    expect(JSON.parse(found.edges[0].node.new)).toEqual(payload.logs[1]);
    // A payload the service cannot map keeps its pointer; a non-object is refused by the gateway.
    const bad = (await gw.runOk(`mutation S($data: JSON!) { logStream(data: $data) { __typename ... on UpstreamValidationError { fieldErrors { source path } } } }`, { data: { logs: 'nope' } })).logStream;
    expect(bad.__typename).toBe('UpstreamValidationError');
    expect(bad.fieldErrors[0]).toMatchObject({ source: '/logs', path: 'data.logs' });
    await gw.runError(`mutation S($data: JSON!) { logStream(data: $data) { __typename } }`, { data: [1] }, 'InputError');
  });

  test('root: latest, by treeSize with consistency PASS, too big and too small are typed errors', async () => {
    gw.publish();
    const size = gw.local!.log.size;
    const latest = (await gw.runOk(ROOT, {})).root;
    expect(latest.__typename).toBe('PublishedRoot');
    expect(latest.size).toBe(size);
    expect(latest.rootHash).toBe(gw.local!.log.rootHash(size));
    expect(latest.treeName).toBe(gw.local!.log.treeName);
    expect(latest.url).toContain(`/roots/${latest.treeName}/${size}`);
    expect(latest.consistency).toBe('PASS');
    expect(latest.consistencyFailure).toBeNull();
    // The root's public copy (what Arweave is for the cloud) says the same.
    const published = (await (await fetch(latest.url)).json()) as Json;
    expect(published.root_hash).toBe(latest.rootHash);

    const mid = (await gw.runOk(ROOT, { size: 5 })).root;
    expect(mid).toMatchObject({ __typename: 'PublishedRoot', size: 5, rootHash: gw.local!.log.rootHash(5), consistency: 'PASS' });
    const one = (await gw.runOk(ROOT, { size: 1 })).root;
    expect(one.consistency).toBe('NONE');
    expect(one.consistencyFailure).toMatch(/first root/);

    const tooBig = await gw.runError(ROOT, { size: size + 100 }, 'UpstreamValidationError');
    expect(tooBig.fieldErrors[0]).toMatchObject({ source: '/tree_size', path: 'treeSize' });
    const zero = await gw.runError(ROOT, { size: 0 }, 'InputError');
    expect(zero.argument).toBe('treeSize');
  });

  test('search and results: fields as stored and verification on honest data', async () => {
    const search = (await gw.runOk(SEARCH, { query: 'message:signed', first: 10 })).search;
    expect(search.__typename).toBe('AuditEventConnection');
    const signed = search.edges.map((e: Json) => e.node).find((n: Json) => n.message === 'signed');
    expect(signed).toMatchObject({ actor: 'bob', published: true });
    expect(signed.verification).toEqual({ hash: 'PASS', membership: 'PASS', consistency: 'PASS', signature: 'PASS', verified: true, failures: [] });
    const page = (
      await gw.runOk(`query R($id: ID!) { results(resultId: $id, first: 10) { __typename ... on AuditEventConnection { totalCount edges { node { hash verification { verified } } } } } }`, {
        id: search.resultId,
      })
    ).results;
    expect(page.totalCount).toBe(search.totalCount);
    expect(page.edges.map((e: Json) => e.node.hash)).toEqual(search.edges.map((e: Json) => e.node.hash));
    expect(page.edges.every((e: Json) => e.node.verification.verified)).toBe(true);
  });

  test('plain logs sent together share v2/log calls; each gets its own event’s hash, and an invalid one fails alone', async () => {
    // Whether requests reach the resolvers in one event-loop turn depends on how they arrive (the
    // test and the gateway share a process here): bursts are sent until one went as a group.
    const messages: string[] = [];
    const hashes: Json[] = [];
    let grouped = 0;
    for (let burst = 0; burst < 10 && grouped === 0; burst++) {
      const before = await upstreamLogCalls(gw.origin);
      const sent = Array.from({ length: 24 }, (_, i) => `together ${burst}-${i}`);
      const answers = await Promise.all([
        ...sent.map((message) => gw.graphql(LOG, { event: { message, actor: 'together' } })),
        gw.graphql(LOG, { event: { message: 'together refused', action: 'x'.repeat(33) } }),
      ]);
      grouped = (await upstreamLogCalls(gw.origin)).v2 - before.v2;
      const refused = answers.pop()!.body.data.log;
      expect(refused.__typename).toBe('UpstreamValidationError');
      expect(refused.fieldErrors).toEqual([expect.objectContaining({ source: '/event/action', path: 'event.action' })]);
      messages.push(...sent);
      hashes.push(...answers.map((a) => a.body.data.log));
    }
    expect(grouped).toBeGreaterThan(0);
    expect(hashes.every((log) => log.__typename === 'LogResult' && log.verification.membership === 'NONE')).toBe(true);
    gw.publish();
    const found = (await gw.runOk(SEARCH, { query: 'actor:together', first: 300 })).search;
    expect(found.totalCount).toBe(messages.length);
    const stored = new Map(found.edges.map((e: Json) => [e.node.message, e.node]));
    messages.forEach((message, i) => {
      const node = stored.get(message) as Json;
      expect(node.verification).toMatchObject({ hash: 'PASS', membership: 'PASS', verified: true });
      expect(hashes[i].hash).toBe(node.hash);
    });
  });
});

describe('LOG_COALESCING=false', () => {
  test('is read from the environment (on by default)', () => {
    expect(loadConfig({}).logCoalescing).toBe(true);
    expect(loadConfig({ LOG_COALESCING: 'false' }).logCoalescing).toBe(false);
    expect(() => loadConfig({ LOG_COALESCING: 'sometimes' })).toThrow(/LOG_COALESCING must be true or false/);
  });

  test('sends every plain log as its own v1/log', async () => {
    const gw = await startTestGateway({ config: { logCoalescing: false } });
    try {
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => gw.runOk(LOG, { event: { message: `alone ${i}` } })));
      expect(answers.every((a) => a.log.__typename === 'LogResult')).toBe(true);
      expect(await upstreamLogCalls(gw.origin)).toEqual({ v1: 12, v2: 0 });
    } finally {
      await gw.close();
    }
  });
});

/** The gateway's upstream v1/log and v2/log calls so far (its /metrics). */
async function upstreamLogCalls(origin: string): Promise<{ v1: number; v2: number }> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const count = (endpoint: string) =>
    [...text.matchAll(new RegExp(`^audit_gateway_upstream_requests_total\\{[^}]*endpoint="${endpoint}"[^}]*\\} (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  return { v1: count('v1/log'), v2: count('v2/log') };
}

describe('gateway without a signing key', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('signLocal is an InputError for log, logBulk and logBulkAsync; nothing is logged', async () => {
    const err = await gw.runError(LOG, { event: { message: 'x' }, options: { signLocal: true } }, 'InputError');
    expect(err.argument).toBe('options.signLocal');
    expect(err.message).toMatch(/SIGNING_KEY_FILE/);
    await gw.runError(LOG_BULK, { events: [{ message: 'x' }], options: { signLocal: true } }, 'InputError');
    await gw.runError(LOG_BULK_ASYNC, { events: [{ message: 'x' }], options: { signLocal: true } }, 'InputError');
    expect(gw.local!.log.size).toBe(0);
  });
});
