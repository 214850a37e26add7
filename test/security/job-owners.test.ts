// Whose job a request handle opens for. A handle is a long-lived bearer value (it is also in the
// `location` URL), so holding one is not enough: it opens for the caller that started the job, or
// for another that could read the result anyway (audit:log + audit:search within its tenant for a
// bulk log's envelopes, audit:export for an export's file). For anyone else it is answered exactly
// like a forged handle, so handles cannot be probed.
import { hash as digestOf, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { JobHandles } from '../../src/auth/job-handles.js';
import type { Json } from '../support/gateway.js';
import { startSecureGateway, type SecureGateway } from './support.js';

const ALL = ['audit:log', 'audit:search', 'audit:export', 'audit:root'];
const KEYS = {
  admin: { scopes: ALL },
  logger: { scopes: ['audit:log'] },
  logger2: { scopes: ['audit:log'] },
  auditor: { scopes: ['audit:log', 'audit:search'] },
  searcher: { scopes: ['audit:search'] },
  exporter: { scopes: ['audit:export'] },
  exporter2: { scopes: ['audit:export'] },
  t1: { scopes: ALL, tenantId: 't1' },
  t1auditor: { scopes: ['audit:log', 'audit:search'], tenantId: 't1' },
  t1logger: { scopes: ['audit:log'], tenantId: 't1' },
  t2: { scopes: ALL, tenantId: 't2' },
} as const;
type Who = keyof typeof KEYS;
const keyOf = (who: Who): string => `${who}-key-0123456789abcdef`;
const HS_SECRET = 'job-owners-hs256-secret-0123456789abcdef';
const SECRET = 'job-owners-secret';

const BULK_ASYNC = `mutation { logBulkAsync(events: [{message: "owned async"}], options: {verbose: true}) { __typename ... on AcceptedRequest { requestId location } ... on Error { message } } }`;
const EXPORT = `mutation { export(format: JSON) { __typename ... on AcceptedRequest { requestId } ... on Error { message } } }`;
/** Everything a poll can show of a bulk log's stored events, the deprecated fields too. */
const POLL_QUERY = `query Poll($id: ID!) { pollResult(requestId: $id) {
  __typename
  ... on PollResult { done result logBulk { results { envelope } } outcome { __typename ... on LogBulkPollResult { logBulk { results { envelope } } } ... on ExportPollResult { count downloadLink { __typename ... on DownloadLink { url } } } } }
  ... on Error { message }
} }`;
const DOWNLOAD_QUERY = `mutation Download($id: ID!) { downloadResults(requestId: $id) { __typename ... on DownloadLink { url } ... on Error { message } } }`;
// Handles go in variables, as clients send them: one document for every handle, so a refused
// handle and a forged one run the very same (compiled or not) operation.
const POLL = (id: string) => ({ query: POLL_QUERY, variables: { id } });
const DOWNLOAD = (id: string) => ({ query: DOWNLOAD_QUERY, variables: { id } });

let gw: SecureGateway;
beforeAll(async () => {
  gw = await startSecureGateway(
    {
      kind: 'keys',
      file: undefined,
      inline: JSON.stringify({ apiKeys: Object.entries(KEYS).map(([id, entry]) => ({ id, key: keyOf(id as Who), ...entry })), jwt: { hs256Secret: HS_SECRET } }),
    },
    { cursorSecret: SECRET },
  );
});
afterAll(async () => {
  await gw?.close();
});

type Operation = string | { query: string; variables: Record<string, unknown> };

/** The whole answer body: a refused handle must be answered exactly like a forged one. */
async function body(operation: Operation, credential: string, on: SecureGateway = gw): Promise<Json> {
  const { query, variables } = typeof operation === 'string' ? { query: operation, variables: undefined } : operation;
  return (await on.call(query, credential, variables)).body;
}

async function started(query: string, credential: string): Promise<{ requestId: string; location: string }> {
  const accepted = Object.values((await body(query, credential)).data as Record<string, Json>)[0];
  expect(accepted.__typename).toBe('AcceptedRequest');
  return accepted;
}

async function pollUntilDone(id: string, credential: string): Promise<Json> {
  for (let i = 0; i < 400; i++) {
    const answer = await body(POLL(id), credential);
    expect(answer.data.pollResult.__typename).toBe('PollResult');
    if (answer.data.pollResult.done) return answer.data.pollResult;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`request ${id} did not finish`);
}

/** A handle that opens for nobody: the same job's shape, but forged. */
const forged = (handle: string): string => handle.slice(0, 20) + (handle[20] === 'A' ? 'B' : 'A') + handle.slice(21);

test("an audit:log-only key cannot read a tenant's bulk log envelopes with its handle, however it asks", async () => {
  const { requestId, location } = await started(BULK_ASYNC, keyOf('t1'));
  const own = await pollUntilDone(requestId, keyOf('t1'));
  expect(own.outcome.logBulk.results[0].envelope.event).toMatchObject({ message: 'owned async', tenant_id: 't1' });

  const stolen = await body(POLL(requestId), keyOf('logger'));
  expect(JSON.stringify(stolen)).not.toContain('owned async');
  // Exactly the answer to a forged handle: scope auth asks every scope of a handle it cannot tell.
  expect(stolen).toEqual(await body(POLL(forged(requestId)), keyOf('logger')));
  expect(stolen.errors[0].extensions.code).toBe('FORBIDDEN');

  // The location URL carries the handle: with another caller's credentials it opens nothing either.
  const viaLocation = await fetch(location, { headers: { authorization: `Bearer ${keyOf('logger')}`, 'x-graphql-yoga-csrf': '1' } });
  const text = await viaLocation.text();
  expect(text).not.toContain('owned async');
  expect(JSON.parse(text).errors[0].extensions.code).toBe('FORBIDDEN');
});

test('another tenant with every scope is told the handle is unknown, word for word as for a forged one', async () => {
  const { requestId } = await started(BULK_ASYNC, keyOf('t1'));
  await pollUntilDone(requestId, keyOf('t1'));
  const answer = await body(POLL(requestId), keyOf('t2'));
  expect(answer.data.pollResult.__typename).toBe('NotFoundError');
  expect(answer).toEqual(await body(POLL(forged(requestId)), keyOf('t2')));
});

test('a bulk log opens for its starter, and for others only with audit:log + audit:search within its tenant', async () => {
  const tenants = (await started(BULK_ASYNC, keyOf('t1'))).requestId;
  const untenanted = (await started(BULK_ASYNC, keyOf('logger'))).requestId;
  // The starter needs only the scope it started the job with.
  expect((await pollUntilDone(untenanted, keyOf('logger'))).outcome.logBulk.results).toHaveLength(1);
  await pollUntilDone(tenants, keyOf('t1'));

  const opens = async (id: string, who: Who): Promise<boolean> => {
    const answer = await body(POLL(id), keyOf(who));
    const refused = await body(POLL(forged(id)), keyOf(who));
    if (answer.data?.pollResult?.__typename === 'PollResult') return true;
    expect(answer).toEqual(refused);
    return false;
  };
  // Could search these events anyway: untenanted, or bound to the job's tenant.
  expect(await opens(tenants, 'admin')).toBe(true);
  expect(await opens(tenants, 'auditor')).toBe(true);
  expect(await opens(tenants, 't1auditor')).toBe(true);
  expect(await opens(untenanted, 'auditor')).toBe(true);
  // Could not: no audit:search, no audit:log, or another tenant (an untenanted job may hold any tenant's events).
  expect(await opens(tenants, 'logger')).toBe(false);
  expect(await opens(tenants, 't1logger')).toBe(false);
  expect(await opens(tenants, 'searcher')).toBe(false);
  expect(await opens(tenants, 't2')).toBe(false);
  expect(await opens(untenanted, 'logger2')).toBe(false);
  expect(await opens(untenanted, 't1')).toBe(false);
  expect(await opens(untenanted, 't1auditor')).toBe(false);
});

test("an export's handle opens for its starter and untenanted audit:export callers; never for a tenant or as another kind", async () => {
  const { requestId } = await started(EXPORT, keyOf('exporter'));
  const own = await pollUntilDone(requestId, keyOf('exporter'));
  expect(own.outcome.downloadLink.__typename).toBe('DownloadLink');
  // Another export-scoped caller could export the same file itself.
  expect((await pollUntilDone(requestId, keyOf('exporter2'))).outcome.downloadLink.__typename).toBe('DownloadLink');
  expect((await body(DOWNLOAD(requestId), keyOf('exporter2'))).data.downloadResults.__typename).toBe('DownloadLink');
  expect((await body(DOWNLOAD(requestId), keyOf('admin'))).data.downloadResults.__typename).toBe('DownloadLink');
  // A tenant is refused exports outright, and cannot poll one.
  expect((await body(DOWNLOAD(requestId), keyOf('t1'))).data.downloadResults.__typename).toBe('ForbiddenError');
  const tenantPoll = await body(POLL(requestId), keyOf('t1'));
  expect(tenantPoll.data.pollResult.__typename).toBe('NotFoundError');
  expect(tenantPoll).toEqual(await body(POLL(forged(requestId)), keyOf('t1')));
  // A bulk log's handle is no export's, even its own starter's.
  const bulk = (await started(BULK_ASYNC, keyOf('admin'))).requestId;
  expect(await body(DOWNLOAD(bulk), keyOf('admin'))).toEqual(await body(DOWNLOAD(forged(bulk)), keyOf('admin')));
});

test('a JWT caller is its subject: a renewed token opens its jobs, another subject’s does not', async () => {
  const token = (sub: string, scope: string) =>
    new SignJWT({ scope }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setJti(randomUUID()).setExpirationTime('5m').sign(new TextEncoder().encode(HS_SECRET));
  const first = await token('svc-a', 'audit:log');
  const { requestId } = await started(BULK_ASYNC, first);
  await pollUntilDone(requestId, first);
  const renewed = await token('svc-a', 'audit:log');
  expect(renewed).not.toBe(first);
  expect((await pollUntilDone(requestId, renewed)).outcome.logBulk.results).toHaveLength(1);
  const other = await token('svc-b', 'audit:log');
  expect(await body(POLL(requestId), other)).toEqual(await body(POLL(forged(requestId)), other));
});

describe('pass-through mode', () => {
  let pt: SecureGateway;
  beforeAll(async () => {
    pt = await startSecureGateway({ kind: 'passthrough' }, { cursorSecret: SECRET });
  });
  afterAll(async () => {
    await pt?.close();
  });

  test('only the token that started a job opens it: scopes are the upstream’s, not known to the gateway', async () => {
    const token = pt.running.local!.token;
    const accepted = (await pt.call(BULK_ASYNC, token)).body.data.logBulkAsync;
    expect(accepted.__typename).toBe('AcceptedRequest');
    const poll = (id: string) => body(POLL(id), token, pt);
    for (let i = 0; i < 400 && !(await poll(accepted.requestId)).data.pollResult.done; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await poll(accepted.requestId)).data.pollResult.outcome.logBulk.results).toHaveLength(1);
    // The same job sealed for another pass-through token (as this gateway would for it).
    const handles = new JobHandles(Buffer.from(SECRET, 'utf8'));
    const job = handles.open(accepted.requestId)!;
    expect(job.callerId).toBe(`passthrough:${digestOf('sha256', token, 'hex').slice(0, 12)}`);
    const someoneElses = handles.seal({ ...job, callerId: 'passthrough:0123456789ab' });
    const answer = await poll(someoneElses);
    expect(answer.data.pollResult.__typename).toBe('NotFoundError');
    expect(answer).toEqual(await poll(forged(someoneElses)));
    // Sealed for this token again, it opens: ownership is the caller id, not the handle's bytes.
    expect((await poll(handles.seal({ ...job }))).data.pollResult.__typename).toBe('PollResult');
  });
});
