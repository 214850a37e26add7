// v1/export and v1/download_results over real HTTP: export jobs, gzip CSV/JSON files at public
// expiring URLs, result-set downloads, and the errors. Also the CSV writer and time bounds.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { csvField, writeCsv } from '../../src/local-audit/export-format.js';
import { STANDARD_SCHEMA } from '../../src/local-audit/audit-schema.js';
import { parseRelativeDuration, parseTimeBound, parseTimeRange } from '../../src/local-audit/time-range.js';
import { hashEnvelope, verifyMembership } from '../../src/merkle/index.js';
import { startTestService, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF), strict enough to catch bad quoting. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i++;
        if (i < text.length && text[i] !== ',' && text[i] !== '\r') throw new Error(`junk after a closing quote at ${i}`);
      } else {
        field += c;
        i++;
      }
    } else if (c === '"') {
      if (field !== '') throw new Error(`quote inside an unquoted field at ${i}`);
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else if (c === '\n' || c === '\r') {
      throw new Error(`bare line break outside quotes at ${i}`);
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length > 0) throw new Error('last record does not end with CRLF');
  return rows;
}

async function pollUntilDone(svc: TestService, id: string): Promise<Json> {
  for (let i = 0; i < 400; i++) {
    const res = await fetch(`${svc.url}/request/${id}`, { headers: { authorization: `Bearer ${svc.token}` } });
    if (res.status !== 202) return { http: res.status, ...((await res.json()) as Json) };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${id} did not finish`);
}

/** Runs an export to completion; returns its request id and the poll answer. */
async function runExport(svc: TestService, body: Json): Promise<{ id: string; done: Json }> {
  const r = await svc.post<Json>('v1/export', body);
  expect(r.http).toBe(202);
  expect(r.status).toBe('Accepted');
  expect(r.result.location).toBe(`${svc.url}/request/${r.request_id}`);
  return { id: r.request_id, done: await pollUntilDone(svc, r.request_id) };
}

/** Asks for a download and fetches the file without credentials. */
async function download(svc: TestService, body: Json): Promise<{ file: Buffer; text: string; response: Response; result: Json }> {
  const r = await svc.post<Json>('v1/download_results', body);
  expect(r.status).toBe('Success');
  expect(r.result.dest_url).toMatch(new RegExp(`^${svc.url}/downloads/[A-Za-z0-9_-]{43}$`));
  expect(Date.parse(r.result.expires_at)).toBeGreaterThan(Date.now());
  const response = await fetch(r.result.dest_url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/gzip');
  expect(response.headers.get('content-encoding')).toBeNull();
  const file = Buffer.from(await response.arrayBuffer());
  expect([file[0], file[1]]).toEqual([0x1f, 0x8b]); // gzip magic
  return { file, text: gunzipSync(file).toString('utf8'), response, result: r.result };
}

const TRICKY = [
  { message: 'plain', actor: 'alice', action: 'login', status: 'success' },
  { message: 'comma, inside', actor: 'bob', action: 'logout', new: '{"a":1,"b":"x"}' },
  { message: 'a "quoted" word', actor: 'alice', target: 'doc-1' },
  { message: 'two\r\nlines\nand a bare LF', actor: 'carol', source: '10.0.0.1' },
  { message: 'ünïcödé 🎉 and =SUM(A1)', actor: 'dave', timestamp: '2024-05-01T12:00:00Z' },
];

describe('export and download', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
    await svc.post('v2/log', { events: TRICKY.slice(0, 3).map((event) => ({ event })) });
    svc.publishNow(); // the first three are published
    await svc.post('v2/log', { events: TRICKY.slice(3).map((event) => ({ event })) });
  });
  afterAll(async () => {
    await svc.destroy();
  });

  test('CSV export: every event once, RFC 4180 quoted, with hashes, published flags and leaf indexes', async () => {
    const { id, done } = await runExport(svc, {});
    expect(done.http).toBe(200);
    expect(done.status).toBe('Success');
    expect(done.result).toEqual({ status: 'done', count: 5, format: 'csv' });
    // Events logged after the export ran are not in its file.
    await svc.post('v1/log', { event: { message: 'too late' } });

    const { text, response } = await download(svc, { request_id: id });
    expect(response.headers.get('content-disposition')).toContain('.csv.gz');
    const rows = parseCsv(text);
    const fields = STANDARD_SCHEMA.fields.map((f) => f.id);
    expect(rows[0]).toEqual(['received_at', 'hash', ...fields, 'signature', 'public_key', 'published', 'leaf_index']);
    expect(rows).toHaveLength(1 + 5);
    rows.slice(1).forEach((row, i) => {
      const stored = svc.log.events.get(i)!;
      const record = Object.fromEntries(rows[0]!.map((name, k) => [name, row[k]]));
      expect(record.received_at).toBe(stored.envelope.received_at);
      expect(record.hash).toBe(stored.hash);
      for (const f of fields) expect(record[f]).toBe((TRICKY[i] as Json)[f] ?? '');
      expect(record.published).toBe(String(i < 3));
      expect(record.leaf_index).toBe(i < 3 ? String(i) : '');
    });
  });

  test('JSON export with verbose: newest first, envelopes hash to their hashes, proofs verify against the roots', async () => {
    const start = svc.log.events.get(1)!.envelope.received_at;
    const end = svc.log.events.get(4)!.envelope.received_at;
    const sizeAtExport = svc.log.size;
    const { id, done } = await runExport(svc, { format: 'json', verbose: true, order: 'desc', start, end });
    expect(done.result).toEqual({ status: 'done', count: 4, format: 'json' });
    const { text } = await download(svc, { request_id: id });
    const body = JSON.parse(text) as Json;
    expect(body.count).toBe(4);
    expect(body.events.map((e: Json) => e.envelope.event.message)).toEqual(TRICKY.slice(1).reverse().map((e) => e.message));
    expect(body.root).toMatchObject({ size: 3, tree_name: svc.log.treeName });
    expect(body.unpublished_root).toMatchObject({ size: sizeAtExport, root_hash: svc.log.rootHash(sizeAtExport) });
    for (const e of body.events as Json[]) {
      expect(hashEnvelope(e.envelope)).toBe(e.hash);
      const rootHash = e.published ? body.root.root_hash : body.unpublished_root.root_hash;
      expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash }).status).toBe('PASS');
      if (e.published) expect(svc.log.events.get(e.leaf_index)!.hash).toBe(e.hash);
      else expect(e).not.toHaveProperty('leaf_index');
    }
    // The same export downloaded as CSV: a format given to download_results wins.
    const csv = parseCsv((await download(svc, { request_id: id, format: 'csv' })).text);
    expect(csv[0]).toContain('membership_proof');
    expect(csv).toHaveLength(5);
  });

  test('export ordered by a schema field, and relative bounds', async () => {
    const { id } = await runExport(svc, { order_by: 'actor', order: 'asc', format: 'json' });
    const body = JSON.parse((await download(svc, { request_id: id })).text) as Json;
    const actors = body.events.map((e: Json) => e.envelope.event.actor ?? '');
    expect(actors).toEqual([...actors].sort());
    expect(body).not.toHaveProperty('root');

    expect((await runExport(svc, { start: '1h' })).done.result.count).toBe(svc.log.size);
    expect((await runExport(svc, { end: '1d' })).done.result.count).toBe(0);
  });

  test('a search result set downloads as CSV (default) and JSON, in result order', async () => {
    const search = await svc.post<Json>('v1/search', { query: 'actor:alice', order: 'asc', limit: 1 });
    expect(search.status).toBe('Success');
    expect(search.result.count).toBe(2);
    const csv = parseCsv((await download(svc, { result_id: search.result.id })).text);
    expect(csv.slice(1).map((row) => row[csv[0]!.indexOf('message')])).toEqual(['plain', 'a "quoted" word']);
    const json = JSON.parse((await download(svc, { result_id: search.result.id, format: 'json', return_context: true })).text) as Json;
    expect(json.events.map((e: Json) => e.hash)).toEqual([svc.log.events.get(0)!.hash, svc.log.events.get(2)!.hash]);
    expect(json.events[0]).not.toHaveProperty('membership_proof');
  });

  test('expired and unknown download URLs answer 404 in plain text', async () => {
    const { id } = await runExport(svc, {});
    const r = await svc.post<Json>('v1/download_results', { request_id: id });
    expect((await fetch(r.result.dest_url)).status).toBe(200);
    const side = new Database(join(svc.dataDir, 'audit.sqlite'));
    try {
      side.prepare('UPDATE downloads SET expires_at_ms = 1').run();
    } finally {
      side.close();
    }
    const expired = await fetch(r.result.dest_url);
    expect(expired.status).toBe(404);
    expect(expired.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await expired.text()).toMatch(/not found or expired/);
    const unknown = await fetch(`${svc.url}/downloads/${'A'.repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect((await fetch(`${svc.url}/downloads/short`)).status).toBe(404);
  });

  test.each([
    [{ result_id: 'pas_x', request_id: 'prq_x' }, 'MutuallyExclusive', '/request_id'],
    [{}, 'FieldRequired', '/result_id'],
    [{ format: 'json' }, 'FieldRequired', '/result_id'],
    [{ result_id: 'pas_x', format: 'xml' }, 'NotEnumMember', '/format'],
    [{ result_id: 'pas_x', colour: 'red' }, 'UnexpectedProperty', '/colour'],
  ])('download_results %j → ValidationError %s at %s', async (body, code, source) => {
    const r = await svc.post<Json>('v1/download_results', body);
    expect(r.http).toBe(400);
    expect(r.status).toBe('ValidationError');
    expect(r.result.errors).toEqual([expect.objectContaining({ code, source })]);
  });

  test('unknown ids, non-export jobs and unfinished exports', async () => {
    expect((await svc.post('v1/download_results', { result_id: 'pas_' + 'q'.repeat(32) })).status).toBe('NotFound');
    expect((await svc.post('v1/download_results', { request_id: 'prq_' + 'q'.repeat(32) })).status).toBe('NotFound');
    const logJob = await svc.post<Json>('v2/log_async', { events: [{ event: { message: 'job' } }] });
    await pollUntilDone(svc, logJob.request_id);
    expect((await svc.post('v1/download_results', { request_id: logJob.request_id })).status).toBe('NotFound');

    const runner = svc.jobs;
    runner.pause();
    try {
      const pending = await svc.post<Json>('v1/export', { format: 'json' });
      const early = await svc.post<Json>('v1/download_results', { request_id: pending.request_id });
      expect(early.status).toBe('ValidationError');
      expect(early.result.errors).toEqual([expect.objectContaining({ code: 'NotReady', source: '/request_id' })]);
      expect(early.summary).toContain(`/request/${pending.request_id}`);
      runner.resume();
      await pollUntilDone(svc, pending.request_id);
      expect((await svc.post('v1/download_results', { request_id: pending.request_id })).status).toBe('Success');
    } finally {
      runner.resume();
    }
  });

  test.each([
    [{ start: 'yesterday' }, 'BadFormat', '/start'],
    [{ end: '5m' }, 'BadFormat', '/end'],
    [{ start: '1h', end: '2h' }, 'BadFormat', '/start'],
    [{ order_by: 'colour' }, 'NotEnumMember', '/order_by'],
    [{ order: 'up' }, 'NotEnumMember', '/order'],
    [{ format: 'xml' }, 'NotEnumMember', '/format'],
    [{ query: 'x' }, 'UnexpectedProperty', '/query'],
  ])('export %j → ValidationError %s at %s', async (body, code, source) => {
    const r = await svc.post<Json>('v1/export', body);
    expect(r.http).toBe(400);
    expect(r.result.errors).toEqual([expect.objectContaining({ code, source })]);
  });

  test('download URLs need no token, but the API does', async () => {
    const res = await fetch(`${svc.url}/v1/download_results`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result_id: 'pas_x' }),
    });
    expect(res.status).toBe(401);
  });
});

describe('CSV writer', () => {
  test.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', '"line\nbreak"'],
    ['cr\ronly', '"cr\ronly"'],
    ['', ''],
    [' spaced ', ' spaced '],
  ])('csvField(%j) = %j', (input, expected) => {
    expect(csvField(input)).toBe(expected);
  });

  test('rows round-trip through an RFC 4180 parser, absent values empty, numbers and booleans as text', () => {
    const schema = { fields: [{ id: 'message', type: 'text' as const }, { id: 'count', type: 'integer' as const }, { id: 'ok', type: 'boolean' as const }] };
    const envelope = { event: { message: 'x,"y"\r\nz', count: 3, ok: false }, received_at: '2024-01-01T00:00:00.000000Z' };
    const text = writeCsv(schema, [{ leafIndex: 7, hash: 'ab', envelope, envelopeJson: JSON.stringify(envelope), published: true }], false);
    expect(parseCsv(text)).toEqual([
      ['received_at', 'hash', 'message', 'count', 'ok', 'signature', 'public_key', 'published', 'leaf_index'],
      ['2024-01-01T00:00:00.000000Z', 'ab', 'x,"y"\r\nz', '3', 'false', '', '', 'true', '7'],
    ]);
  });
});

describe('time bounds', () => {
  const now = Date.parse('2024-05-10T12:00:00.000Z');
  test.each([
    ['7d', '2024-05-03T12:00:00.000000Z'],
    ['120min', '2024-05-10T10:00:00.000000Z'],
    ['2h', '2024-05-10T10:00:00.000000Z'],
    ['30s', '2024-05-10T11:59:30.000000Z'],
    ['2w', '2024-04-26T12:00:00.000000Z'],
    ['3 days', '2024-05-07T12:00:00.000000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000000Z'],
    ['2024-05-01T00:00:00+02:00', '2024-04-30T22:00:00.000000Z'],
    ['2024-05-01T00:00:00.1234567Z', '2024-05-01T00:00:00.123456Z'],
  ])('parseTimeBound(%j) = %s', (text, expected) => {
    expect(parseTimeBound(text, now)).toBe(expected);
  });

  test.each(['5m', 'yesterday', '', '7', 'd7', '-3d', '2024-13-01', '99999999999w'])('parseTimeBound(%j) is null', (text) => {
    expect(parseTimeBound(text, now)).toBeNull();
  });

  test('relative durations and ranges', () => {
    expect(parseRelativeDuration('90min')).toBe(90 * 60_000);
    expect(parseTimeRange({ start: '2d', end: '1d' }, now)).toEqual({ start: '2024-05-08T12:00:00.000000Z', end: '2024-05-09T12:00:00.000000Z' });
    expect(parseTimeRange({}, now)).toEqual({});
    expect(() => parseTimeRange({ start: 'x', end: 'y' }, now)).toThrow(/There were 2 errors/);
  });
});
