// The client against the real local audit service (src/local-audit), end to end over HTTP: every
// method, with proofs checked by src/merkle rather than taken on the service's word.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { hashEnvelope, verifyConsistency, verifyMembership } from '../../src/merkle/index.js';
import { startLocalAudit, type LocalAudit } from '../../src/local-audit/index.js';
import {
  AuditClient,
  BadOffsetError,
  NotFoundError,
  TreeNotFoundError,
  UnauthorizedError,
  ValidationError,
  type SearchEvent,
  type SearchResult,
} from '../../src/audit-client/index.js';
import { expectNoToken, rejection, TOKEN } from './support/servers.js';

class Collector extends Writable {
  private chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Each event's proof must reach the root the contract names for it. */
function expectProofsVerify(page: { events: SearchEvent[]; root?: SearchResult['root']; unpublished_root?: SearchResult['unpublished_root'] }): void {
  for (const e of page.events) {
    expect(hashEnvelope(e.envelope)).toBe(e.hash);
    const rootHash = e.published ? page.root?.root_hash : page.unpublished_root?.root_hash;
    expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash }).status).toBe('PASS');
  }
}

let dataDir: string;
let service: LocalAudit;
let client: AuditClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'audit-client-local-'));
  service = await startLocalAudit({ dataDir, port: 0, token: TOKEN, publishIntervalMs: 0, onError: () => undefined });
  client = new AuditClient({ baseUrl: service.url, token: TOKEN, tenantId: 'tenant-local', polling: { initialDelayMs: 20, maxDelayMs: 100, deadlineMs: 10_000 } });
});
afterAll(async () => {
  await client?.close();
  await service?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('against the local audit service', () => {
  test('TreeNotFound before anything is published', async () => {
    const err = await rejection(client.root());
    expect(err).toBeInstanceOf(TreeNotFoundError);
    expect((err as TreeNotFoundError).requestId).toMatch(/^prq_[a-z0-9]{32}$/);
    expectNoToken(err);
  });

  test('log verbose: envelope as sent, membership proof verified, consistency from prev_root', async () => {
    const first = await client.log({ event: { message: 'login', actor: 'alice', new: { role: 'admin' } }, verbose: true });
    const { result } = first;
    expect(result.envelope?.event).toEqual({ message: 'login', actor: 'alice', new: '{"role":"admin"}', tenant_id: 'tenant-local' });
    expect(hashEnvelope(result.envelope)).toBe(result.hash);
    expect(verifyMembership({ hash: result.hash, proof: result.membership_proof, rootHash: result.unpublished_root }).status).toBe('PASS');

    const second = await client.log({ event: { message: 'logout', actor: 'alice' }, verbose: true, prev_root: result.unpublished_root! });
    expect(
      verifyConsistency({ oldRootHash: result.unpublished_root, newRootHash: second.result.unpublished_root, proof: second.result.consistency_proof }).status,
    ).toBe('PASS');
  });

  test('the service validation errors arrive as ValidationError with JSON pointers', async () => {
    const err = await rejection(client.log({ event: { message: 'm', colour: 'red' } }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'UnexpectedProperty', source: '/event/colour' })]));
  });

  test('logBulk: 120 events in order, hashes of the stored envelopes', async () => {
    const out = await client.logBulk({ events: Array.from({ length: 120 }, (_, i) => ({ event: { message: `bulk ${i}`, actor: 'bulk', target: `t${i % 7}` } })), verbose: true });
    expect(out.result.results).toHaveLength(120);
    out.result.results.forEach((item, i) => {
      expect(item.envelope?.event.message).toBe(`bulk ${i}`);
      expect(hashEnvelope(item.envelope)).toBe(item.hash);
    });
  });

  test('logBulkAsync: the 202 by hand, and polled to the result', async () => {
    const handle = await client.logBulkAsync({ events: [{ event: { message: 'async one', actor: 'async' } }] });
    if (handle.status === 'Accepted') {
      expect(handle.requestId).toMatch(/^prq_/);
      let outcome = await client.pollResult(handle.requestId);
      for (let i = 0; outcome.status === 'Accepted' && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 20));
        outcome = await client.pollResult(handle.requestId);
      }
      expect(outcome.status).toBe('Success');
    }
    const polled = await client.logBulkAsync({ events: [{ event: { message: 'async two', actor: 'async' } }, { event: { message: 'async three', actor: 'async' } }], verbose: true }, { poll: true });
    expect(polled.result.results.map((r) => r.envelope?.event.message)).toEqual(['async two', 'async three']);
  });

  test('logStream: an Auth0 payload becomes events', async () => {
    await client.logStream({
      logs: [{ log_id: 'auth0-log-1', data: { date: '2024-03-29T17:26:50.193Z', type: 'slo', description: 'streamed logout', client_id: 'c', ip: '127.0.0.1', user_agent: 'ua', user_id: 'auth0|1' } }],
    });
    const found = await client.search({ query: 'streamed' });
    expect(found.result.count).toBeGreaterThanOrEqual(1);
  });

  test('root after publishing: latest and by size, consistency proof verified', async () => {
    service.publishNow();
    const latest = await client.root();
    const { data } = latest.result;
    expect(data.size).toBeGreaterThanOrEqual(124);
    const previous = await client.root({ tree_size: data.size - 1 });
    expect(previous.result.data.size).toBe(data.size - 1);
    expect(verifyConsistency({ oldRootHash: previous.result.data.root_hash, newRootHash: data.root_hash, proof: data.consistency_proof }).status).toBe('PASS');
  });

  test('search and results: 20-event pages through the whole set, proofs verified, BadOffset past the end', async () => {
    await client.log({ event: { message: 'unpublished bulk', actor: 'bulk' } });
    const first = await client.search({ query: 'actor:bulk', limit: 20, order: 'asc' });
    const { id, count } = first.result;
    expect(id).toMatch(/^pas_/);
    expect(count).toBe(121);
    expect(first.result.events).toHaveLength(20);
    expectProofsVerify(first.result);
    expect(first.result.events.some((e) => e.published)).toBe(true);

    const messages = first.result.events.map((e) => e.envelope.event.message);
    for (let offset = 20; offset < count; offset += 20) {
      const page = await client.results({ id, limit: 20, offset });
      expect(page.result.count).toBe(count);
      expectProofsVerify(page.result);
      messages.push(...page.result.events.map((e) => e.envelope.event.message));
    }
    expect(messages).toEqual([...Array.from({ length: 120 }, (_, i) => `bulk ${i}`), 'unpublished bulk']);
    const last = messages.length;
    expect(last).toBe(count);

    const err = await rejection(client.results({ id, limit: 20, offset: count + 5 }));
    expect(err).toBeInstanceOf(BadOffsetError);
    expect((err as BadOffsetError).requestId).toMatch(/^prq_/);
    expectNoToken(err);

    const unknown = await rejection(client.results({ id: 'pas_doesnotexistdoesnotexistdoesno', limit: 20 }));
    expect(unknown).toBeInstanceOf(NotFoundError);
  });

  test('downloadResults + downloadFile: the result set as gzip CSV, gunzipped', async () => {
    const found = await client.search({ query: 'actor:alice' });
    const link = await client.downloadResults({ result_id: found.result.id, format: 'csv' });
    const sink = new Collector();
    const file = await client.downloadFile(link.result.dest_url, sink, { decompress: true });
    expect(file.bytes).toBeGreaterThan(0);
    expect(sink.text()).toContain('login');
  });

  test('export: polled to completion, then downloaded by request_id as JSON', async () => {
    const done = await client.export({ format: 'json' }, { poll: true });
    expect(done.status).toBe('Success');
    const link = await client.downloadResults({ request_id: done.requestId, format: 'json' });
    const sink = new Collector();
    await client.downloadFile(link.result.dest_url, sink, { decompress: true });
    expect(sink.text()).toContain('bulk 119');
  });

  test('schema: the standard fields', async () => {
    const schema = await client.schema();
    const ids = schema.result.fields.map((f) => f.id);
    expect(ids).toEqual(expect.arrayContaining(['message', 'actor', 'action', 'target', 'status', 'tenant_id']));
  });

  test('a wrong token is UnauthorizedError, and that token is not in the error either', async () => {
    const wrong = `${TOKEN}-wrong`;
    const intruder = new AuditClient({ baseUrl: service.url, token: wrong });
    try {
      const err = await rejection(intruder.search({ query: '' }));
      expect(err).toBeInstanceOf(UnauthorizedError);
      expect((err as UnauthorizedError).httpStatus).toBe(401);
      for (const text of [err.message, err.stack ?? '', String(err.cause)]) expect(text).not.toContain(wrong);
      expectNoToken(err);
    } finally {
      await intruder.close();
    }
  });
});
