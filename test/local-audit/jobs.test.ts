// Durable jobs over real HTTP: v2/log_async answers 202 and appends in the background, polling
// follows the 202 contract, and jobs left pending by a stopped service resume exactly once.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { hashEnvelope, verifyMembership } from '../../src/merkle/index.js';
import type { JobRunner } from '../../src/local-audit/jobs.js';
import type { AuditLog } from '../../src/local-audit/audit-log.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

interface PollAnswer {
  http: number;
  body: Json;
  headers: Headers;
}

async function poll(svc: TestService, id: string, token: string | null = svc.token): Promise<PollAnswer> {
  const res = await fetch(`${svc.url}/request/${id}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { http: res.status, body: (await res.json()) as Json, headers: res.headers };
}

async function pollUntilDone(svc: TestService, id: string): Promise<PollAnswer> {
  for (let i = 0; i < 400; i++) {
    const answer = await poll(svc, id);
    if (answer.http !== 202) return answer;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${id} did not finish`);
}

function runner(svc: TestService): JobRunner {
  return svc.jobs;
}

/** Every stored event's message, in leaf order. */
function messages(log: AuditLog): string[] {
  const out: string[] = [];
  for (let i = 0; i < log.size; i++) out.push(log.events.get(i)!.envelope.event.message as string);
  return out;
}

const batch = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ event: { message: `${tag} #${i}`, actor: tag } }));

describe('v2/log_async', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => {
    await svc.destroy();
  });

  test('answers 202 with the polling contract, then polling yields the v2/log result and the events are in the tree', async () => {
    const r = await svc.post<Json>('v2/log_async', { events: batch('async', 5), verbose: true });
    expect(r.http).toBe(202);
    expect(r.status).toBe('Accepted');
    expect(r.request_id).toMatch(/^prq_[a-z0-9]{32}$/);
    expect(r.result).toEqual({ ttl_mins: 1440, retry_counter: 0, location: `${svc.url}/request/${r.request_id}` });

    const done = await pollUntilDone(svc, r.request_id);
    expect(done.http).toBe(200);
    expect(done.body.status).toBe('Success');
    expect(done.body.request_id).toBe(r.request_id);
    expect(done.headers.get('x-request-id')).toBe(r.request_id);
    const results = done.body.result.results as Json[];
    expect(results.map((x) => x.envelope.event.message)).toEqual(batch('async', 5).map((x) => x.event.message));

    // Each hash is the envelope's, and each event proves membership in the current tree.
    const size = svc.log.size;
    const root = svc.log.rootHash(size);
    for (const item of results) {
      expect(hashEnvelope(item.envelope)).toBe(item.hash);
      const leaf = [...Array(size).keys()].find((i) => svc.log.events.get(i)!.hash === item.hash);
      expect(leaf).toBeDefined();
      expect(verifyMembership({ hash: item.hash, proof: svc.log.membershipProof(leaf!, size), rootHash: root }).status).toBe('PASS');
    }
    // A finished job keeps answering the same result.
    expect((await poll(svc, r.request_id)).body.result).toEqual(done.body.result);
  });

  test('non-verbose jobs return only hashes', async () => {
    const r = await svc.post<Json>('v2/log_async', { events: batch('quiet', 2) });
    const done = await pollUntilDone(svc, r.request_id);
    expect(done.body.result.results.map((x: Json) => Object.keys(x))).toEqual([['hash'], ['hash']]);
  });

  test('while pending, polls answer 202 Accepted with retry_counter counting up', async () => {
    runner(svc).pause();
    try {
      const r = await svc.post<Json>('v2/log_async', { events: batch('held', 1) });
      const first = await poll(svc, r.request_id);
      const second = await poll(svc, r.request_id);
      expect(first.http).toBe(202);
      expect(first.body.status).toBe('Accepted');
      expect(first.body.request_id).toBe(r.request_id);
      expect(first.body.result.retry_counter).toBe(1);
      expect(second.body.result.retry_counter).toBe(2);
      expect(second.body.result.location).toBe(`${svc.url}/request/${r.request_id}`);
      runner(svc).resume();
      expect((await pollUntilDone(svc, r.request_id)).http).toBe(200);
    } finally {
      runner(svc).resume();
    }
  });

  test('invalid input is rejected at once with the ValidationError envelope and no job', async () => {
    const before = svc.log.size;
    const r = await svc.post<Json>('v2/log_async', { events: [{ event: { message: 'ok' } }, { event: { actor: 'no message' } }] });
    expect(r.http).toBe(400);
    expect(r.status).toBe('ValidationError');
    expect(r.result.errors).toEqual([expect.objectContaining({ code: 'FieldRequired', source: '/events/1/event/message' })]);
    const p = await poll(svc, r.request_id);
    expect(p.http).toBe(404);
    expect(p.body.status).toBe('NotFound');
    await runner(svc).idle();
    expect(svc.log.size).toBe(before);

    const empty = await svc.post<Json>('v2/log_async', { events: [] });
    expect(empty.result.errors[0]).toMatchObject({ code: 'BelowMinItems', source: '/events' });
  });

  test('polling needs the token; unknown ids are NotFound with the polled id', async () => {
    const r = await svc.post<Json>('v2/log_async', { events: batch('auth', 1) });
    const anonymous = await poll(svc, r.request_id, null);
    expect(anonymous.http).toBe(401);
    expect(anonymous.body.status).toBe('Unauthorized');
    expect(anonymous.body.result).not.toHaveProperty('results');
    expect((await poll(svc, r.request_id, 'wrong-token')).body.status).toBe('Unauthorized');

    const unknown = await poll(svc, 'prq_' + 'z'.repeat(32));
    expect(unknown.http).toBe(404);
    expect(unknown.body.status).toBe('NotFound');
    expect(unknown.body.request_id).toBe('prq_' + 'z'.repeat(32));
    await pollUntilDone(svc, r.request_id);
  });

  test('finished jobs expire: then polling is NotFound and the purge removes them', async () => {
    const r = await svc.post<Json>('v2/log_async', { events: batch('expiring', 1) });
    await pollUntilDone(svc, r.request_id);
    const side = new Database(join(svc.dataDir, 'audit.sqlite'));
    try {
      side.prepare('UPDATE jobs SET expires_at_ms = 1 WHERE id = ?').run(r.request_id);
    } finally {
      side.close();
    }
    expect((await poll(svc, r.request_id)).body.status).toBe('NotFound');
    expect(runner(svc).purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(runner(svc).get(r.request_id, 0)).toBeUndefined();
  });
});

describe('job atomicity', () => {
  test('a job that fails after appending leaves nothing appended and the tree consistent', async () => {
    const svc = await startTestService();
    try {
      await svc.post('v2/log', { events: batch('base', 3) });
      const r = runner(svc);
      let attempts = 0;
      r.register('append-then-crash', () => {
        attempts++;
        svc.log.append([{ event: { message: 'half-done' }, received_at: '2024-01-01T00:00:00.000000Z' }]);
        throw new Error('crash between the append and the completion');
      });
      r.submit('prq_' + 'c'.repeat(32), 'append-then-crash', {});
      await r.idle();
      expect(attempts).toBe(1);
      expect(svc.log.size).toBe(3);
      expect(messages(svc.log)).toEqual(batch('base', 3).map((x) => x.event.message));
      const failed = await poll(svc, 'prq_' + 'c'.repeat(32));
      expect(failed.http).toBe(500);
      expect(failed.body.status).toBe('InternalError');
      // The in-memory tree was resynced: later appends and proofs are right.
      const next = await svc.post<Json>('v1/log', { event: { message: 'next' }, verbose: true });
      expect(svc.log.size).toBe(4);
      expect(verifyMembership({ hash: next.result.hash, proof: next.result.membership_proof, rootHash: next.result.unpublished_root }).status).toBe('PASS');
      expect(next.result.unpublished_root).toBe(svc.log.rootHash(4));
    } finally {
      await svc.destroy();
    }
  });
});

describe('jobs across a restart', () => {
  test('jobs pending when the service stopped resume on the next start, each exactly once', async () => {
    const dataDir = tempDir();
    try {
      const first = await startTestService({ dataDir });
      await first.post('v1/log', { event: { message: 'before' } });
      runner(first).pause();
      const ids: string[] = [];
      for (const tag of ['a', 'b', 'c', 'd']) {
        const r = await first.post<Json>('v2/log_async', { events: batch(tag, 7), verbose: true });
        expect(r.http).toBe(202);
        ids.push(r.request_id);
      }
      expect(first.log.size).toBe(1);
      expect((await poll(first, ids[0]!)).http).toBe(202);
      await first.close();

      const second = await startTestService({ dataDir });
      const answers = [];
      for (const id of ids) answers.push(await pollUntilDone(second, id));
      expect(answers.map((a) => a.http)).toEqual([200, 200, 200, 200]);
      const expected = ['before', ...['a', 'b', 'c', 'd'].flatMap((tag) => batch(tag, 7).map((x) => x.event.message))];
      // In submission order, each once.
      expect(messages(second.log)).toEqual(expected);
      // The results name the events that were actually stored.
      const stored = new Set([...Array(second.log.size).keys()].map((i) => second.log.events.get(i)!.hash));
      for (const a of answers) for (const item of a.body.result.results as Json[]) expect(stored.has(item.hash)).toBe(true);
      await second.close();

      // A third start finds nothing left to do: nothing is appended twice.
      const third = await startTestService({ dataDir });
      await new Promise((r) => setTimeout(r, 50));
      await runner(third).idle();
      expect(third.log.size).toBe(expected.length);
      expect((await pollUntilDone(third, ids[3]!)).body.result).toEqual(answers[3]!.body.result);
      await third.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a resumed job that no longer validates fails with its error envelope, under its own id', async () => {
    const dataDir = tempDir();
    try {
      const first = await startTestService({ dataDir });
      await first.close();
      // A job recorded by an earlier run whose events do not fit this run's schema.
      const db = new Database(join(dataDir, 'audit.sqlite'));
      const id = 'prq_' + 'f'.repeat(32);
      db.prepare(`INSERT INTO jobs (id, kind, state, request, created_at_ms, expires_at_ms) VALUES (?, 'log_async', 'pending', ?, ?, ?)`).run(
        id,
        JSON.stringify({ events: [{ event: { message: 'fine' } }, { event: { message: 'bad', colour: 'red' } }], verbose: false }),
        Date.now(),
        Date.now() + 60_000,
      );
      db.close();

      const second = await startTestService({ dataDir });
      const answer = await pollUntilDone(second, id);
      expect(answer.http).toBe(400);
      expect(answer.body.status).toBe('ValidationError');
      expect(answer.body.request_id).toBe(id);
      expect(answer.body.result.errors).toEqual([expect.objectContaining({ code: 'UnexpectedProperty', source: '/events/1/event/colour' })]);
      // Nothing of the failed job was appended, and the tree is still usable.
      expect(second.log.size).toBe(0);
      const ok = await second.post<Json>('v2/log_async', { events: batch('after', 3) });
      expect((await pollUntilDone(second, ok.request_id)).http).toBe(200);
      expect(messages(second.log)).toEqual(batch('after', 3).map((x) => x.event.message));
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
