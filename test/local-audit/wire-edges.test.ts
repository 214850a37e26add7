// Three edges of the local audit service's REST API, over real HTTP on a fresh data directory:
// - timestamps without an offset (what the vendor's Python SDK sends) are UTC for order and
//   ranges, and kept as sent in the hashed envelope;
// - the pages of a `verbose: false` search, v1/results included, carry no proofs, roots or
//   leaf indexes;
// - integers beyond ±(2^53 - 1), which JSON.parse would round, are refused naming the field,
//   while a 15-digit one is stored and hashed exactly.
import { hashEnvelope, verifyMembership } from '../../src/merkle/index.js';
import { SCHEMA } from '../support/custom-schema.js';
import { startTestService, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

describe('timestamps without an offset', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => {
    await svc.destroy();
  });

  test('are accepted, kept as sent in the hashed envelope, and ordered and ranged as UTC among offset ones', async () => {
    // Written out of order, in three forms; their instants, in UTC: 13:13:46.054917, 13:00, 14:00:00.5.
    const events = [
      { message: 'python sdk', actor: 'tz', timestamp: '2026-12-04T13:13:46.054917' },
      { message: 'zulu', actor: 'tz', timestamp: '2026-12-04T13:00:00Z' },
      { message: 'offset', actor: 'tz', timestamp: '2026-12-04T16:00:00.5+02:00' },
    ];
    const logged = await svc.post<Json>('v2/log', { events: events.map((event) => ({ event })), verbose: true });
    expect(logged.status).toBe('Success');
    const naive = logged.result.results[0];
    expect(naive.envelope.event.timestamp).toBe('2026-12-04T13:13:46.054917');
    expect(hashEnvelope(naive.envelope)).toBe(naive.hash);

    const single = await svc.post<Json>('v1/log', { event: { message: 'single', actor: 'solo', timestamp: '2026-12-04T13:13:46' }, verbose: true });
    expect(single.status).toBe('Success');
    expect(single.result.envelope.event.timestamp).toBe('2026-12-04T13:13:46');

    const messages = async (query: string, extra: Json = {}): Promise<string[]> => {
      const r = await svc.post<Json>('v1/search', { query, ...extra });
      expect(r.status).toBe('Success');
      return r.result.events.map((e: Json) => e.envelope.event.message);
    };
    expect(await messages('actor:tz', { order_by: 'timestamp', order: 'asc' })).toEqual(['zulu', 'python sdk', 'offset']);
    // A naive bound in the query is UTC too, and so is one in an offset form.
    expect(await messages('actor:tz timestamp>2026-12-04T13:10:00', { order_by: 'timestamp', order: 'asc' })).toEqual(['python sdk', 'offset']);
    expect(await messages('actor:tz timestamp<2026-12-04T15:13:46.054917+02:00', { order_by: 'timestamp', order: 'asc' })).toEqual(['zulu']);
    expect(await messages('actor:tz timestamp>2026-12-04T15:13:46+02:00 timestamp<2026-12-04T13:13:47', { order_by: 'timestamp' })).toEqual(['python sdk']);
  });

  test('a malformed timestamp is still refused', async () => {
    const r = await svc.post<Json>('v1/log', { event: { message: 'bad', timestamp: '2026-12-04 13:13:46' } });
    expect(r.status).toBe('ValidationError');
    expect(r.result.errors[0].source).toBe('/event/timestamp');
  });
});

describe('verbose: false searches', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
    await svc.post('v2/log', { events: Array.from({ length: 6 }, (_, i) => ({ event: { message: `quiet ${i}`, actor: 'quiet' } })) });
    svc.publishNow();
    await svc.post('v2/log', { events: Array.from({ length: 4 }, (_, i) => ({ event: { message: `quiet late ${i}`, actor: 'quiet' } })) });
  });
  afterAll(async () => {
    await svc.destroy();
  });

  test('every page, v1/results included, leaves out proofs, roots and leaf indexes', async () => {
    const search = await svc.post<Json>('v1/search', { query: 'actor:quiet', verbose: false, limit: 3, order: 'asc' });
    expect(search.status).toBe('Success');
    expect(search.result.count).toBe(10);
    const pages = [search.result];
    for (const offset of [3, 6, 9]) {
      const page = await svc.post<Json>('v1/results', { id: search.result.id, offset, limit: 3 });
      expect(page.status).toBe('Success');
      pages.push(page.result);
    }
    const events = pages.flatMap((p) => p.events);
    expect(events).toHaveLength(10);
    expect(events.filter((e: Json) => e.published)).toHaveLength(6);
    for (const page of pages) {
      expect(page).not.toHaveProperty('root');
      expect(page).not.toHaveProperty('unpublished_root');
    }
    for (const e of events) {
      expect(Object.keys(e).sort()).toEqual(['envelope', 'hash', 'published']);
      expect(hashEnvelope(e.envelope)).toBe(e.hash);
    }
  });

  test('a verbose search (the default) keeps proofs, roots and leaf indexes on every page', async () => {
    const search = await svc.post<Json>('v1/search', { query: 'actor:quiet', limit: 5, order: 'asc' });
    const page = await svc.post<Json>('v1/results', { id: search.result.id, offset: 5, limit: 5 });
    for (const r of [search.result, page.result]) {
      expect(r.root.size).toBe(6);
      expect(r.unpublished_root.size).toBe(10);
      for (const e of r.events) {
        expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: e.published ? r.root.root_hash : r.unpublished_root.root_hash }).status).toBe('PASS');
        if (e.published) expect(typeof e.leaf_index).toBe('number');
      }
    }
  });
});

describe('integers beyond 2^53 - 1', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ schema: SCHEMA });
  });
  afterAll(async () => {
    await svc.destroy();
  });

  /** Posts raw JSON text: JSON.stringify cannot write a 30-digit integer. */
  const postRaw = (path: string, text: string): Promise<Json> => svc.post<Json>(path, text);

  test.each([
    ['v1/log', '{"event":{"message":"big","count":123456789012345678901234567890}}', '/event/count'],
    ['v1/log', '{"event":{"message":"big","count":-9007199254740992}}', '/event/count'],
    ['v1/log', '{"event":{"message":"big","count":9007199254740993}}', '/event/count'],
    ['v2/log', '{"events":[{"event":{"message":"ok"}},{"event":{"message":"big","count":123456789012345678901234567890}}]}', '/events/1/event/count'],
  ])('%s %s is refused with a 400 naming %s', async (path, body, source) => {
    const before = svc.log.size;
    const r = await postRaw(path, body);
    expect(r.http).toBe(400);
    expect(r.status).toBe('ValidationError');
    expect(r.result.errors).toEqual([{ code: 'BadFormat', source, detail: expect.stringContaining(`'${source}' is a number beyond ±9007199254740991`) }]);
    expect(r.summary).toContain(`'${source}'`);
    expect(svc.log.size).toBe(before);
  });

  test('a 15-digit integer and ±(2^53 - 1) are stored and hashed exactly', async () => {
    for (const count of ['123456789012345', '9007199254740991', '-9007199254740991']) {
      const r = await postRaw('v1/log', `{"event":{"message":"exact ${count}","count":${count}},"verbose":true}`);
      expect(r.status).toBe('Success');
      expect(JSON.stringify(r.result.envelope.event)).toBe(`{"message":"exact ${count}","count":${count}}`);
      expect(hashEnvelope(r.result.envelope)).toBe(r.result.hash);
      const stored = svc.log.db.prepare('SELECT f_count, typeof(f_count) AS type FROM events WHERE hash = ?').safeIntegers().get(Buffer.from(r.result.hash, 'hex')) as { f_count: bigint; type: string };
      expect([stored.type, String(stored.f_count)]).toEqual(['integer', count]);
      const found = await svc.post<Json>('v1/search', { query: `count:${count}` });
      expect(found.result.events.map((e: Json) => e.hash)).toEqual([r.result.hash]);
    }
  });
});
