// Streamed exports over real HTTP with a real data directory: the export job writes its file to
// <DATA_DIR>/downloads, downloads stream it, SQLite keeps only metadata. The files are compared
// byte for byte with the in-memory rendering the service used before (rebuilt here from the
// store), and the events with what a search finds. Also keyset paging, expiry, start-up clean-up,
// failures, the upgrade from blob downloads and large events.
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { STANDARD_SCHEMA } from '../../src/local-audit/audit-schema.js';
import { DownloadFiles } from '../../src/local-audit/download-files.js';
import { writeCsv, type FormatEvent } from '../../src/local-audit/export-format.js';
import type { ExportRequest, ExportSnapshot } from '../../src/local-audit/export-job.js';
import { resultJson, type ResultRoots } from '../../src/local-audit/result-json.js';
import { DownloadStore } from '../../src/local-audit/store/download-store.js';
import { ExportQuery, type ExportCursor, type ExportFilter } from '../../src/local-audit/store/export-query.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

async function pollUntilDone(svc: TestService, id: string): Promise<Json> {
  for (let i = 0; i < 3000; i++) {
    const res = await fetch(`${svc.url}/request/${id}`, { headers: { authorization: `Bearer ${svc.token}` } });
    if (res.status !== 202) return { http: res.status, ...((await res.json()) as Json) };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${id} did not finish`);
}

async function runExport(svc: TestService, body: Json): Promise<{ id: string; done: Json }> {
  const r = await svc.post<Json>('v1/export', body);
  expect(r.http).toBe(202);
  return { id: r.request_id, done: await pollUntilDone(svc, r.request_id) };
}

async function download(svc: TestService, body: Json): Promise<{ file: Buffer; text: string; response: Response; url: string }> {
  const r = await svc.post<Json>('v1/download_results', body);
  expect(r.status).toBe('Success');
  const response = await fetch(r.result.dest_url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/gzip');
  const file = Buffer.from(await response.arrayBuffer());
  expect(response.headers.get('content-length')).toBe(String(file.length));
  return { file, text: gunzipSync(file).toString('utf8'), response, url: r.result.dest_url };
}

function openSide(svc: TestService): Database.Database {
  return new Database(join(svc.dataDir, 'audit.sqlite'));
}

const downloadsDir = (svc: TestService): string => join(svc.dataDir, 'downloads');

/** The file as the service rendered it in memory before exports were streamed. */
function inMemoryRendering(svc: TestService, request: ExportRequest, snapshot: ExportSnapshot, format = request.format): string {
  const db = openSide(svc);
  try {
    const leafIndexes = new ExportQuery(db, STANDARD_SCHEMA).leafIndexes(request, snapshot.treeSize);
    const log = svc.log;
    const sizeOf = (leaf: number): number => (leaf < snapshot.publishedSize ? snapshot.publishedSize : snapshot.treeSize);
    const events: FormatEvent[] = [];
    for (let i = 0; i < leafIndexes.length; i += 500) {
      const chunk = log.events.getMany(leafIndexes.slice(i, i + 500));
      const proofs = request.verbose ? log.membershipProofs(chunk.map((e) => e.leafIndex), sizeOf) : undefined;
      for (const [k, stored] of chunk.entries()) {
        const event: FormatEvent = { ...stored, published: stored.leafIndex < snapshot.publishedSize };
        if (proofs) event.membershipProof = proofs[k]!;
        events.push(event);
      }
    }
    if (format === 'csv') return writeCsv(log.schema, events, request.verbose);
    const roots: ResultRoots = {};
    if (request.verbose) {
      if (snapshot.publishedSize > 0) roots.root = log.publishedRoot(snapshot.publishedSize);
      if (snapshot.treeSize > 0) roots.unpublished_root = log.unpublishedRoot(snapshot.treeSize);
    }
    return resultJson({}, events.length, events, roots);
  } finally {
    db.close();
  }
}

function jobOf(svc: TestService, id: string): { request: ExportRequest; snapshot: ExportSnapshot } {
  const job = svc.jobs.get(id)!;
  return { request: job.request as ExportRequest, snapshot: job.detail as ExportSnapshot };
}

/** Every event a search for everything finds, oldest first, paged through v1/results. */
async function searchedHashes(svc: TestService): Promise<string[]> {
  const first = await svc.post<Json>('v1/search', { query: '', order: 'asc', limit: 1000, max_results: 10_000 });
  expect(first.status).toBe('Success');
  const hashes: string[] = first.result.events.map((e: Json) => e.hash);
  while (hashes.length < first.result.count) {
    const page = await svc.post<Json>('v1/results', { id: first.result.id, offset: hashes.length, limit: 1000 });
    hashes.push(...page.result.events.map((e: Json) => e.hash));
  }
  return hashes;
}

const N = 3000;

/** Events with gaps: actor and tenant_id (no B-tree) and timestamp (indexed, repeated values) are absent from some. */
function event(i: number): Json {
  const e: Json = { message: `event ${i}`, action: ['read', 'write', 'delete'][i % 3], status: i % 11 === 0 ? 'fail, "quoted"' : 'ok' };
  if (i % 3 !== 0) e.actor = `user-${i % 17}`;
  if (i % 5 !== 0) e.tenant_id = `t${i % 7}`;
  if (i % 4 !== 0) e.timestamp = `2024-01-0${1 + (i % 9)}T00:00:00.000000Z`;
  if (i % 10 === 0) e.new = JSON.stringify({ line: 'two\r\nlines', i });
  return e;
}

describe('streamed exports', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
    for (let start = 0; start < N; start += 500) {
      const r = await svc.post('v2/log', { events: Array.from({ length: 500 }, (_, k) => ({ event: event(start + k) })) });
      expect(r.status).toBe('Success');
      if (start === 1500) svc.publishNow(); // the first 2,000 published, the rest not
    }
  });
  afterAll(async () => {
    await svc.destroy();
  });

  test('a 3,000-event CSV and a verbose JSON export are byte for byte the in-memory rendering, and hold what a search finds', async () => {
    const csv = await runExport(svc, {});
    expect(csv.done.result).toEqual({ status: 'done', count: N, format: 'csv' });
    const csvJob = jobOf(svc, csv.id);
    expect((await download(svc, { request_id: csv.id })).text).toBe(inMemoryRendering(svc, csvJob.request, csvJob.snapshot));

    const json = await runExport(svc, { format: 'json', verbose: true });
    const jsonJob = jobOf(svc, json.id);
    const { text } = await download(svc, { request_id: json.id });
    expect(text).toBe(inMemoryRendering(svc, jsonJob.request, jsonJob.snapshot));
    const body = JSON.parse(text) as Json;
    expect(body.count).toBe(N);
    expect(body.events.map((e: Json) => e.hash)).toEqual(await searchedHashes(svc));
    expect(body.events.filter((e: Json) => e.published)).toHaveLength(2000);

    // The same export in the other format is rendered on demand, identical too.
    const asCsv = await download(svc, { request_id: json.id, format: 'csv' });
    expect(asCsv.text).toBe(inMemoryRendering(svc, jsonJob.request, jsonJob.snapshot, 'csv'));
  });

  test.each([
    [{ order_by: 'tenant_id', order: 'asc', format: 'json' }],
    [{ order_by: 'tenant_id', order: 'desc', format: 'csv', verbose: true }],
    [{ order_by: 'actor', order: 'desc', format: 'json' }],
    [{ order_by: 'timestamp', order: 'asc', format: 'csv' }],
    [{ order: 'desc', format: 'csv' }],
  ])('export %j: the same file as the in-memory rendering', async (body) => {
    const { id } = await runExport(svc, body);
    const job = jobOf(svc, id);
    expect((await download(svc, { request_id: id })).text).toBe(inMemoryRendering(svc, job.request, job.snapshot));
  });

  test('keyset pages list the same leaves, in the same order, as the one sorted query', () => {
    const db = openSide(svc);
    try {
      const query = new ExportQuery(db, STANDARD_SCHEMA);
      expect(query.pageable({ order: 'asc', order_by: 'received_at' })).toBe(true);
      expect(query.pageable({ order: 'asc', order_by: 'timestamp' })).toBe(true);
      // A string tenant_id has no B-tree (the trigram index covers its restrictions): one sorted read.
      expect(query.pageable({ order: 'asc', order_by: 'tenant_id' })).toBe(false);
      expect(query.pageable({ order: 'asc', order_by: 'actor' })).toBe(false);
      const middle = svc.log.events.get(1000)!.envelope.received_at;
      const late = svc.log.events.get(2500)!.envelope.received_at;
      const filters: ExportFilter[] = [];
      for (const order_by of ['received_at', 'tenant_id', 'actor', 'timestamp']) {
        for (const order of ['asc', 'desc'] as const) {
          filters.push({ order, order_by }, { order, order_by, start: middle }, { order, order_by, start: middle, end: late });
        }
      }
      for (const filter of filters) {
        const expected = query.leafIndexes(filter, 2800);
        for (const limit of [7, 256, 5000]) {
          const paged: number[] = [];
          let after: ExportCursor | undefined;
          do {
            const page = query.page(filter, 2800, after, limit);
            expect(page.leafIndexes.length).toBeLessThanOrEqual(limit);
            paged.push(...page.leafIndexes);
            after = page.next;
          } while (after !== undefined);
          expect({ filter, limit, paged }).toEqual({ filter, limit, paged: expected });
        }
      }
    } finally {
      db.close();
    }
  });

  test('no blob in SQLite: the file is in the downloads folder, mode 0600, and its size is the Content-Length', async () => {
    const { id } = await runExport(svc, { format: 'json' });
    const { file } = await download(svc, { request_id: id });
    const db = openSide(svc);
    try {
      const columns = db.prepare(`SELECT name, type FROM pragma_table_info('downloads')`).all() as Array<{ name: string; type: string }>;
      expect(columns.map((c) => c.name)).not.toContain('content');
      expect(columns.filter((c) => c.type === 'BLOB')).toEqual([]);
      const rows = db.prepare('SELECT token, owner, file, size, content_type FROM downloads WHERE owner = ?').all(id) as Json[];
      // The job's rendering and the download's own name for it.
      expect(rows).toHaveLength(2);
      expect(rows.filter((r) => r.token === null)).toHaveLength(1);
      for (const row of rows) {
        const path = join(downloadsDir(svc), row.file);
        const stat = statSync(path);
        expect(stat.mode & 0o777).toBe(0o600);
        expect(stat.size).toBe(file.length);
        expect(row.size).toBe(file.length);
        expect(row.content_type).toBe('application/gzip');
      }
      // The two names are one file on disk.
      expect(statSync(join(downloadsDir(svc), rows[0]!.file)).ino).toBe(statSync(join(downloadsDir(svc), rows[1]!.file)).ino);
    } finally {
      db.close();
    }
  });

  test('expired files are deleted and their URLs answer 404; a second download reuses the rendering', async () => {
    const { id } = await runExport(svc, { format: 'csv', start: svc.log.events.get(2990)!.envelope.received_at });
    const first = await download(svc, { request_id: id });
    const second = await download(svc, { request_id: id });
    expect(second.file.equals(first.file)).toBe(true);
    const db = openSide(svc);
    let files: string[];
    try {
      files = (db.prepare('SELECT file FROM downloads WHERE owner = ?').pluck().all(id) as string[]);
      expect(files).toHaveLength(3); // one rendering, two downloads
      db.prepare('UPDATE downloads SET expires_at_ms = 1 WHERE owner = ?').run(id);
    } finally {
      db.close();
    }
    const expired = await fetch(first.url);
    expect(expired.status).toBe(404);
    expect(await expired.text()).toMatch(/not found or expired/);
    // Any download request purges what has expired.
    const other = await runExport(svc, { format: 'json', start: svc.log.events.get(2999)!.envelope.received_at });
    await download(svc, { request_id: other.id });
    for (const file of files) expect(existsSync(join(downloadsDir(svc), file))).toBe(false);
    // The export is still pollable: downloading it again renders a new file.
    expect((await download(svc, { request_id: id })).text).toBe(first.text);
  });

  test('a download whose file was removed from disk answers 404', async () => {
    const { id } = await runExport(svc, { format: 'csv', start: svc.log.events.get(2995)!.envelope.received_at });
    const { url } = await download(svc, { request_id: id });
    for (const name of readdirSync(downloadsDir(svc))) rmSync(join(downloadsDir(svc), name));
    expect((await fetch(url)).status).toBe(404);
    // The kept rendering is gone as well: the next download renders the export again.
    expect((await download(svc, { request_id: id })).text.split('\r\n')).toHaveLength(1 + 5 + 1);
  });

  test('a failing export is failed with a clear error, leaves no file, is not retried, and the next job runs', async () => {
    // The downloads folder replaced by a plain file: every file written there fails (ENOTDIR).
    const dir = downloadsDir(svc);
    rmSync(dir, { recursive: true });
    writeFileSync(dir, '');
    let failed: { id: string; done: Json };
    try {
      failed = await runExport(svc, { format: 'json' });
    } finally {
      rmSync(dir);
      mkdirSync(dir);
    }
    expect(failed.done.status).toBe('InternalError');
    expect(failed.done.summary).toMatch(/json file could not be written to disk \(ENOTDIR\)/);
    expect(svc.jobs.get(failed.id)!.state).toBe('failed');
    expect(readdirSync(dir)).toEqual([]);
    const refused = await svc.post<Json>('v1/download_results', { request_id: failed.id });
    expect(refused.status).toBe('ValidationError');
    expect(refused.result.errors).toEqual([expect.objectContaining({ code: 'ExportFailed' })]);
    // The runner went on.
    const next = await runExport(svc, { format: 'csv', start: svc.log.events.get(2999)!.envelope.received_at });
    expect(next.done.result).toEqual({ status: 'done', count: 1, format: 'csv' });
  });

  test('search result sets download from the downloads folder too', async () => {
    const search = await svc.post<Json>('v1/search', { query: 'actor:user-3', order: 'asc', limit: 10 });
    const { text } = await download(svc, { result_id: search.result.id, format: 'json' });
    const body = JSON.parse(text) as Json;
    expect(body.count).toBe(search.result.count);
    expect(body.events.every((e: Json) => e.envelope.event.actor === 'user-3')).toBe(true);
  });
});

describe('the downloads folder', () => {
  test('a file whose writing fails half-way is removed, and the error is the one that happened', async () => {
    const dir = tempDir('downloads-');
    const db = new Database(':memory:');
    try {
      db.exec(
        'CREATE TABLE downloads (id INTEGER PRIMARY KEY, token TEXT UNIQUE, owner TEXT NOT NULL, format TEXT NOT NULL, file TEXT NOT NULL UNIQUE, content_type TEXT NOT NULL, size INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL)',
      );
      const files = new DownloadFiles(join(dir, 'downloads'), new DownloadStore(db), () => {});
      async function* chunks(): AsyncGenerator<string> {
        for (let i = 0; i < 50; i++) yield 'x'.repeat(100_000);
        throw new Error('the store went away');
      }
      await expect(files.write(chunks())).rejects.toThrow('the store went away');
      expect(readdirSync(join(dir, 'downloads'))).toEqual([]);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('at start-up, stale, half-written and unrecorded files are removed; live ones are kept', async () => {
    const svc = await startTestService();
    let dataDir = svc.dataDir;
    try {
      await svc.post('v2/log', { events: [{ event: { message: 'one' } }, { event: { message: 'two' } }] });
      const live = await runExport(svc, {});
      const stale = await runExport(svc, { format: 'json' });
      const kept = await download(svc, { request_id: live.id });
      await download(svc, { request_id: stale.id });
      dataDir = svc.dataDir;
      await svc.close();
      const db = new Database(join(dataDir, 'audit.sqlite'));
      let staleFiles: string[];
      try {
        staleFiles = db.prepare('SELECT file FROM downloads WHERE owner = ?').pluck().all(stale.id) as string[];
        db.prepare('UPDATE downloads SET expires_at_ms = 1 WHERE owner = ?').run(stale.id);
      } finally {
        db.close();
      }
      const dir = join(dataDir, 'downloads');
      writeFileSync(join(dir, '.tmp-0123.gz'), 'half');
      writeFileSync(join(dir, 'unrecorded.gz'), 'orphan');
      chmodSync(join(dir, 'unrecorded.gz'), 0o600);

      const again = await startTestService({ dataDir });
      try {
        const left = readdirSync(dir);
        expect(left).not.toContain('.tmp-0123.gz');
        expect(left).not.toContain('unrecorded.gz');
        for (const file of staleFiles) expect(left).not.toContain(file);
        expect(left).toHaveLength(2); // the live export's rendering and its download
        // The same token, at the restarted service's address.
        const res = await fetch(`${again.url}${new URL(kept.url).pathname}`);
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(kept.file)).toBe(true);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a data directory with blob downloads is upgraded: the old table is dropped', async () => {
    const dataDir = tempDir();
    const old = new Database(join(dataDir, 'audit.sqlite'));
    old.exec(`CREATE TABLE downloads (token TEXT PRIMARY KEY, format TEXT NOT NULL, content BLOB NOT NULL, expires_at_ms INTEGER NOT NULL);
      CREATE INDEX downloads_expiry ON downloads (expires_at_ms);`);
    old.prepare('INSERT INTO downloads VALUES (?, ?, ?, ?)').run('x'.repeat(64), 'csv', Buffer.alloc(1000), Date.now() + 3600_000);
    old.close();
    const svc = await startTestService({ dataDir });
    try {
      const db = openSide(svc);
      try {
        const columns = db.prepare(`SELECT name FROM pragma_table_info('downloads')`).pluck().all();
        expect(columns).not.toContain('content');
        expect(columns).toEqual(expect.arrayContaining(['token', 'owner', 'file', 'size', 'content_type', 'expires_at_ms']));
        expect(db.prepare('SELECT COUNT(*) FROM downloads').pluck().get()).toBe(0);
      } finally {
        db.close();
      }
      await svc.post('v1/log', { event: { message: 'after the upgrade' } });
      const { id } = await runExport(svc, {});
      expect((await download(svc, { request_id: id })).text).toContain('after the upgrade');
    } finally {
      await svc.destroy();
    }
  });
});

describe('large events', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => {
    await svc.destroy();
  });

  test('2,000 events of 32 KB export as JSON and CSV without error', async () => {
    const big = (i: number): string => `${i}:`.padEnd(32_000, 'abcdefghij');
    for (let start = 0; start < 2000; start += 200) {
      const r = await svc.post('v2/log', { events: Array.from({ length: 200 }, (_, k) => ({ event: { message: big(start + k), actor: 'bulk' } })) });
      expect(r.status).toBe('Success');
    }
    const json = await runExport(svc, { format: 'json', verbose: true });
    expect(json.done.result).toEqual({ status: 'done', count: 2000, format: 'json' });
    const body = JSON.parse((await download(svc, { request_id: json.id })).text) as Json;
    expect(body.count).toBe(2000);
    body.events.forEach((e: Json, i: number) => expect(e.envelope.event.message).toBe(big(i)));

    const csv = await runExport(svc, { format: 'csv' });
    expect(csv.done.result.count).toBe(2000);
    const lines = (await download(svc, { request_id: csv.id })).text.split('\r\n');
    expect(lines).toHaveLength(1 + 2000 + 1);
    expect(lines[2000]).toContain(big(1999));
  });
});
