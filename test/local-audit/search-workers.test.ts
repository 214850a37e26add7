// Searches cannot stall writes: over real HTTP against the local service on a real SQLite file,
// searches run in worker threads with their own read connections, a query past the cost bounds is
// refused before it runs, a search past its deadline ends with "search too expensive", and v1/log
// keeps answering while expensive searches run. Also: what a search finds is exactly the snapshot
// it reports, a failed worker is replaced, and closing the service ends its workers.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashEnvelope, verifyMembership } from '../../src/merkle/index.js';
import { AuditLog } from '../../src/local-audit/audit-log.js';
import { STANDARD_SCHEMA } from '../../src/local-audit/index.js';
import { MAX_FIELD_TESTS, MAX_OR_WIDTH, parseQuery } from '../../src/local-audit/query/index.js';
import { compileAst } from '../../src/local-audit/store/query-sql.js';
import { openDatabase } from '../../src/local-audit/store/database.js';
import { searchFields } from '../../src/local-audit/store/search-fields.js';
import { SearchPool } from '../../src/local-audit/store/search-pool.js';
import type { MatchQuery } from '../../src/local-audit/store/search-matcher.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLOSE_CHILD = fileURLToPath(new URL('./fixtures/search-then-close.ts', import.meta.url));

/** Events every expensive search has to scan. */
const FILLER = 20_000;
const SEARCHABLE = STANDARD_SCHEMA.fields.filter((f) => f.type !== 'string-unindexed').length;
/** The dearest query the bounds allow: as many bare values joined by OR as they let through, matching nothing. */
const WORST = Array.from({ length: Math.min(MAX_OR_WIDTH, Math.floor(MAX_FIELD_TESTS / SEARCHABLE)) }, (_, i) => `nowhere${i}`).join(' OR ');

async function fill(svc: TestService, count: number): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const events = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({
      event: { message: `filler ${start + i} from the web console`, actor: `user-${(start + i) % 500}`, action: 'read', target: `record-${start + i}`, status: 'success', source: 'web', tenant_id: `tenant-${i % 10}` },
    }));
    const r = await svc.post<Json>('v2/log', { events });
    if (r.status !== 'Success') throw new Error(`v2/log: ${r.status} ${r.summary}`);
  }
}

function expectTooExpensive(r: { http: number; status: string; result: Json }): void {
  expect(r.http).toBe(400);
  expect(r.status).toBe('ValidationError');
  expect(r.result.errors[0].source).toBe('/query');
  expect(r.result.errors[0].detail).toContain('search too expensive: narrow it');
}

describe('searches on a busy log', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
    await fill(svc, FILLER);
  });
  afterAll(async () => {
    await svc.destroy();
  });

  test('the 256-word OR is refused before it runs: 400, BadFormat on /query, naming the first term too many', async () => {
    const words = Array.from({ length: 256 }, (_, i) => `word${i}`);
    const r = await svc.post<Json>('v1/search', { query: words.join(' OR ') });
    expectTooExpensive(r);
    expect(r.result.errors[0].code).toBe('BadFormat');
    expect(r.result.errors[0].detail).toContain(`"word${MAX_OR_WIDTH}"`);
    expect(r.result.errors[0].detail).toMatch(/position \d+/);
  });

  test('the bounds: OR width and field tests per event, each refused one past its limit', async () => {
    const fieldTerms = (n: number): string => Array.from({ length: n }, (_, i) => `actor:nobody${i}`).join(' OR ');
    expect((await svc.post<Json>('v1/search', { query: fieldTerms(MAX_OR_WIDTH) })).status).toBe('Success');
    expectTooExpensive(await svc.post<Json>('v1/search', { query: fieldTerms(MAX_OR_WIDTH + 1) }));
    // Nested ORs count as one.
    expectTooExpensive(await svc.post<Json>('v1/search', { query: `(${fieldTerms(MAX_OR_WIDTH)}) OR actor:one-more` }));
    // Bare values test every searchable field: AND makes no OR, only field tests.
    const bare = (n: number): string => Array.from({ length: n }, (_, i) => `-nobody${i}`).join(' ');
    const allowed = Math.floor(MAX_FIELD_TESTS / SEARCHABLE);
    expect((await svc.post<Json>('v1/search', { query: bare(allowed), limit: 1 })).status).toBe('Success');
    const refused = await svc.post<Json>('v1/search', { query: bare(allowed + 1) });
    expectTooExpensive(refused);
    expect(refused.result.errors[0].detail).toContain(`"nobody${allowed}"`);
    // The same number of field:value terms is cheap enough.
    expect((await svc.post<Json>('v1/search', { query: Array.from({ length: allowed + 1 }, (_, i) => `-actor:nobody${i}`).join(' '), limit: 1 })).status).toBe('Success');
  });

  test('the worst allowed search runs to its end in a worker and finds nothing', async () => {
    const r = await svc.post<Json>('v1/search', { query: WORST });
    expect(r.status).toBe('Success');
    expect(r.result.count).toBe(0);
  });

  test('v1/log answers while expensive searches run, before they end; each event is stored exactly once', async () => {
    const order: string[] = [];
    // More searches than workers: some wait in the queue. Each asks for its own max_results, so
    // none reuses the matches a worker kept from an earlier one: every one scans the whole log.
    const searches = Array.from({ length: 8 }, async (_, i) => {
      const r = await svc.post<Json>('v1/search', { query: WORST, max_results: 9_000 + i });
      order.push('search');
      return r;
    });
    const logs = Array.from({ length: 20 }, async (_, i) => {
      const r = await svc.post<Json>('v1/log', { event: { message: `while searching ${i}`, actor: `concurrent-${String(i).padStart(2, '0')}` } });
      order.push('log');
      return r;
    });
    const logged = await Promise.all(logs);
    const searched = await Promise.all(searches);
    for (const r of logged) expect(r.status).toBe('Success');
    for (const r of searched) expect(r.status).toBe('Success');
    // Every log was answered before the last search ended.
    expect(order.lastIndexOf('log')).toBeLessThan(order.lastIndexOf('search'));
    const found = await svc.post<Json>('v1/search', { query: 'actor:concurrent-', limit: 100, order: 'asc' });
    expect(found.result.count).toBe(20);
    const actors = found.result.events.map((e: Json) => e.envelope.event.actor as string).sort();
    expect(actors).toEqual(Array.from({ length: 20 }, (_, i) => `concurrent-${String(i).padStart(2, '0')}`));
    expect(new Set(found.result.events.map((e: Json) => e.hash)).size).toBe(20);
    expect(found.result.events.map((e: Json) => e.hash).sort()).toEqual(logged.map((r) => r.result.hash as string).sort());
  });

  test('a search while events arrive finds exactly the matching events below the size it reports, and its proofs verify', async () => {
    const base = svc.log.size;
    let appending = true;
    let appended = 0;
    const writer = (async () => {
      while (appending) {
        const r = await svc.post<Json>('v1/log', { event: { message: `snapshot ${appended}`, actor: 'snapshotted' } });
        expect(r.status).toBe('Success');
        appended++;
      }
    })();
    const answers: Json[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const r = await svc.post<Json>('v1/search', { query: 'actor:snapshotted', limit: 1000, max_results: 10_000 });
        expect(r.status).toBe('Success');
        answers.push(r.result);
      }
    } finally {
      appending = false;
      await writer;
    }
    for (const a of answers) {
      const size = a.unpublished_root.size as number;
      // Only snapshotted events were appended since `base`: the set is every one of them below the size.
      expect(a.count).toBe(size - base);
      for (const e of a.events) {
        expect(e.envelope.event.actor).toBe('snapshotted');
        expect(hashEnvelope(e.envelope)).toBe(e.hash);
        expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: a.unpublished_root.root_hash }).status).toBe('PASS');
      }
    }
    // Newest first: the messages count down from the last one below the size.
    const last = answers[answers.length - 1]!;
    expect(last.events.map((e: Json) => e.envelope.event.message)).toEqual(Array.from({ length: last.count }, (_, i) => `snapshot ${last.count - 1 - i}`));
  });

  test('a search finds the right events, in order, with a restriction and a time range', async () => {
    const made = [];
    for (const [actor, target] of [['pick-a', 'pick-t'], ['other', 'pick-t'], ['pick-b', 'else'], ['other', 'else']] as const) {
      made.push(await svc.post<Json>('v1/log', { event: { message: `picked ${actor}`, actor, target, tenant_id: actor === 'other' ? 'tenant-x' : 'tenant-y' } }));
    }
    const hashes = made.map((r) => r.result.hash as string);
    const asc = await svc.post<Json>('v1/search', { query: 'actor:pick- OR target:pick-t', order: 'asc', start: '1d' });
    expect(asc.result.events.map((e: Json) => e.hash)).toEqual([hashes[0], hashes[1], hashes[2]]);
    const desc = await svc.post<Json>('v1/search', { query: 'actor:pick- OR target:pick-t', order: 'desc' });
    expect(desc.result.events.map((e: Json) => e.hash)).toEqual([hashes[2], hashes[1], hashes[0]]);
    const restricted = await svc.post<Json>('v1/search', { query: 'target:pick-t', search_restriction: { tenant_id: ['tenant-y'] } });
    expect(restricted.result.events.map((e: Json) => e.hash)).toEqual([hashes[0]]);
  });
});

describe('the search deadline', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ searchDeadlineMs: 1 });
    await fill(svc, FILLER);
  });
  afterAll(async () => {
    await svc.destroy();
  });

  test('a search that runs past it ends with "search too expensive: narrow it" (400), and the service goes on', async () => {
    const r = await svc.post<Json>('v1/search', { query: WORST });
    expectTooExpensive(r);
    expect(r.summary).toBe('search too expensive: narrow it');
    expect(r.result.errors[0].code).toBe('SearchTooExpensive');
    // The same worker takes the next search, and writes are unaffected.
    expectTooExpensive(await svc.post<Json>('v1/search', { query: WORST }));
    expect((await svc.post<Json>('v1/log', { event: { message: 'after the deadline' } })).status).toBe('Success');
  });

  test('LOCAL_AUDIT_SEARCH_DEADLINE_MS must be a positive integer', async () => {
    const saved = process.env.LOCAL_AUDIT_SEARCH_DEADLINE_MS;
    process.env.LOCAL_AUDIT_SEARCH_DEADLINE_MS = 'soon';
    const dir = tempDir();
    try {
      await expect(startTestService({ dataDir: dir })).rejects.toThrow(/LOCAL_AUDIT_SEARCH_DEADLINE_MS must be a positive integer/);
    } finally {
      if (saved === undefined) delete process.env.LOCAL_AUDIT_SEARCH_DEADLINE_MS;
      else process.env.LOCAL_AUDIT_SEARCH_DEADLINE_MS = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the search workers', () => {
  const matchAll = (treeSize: number): MatchQuery => {
    const ast = parseQuery('');
    return { ast, query: compileAst(ast, searchFields(STANDARD_SCHEMA)), orderBy: 'received_at', direction: 'desc', maxResults: 100, treeSize, receivedInLeafOrder: true, generation: 0 };
  };
  /** Three events, a to c, one second apart. */
  const appendThree = (opened: ReturnType<typeof openDatabase>): void => {
    new AuditLog(opened, STANDARD_SCHEMA).append(['a', 'b', 'c'].map((message, i) => ({ event: { message }, received_at: `2026-01-01T00:00:0${i}.000000Z` })));
  };
  /** A pool on a file not made yet in a fresh directory, with the errors it reports. */
  const poolInFreshDir = (workers: number): { dir: string; path: string; errors: unknown[]; pool: SearchPool } => {
    const dir = tempDir();
    const path = join(dir, 'audit.sqlite');
    const errors: unknown[] = [];
    const pool = new SearchPool({ path, schema: STANDARD_SCHEMA, prefilterMinEvents: 4096, workers, maxQueued: 4, deadlineMs: 10_000, onError: (err) => errors.push(err) });
    return { dir, path, errors, pool };
  };

  test('a worker that fails is replaced, and the search it ran fails with an InternalError instead of hanging', async () => {
    // No file yet: the worker's read-only open throws, and the worker dies.
    const { dir, path, errors, pool } = poolInFreshDir(1);
    try {
      await expect(pool.run(matchAll(0))).rejects.toMatchObject({ status: 'InternalError' });
      expect(errors).toHaveLength(1);
      const opened = openDatabase(path, STANDARD_SCHEMA);
      try {
        appendThree(opened);
        await expect(pool.run(matchAll(3))).resolves.toEqual([2, 1, 0]);
        // The snapshot's size bounds what a worker finds, whatever the file holds.
        await expect(pool.run(matchAll(2))).resolves.toEqual([1, 0]);
      } finally {
        await pool.close();
        opened.close();
      }
      await expect(pool.run(matchAll(3))).rejects.toMatchObject({ status: 'ServiceNotAvailable' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('warm() starts every worker before any search: one that cannot open the file is reported and retired unasked; searches then find their events', async () => {
    const { dir, path, errors, pool } = poolInFreshDir(2);
    try {
      expect(pool.workers).toBe(0);
      // No file yet: each warmed worker runs its start-up (the read-only open) without any search asking it to.
      pool.warm();
      expect(pool.workers).toBe(2);
      const deadline = Date.now() + 20_000;
      while (pool.workers > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(pool.workers).toBe(0);
      expect(errors).toHaveLength(2);
      const opened = openDatabase(path, STANDARD_SCHEMA);
      try {
        appendThree(opened);
        expect(pool.warm()).toBe(2);
        expect(pool.warm()).toBe(0);
        expect(pool.workers).toBe(2);
        await expect(Promise.all([pool.run(matchAll(3)), pool.run(matchAll(2))])).resolves.toEqual([[2, 1, 0], [1, 0]]);
        // The searches ran on the warmed workers: none was started for them.
        expect(pool.workers).toBe(2);
        expect(errors).toHaveLength(2);
      } finally {
        await pool.close();
        opened.close();
      }
      pool.warm();
      expect(pool.workers).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a service asked to warmSearchWorkers() has its workers before the first search; one not asked starts none until a search does', async () => {
    const warm = await startTestService();
    const cold = await startTestService();
    try {
      expect(warm.searchWorkers()).toBe(0);
      expect(warm.warmSearchWorkers()).toBe(2);
      expect(warm.searchWorkers()).toBe(2);
      expect(cold.searchWorkers()).toBe(0);
      for (const svc of [warm, cold]) {
        expect((await svc.post<Json>('v1/log', { event: { message: 'first', actor: 'warm-or-cold' } })).status).toBe('Success');
        const found = await svc.post<Json>('v1/search', { query: 'actor:warm-or-cold' });
        expect(found.status).toBe('Success');
        expect(found.result.count).toBe(1);
      }
      expect(warm.searchWorkers()).toBe(2);
      expect(cold.searchWorkers()).toBe(1);
    } finally {
      await warm.destroy();
      await cold.destroy();
    }
  });

  test('a search of an empty log answers at once without starting a search thread; the first search of a logged event starts one', async () => {
    const svc = await startTestService();
    try {
      for (const query of ['', 'actor:nobody', 'message:"hello"']) {
        const empty = await svc.post<Json>('v1/search', { query });
        expect(empty.status).toBe('Success');
        expect(empty.result.count).toBe(0);
        expect(empty.result.events).toEqual([]);
      }
      // A bad query is still refused: the empty log does not skip the checks of the request.
      expect((await svc.post<Json>('v1/search', { query: 'actor:' })).status).toBe('ValidationError');
      expect(svc.searchWorkers()).toBe(0);
      expect((await svc.post<Json>('v1/log', { event: { message: 'hello', actor: 'first' } })).status).toBe('Success');
      const found = await svc.post<Json>('v1/search', { query: 'actor:first' });
      expect(found.result.count).toBe(1);
      expect(svc.searchWorkers()).toBe(1);
    } finally {
      await svc.destroy();
    }
  });

  test.each([
    ['searched', []],
    ['warmed at start and searched', ['warm']],
  ])('closing the service ends its search workers: a process that %s exits by itself', async (_how, extra) => {
    const dir = tempDir();
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', CLOSE_CHILD, dir, ...extra], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      const lines: string[] = [];
      createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(code).toBe(0);
      expect(lines.map((l) => JSON.parse(l) as Json)).toEqual([{ status: 'Success', count: 1 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
