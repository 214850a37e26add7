// The local audit service over real HTTP: logging, roots, search, results paging, proofs and the
// error envelope. Every proof it serves is checked with src/merkle.
import { hashEnvelope, verifyConsistency, verifyMembership } from '../../src/merkle/index.js';
import { request as httpRequest } from 'node:http';
import { MAX_SEARCH_RESTRICTION_VALUES } from '../../src/wire/index.js';
import { startTestService, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(async () => {
  await svc.destroy();
});

const ENVELOPE_KEYS = ['request_id', 'request_time', 'response_time', 'status', 'summary', 'result'];
const MICROS_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe('v1/log', () => {
  test('verbose log returns the envelope, the unpublished root and a membership proof that verifies', async () => {
    const r = await svc.post<Json>('v1/log', { event: { message: 'first', actor: 'alice' }, verbose: true });
    expect(r.http).toBe(200);
    expect(Object.keys(r.raw).sort()).toEqual([...ENVELOPE_KEYS].sort());
    expect(r.request_id).toMatch(/^prq_[a-z0-9]{32}$/);
    expect(r.status).toBe('Success');
    expect(r.result.envelope.received_at).toMatch(MICROS_Z);
    expect(hashEnvelope(r.result.envelope)).toBe(r.result.hash);
    expect(typeof r.result.unpublished_root).toBe('string');
    const check = verifyMembership({ hash: r.result.hash, proof: r.result.membership_proof, rootHash: r.result.unpublished_root });
    expect(check.status).toBe('PASS');
    expect(r.result).not.toHaveProperty('consistency_proof');
  });

  test('non-verbose log returns only the hash', async () => {
    const r = await svc.post<Json>('v1/log', { event: { message: 'quiet' } });
    expect(Object.keys(r.result)).toEqual(['hash']);
  });

  test('prev_root yields a consistency proof from that root that verifies', async () => {
    const a = await svc.post<Json>('v1/log', { event: { message: 'a' }, verbose: true });
    await svc.post('v2/log', { events: Array.from({ length: 13 }, (_, i) => ({ event: { message: `fill ${i}` } })) });
    const b = await svc.post<Json>('v1/log', { event: { message: 'b' }, verbose: true, prev_root: a.result.unpublished_root });
    expect(Array.isArray(b.result.consistency_proof)).toBe(true);
    const check = verifyConsistency({ oldRootHash: a.result.unpublished_root, newRootHash: b.result.unpublished_root, proof: b.result.consistency_proof });
    expect(check.status).toBe('PASS');
  });

  test('an unknown prev_root gives no consistency proof', async () => {
    const r = await svc.post<Json>('v1/log', { event: { message: 'x' }, verbose: true, prev_root: 'ab'.repeat(32) });
    expect(r.status).toBe('Success');
    expect(r.result).not.toHaveProperty('consistency_proof');
  });

  test.each([
    [{}, 'FieldRequired', '/event'],
    [{ event: {} }, 'FieldRequired', '/event/message'],
    [{ event: { message: 'm', actor: 'a'.repeat(129) } }, 'AboveMaxLength', '/event/actor'],
    [{ event: { message: 'm', colour: 'red' } }, 'UnexpectedProperty', '/event/colour'],
    [{ event: { message: 'm' }, bogus: true }, 'UnexpectedProperty', '/bogus'],
    [{ event: { message: 42 } }, 'BadFormat', '/event/message'],
    [{ event: { message: 'm', timestamp: 'yesterday' } }, 'BadFormat', '/event/timestamp'],
    [{ event: { message: 'm' }, signature: 'c2ln' }, 'FieldRequired', '/public_key'],
  ])('validation: %j -> %s at %s', async (body, code, source) => {
    const r = await svc.post<Json>('v1/log', body);
    expect(r.http).toBe(400);
    expect(r.status).toBe('ValidationError');
    expect(r.summary.length).toBeGreaterThan(0);
    expect(r.result.errors).toEqual(expect.arrayContaining([expect.objectContaining({ code, source })]));
  });
});

describe('v2/log', () => {
  test('returns results in input order with hashes of the stored envelopes', async () => {
    const events = Array.from({ length: 50 }, (_, i) => ({ event: { message: `bulk ${i}`, actor: 'bulk' } }));
    const r = await svc.post<Json>('v2/log', { events, verbose: true });
    expect(r.result.results).toHaveLength(50);
    r.result.results.forEach((item: Json, i: number) => {
      expect(item.envelope.event.message).toBe(`bulk ${i}`);
      expect(hashEnvelope(item.envelope)).toBe(item.hash);
    });
    const stamps = r.result.results.map((x: Json) => x.envelope.received_at);
    expect([...stamps].sort()).toEqual(stamps);
  });

  test('rejects more than 1000 events and an empty list, and stores nothing of an invalid batch', async () => {
    const before = svc.log.size;
    const tooMany = await svc.post<Json>('v2/log', { events: Array.from({ length: 1001 }, () => ({ event: { message: 'm' } })) });
    expect(tooMany.result.errors[0]).toMatchObject({ code: 'AboveMaxItems', source: '/events' });
    const empty = await svc.post<Json>('v2/log', { events: [] });
    expect(empty.result.errors[0]).toMatchObject({ code: 'BelowMinItems' });
    const mixed = await svc.post<Json>('v2/log', { events: [{ event: { message: 'ok' } }, { event: { nope: 1 } }] });
    expect(mixed.status).toBe('ValidationError');
    expect(mixed.result.errors.map((e: Json) => e.source)).toEqual(expect.arrayContaining(['/events/1/event/message', '/events/1/event/nope']));
    expect(svc.log.size).toBe(before);
  });
});

describe('errors before any work', () => {
  test('wrong or missing token is Unauthorized and stores nothing', async () => {
    const before = svc.log.size;
    const r = await svc.post<Json>('v1/log', { event: { message: 'sneaky' } }, 'wrong-token');
    expect(r.http).toBe(401);
    expect(r.status).toBe('Unauthorized');
    const none = await fetch(`${svc.url}/v1/log`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"event":{"message":"x"}}' });
    expect(none.status).toBe(401);
    expect(svc.log.size).toBe(before);
  });

  test('malformed JSON, a form body, unknown path, oversized body', async () => {
    const bad = await svc.post<Json>('v1/log', '{"event":');
    expect(bad).toMatchObject({ http: 400, status: 'ValidationError' });
    expect(bad.result.errors[0].code).toBe('BadFormat');
    // Whatever the stated type, the body is read as JSON: one that is not is refused as such.
    const formBody = await fetch(`${svc.url}/v1/log`, { method: 'POST', headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'event=x' });
    expect(formBody.status).toBe(400);
    expect(await formBody.json()).toMatchObject({ status: 'ValidationError', result: { errors: [{ code: 'BadFormat', source: '' }] } });
    const missing = await svc.post<Json>('v9/nothing', {});
    expect(missing).toMatchObject({ http: 404, status: 'NotFound' });
    const huge = await svc.post<Json>('v2/log', JSON.stringify({ events: [{ event: { message: 'x'.repeat(11 * 1024 * 1024) } }] }));
    expect(huge).toMatchObject({ http: 413, status: 'PayloadTooLarge' });
  });
});

test('a JSON body is logged whatever content type it is sent with, or none (the vendor Python SDK 3.x sends none or text/plain)', async () => {
  const before = svc.log.size;
  const post = (headers: Record<string, string | number>, body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      // node:http sends exactly the headers given (fetch would add text/plain to a string body).
      const req = httpRequest(`${svc.url}/v1/log`, { method: 'POST', headers: { authorization: `Bearer ${svc.token}`, 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const typesSent: Array<Record<string, string>> = [{}, { 'content-type': 'text/plain; charset=utf-8' }];
  for (const [i, headers] of typesSent.entries()) {
    const event = { message: `sent as ${JSON.stringify(headers)}`, actor: 'py' };
    const answer = await post(headers, JSON.stringify({ event, verbose: true }));
    expect(answer.status).toBe(200);
    const json = JSON.parse(answer.text) as Json;
    expect(json.status).toBe('Success');
    expect(json.result.envelope.event).toEqual(event);
    expect(hashEnvelope(json.result.envelope)).toBe(json.result.hash);
    expect(svc.log.size).toBe(before + i + 1);
  }
});

describe('roots and search', () => {
  let published: number;
  beforeAll(async () => {
    await svc.post('v2/log', {
      events: [
        { event: { message: 'login ok', actor: 'Bob Smith', action: 'login', status: 'success', tenant_id: 't1' } },
        { event: { message: 'login failed', actor: 'bob', action: 'login', status: 'failure', tenant_id: 't2' } },
        { event: { message: '50% off_sale', actor: 'carol', action: 'update', tenant_id: 't1', timestamp: '2024-01-02T03:04:05Z' } },
      ],
    });
    svc.publishNow();
    published = svc.log.latestPublishedSize();
    // A few more after publication: these stay unpublished.
    await svc.post('v2/log', { events: [{ event: { message: 'late login', actor: 'dave', action: 'login' } }] });
  });

  test('v1/root serves the latest and any earlier published size, each with a verifying proof from size-1', async () => {
    const latest = await svc.post<Json>('v1/root', {});
    expect(latest.result.data).toMatchObject({ size: published, tree_name: svc.log.treeName });
    expect(latest.result.data.published_at).toMatch(MICROS_Z);
    for (const size of [2, 7, published - 1, published]) {
      const r = (await svc.post<Json>('v1/root', { tree_size: size })).result.data;
      const prev = (await svc.post<Json>('v1/root', { tree_size: size - 1 })).result.data;
      expect(verifyConsistency({ oldRootHash: prev.root_hash, newRootHash: r.root_hash, proof: r.consistency_proof, sizes: { oldSize: size - 1, newSize: size } }).status).toBe('PASS');
    }
    const one = await svc.post<Json>('v1/root', { tree_size: 1 });
    expect(one.result.data).not.toHaveProperty('consistency_proof');
    const tooBig = await svc.post<Json>('v1/root', { tree_size: published + 1 });
    expect(tooBig.status).toBe('ValidationError');
    const publicCopy = await fetch(latest.result.data.url);
    expect(((await publicCopy.json()) as Json).root_hash).toBe(latest.result.data.root_hash);
  });

  test('a page carries each stored envelope byte for byte; verbose false leaves out proofs and roots', async () => {
    const res = await fetch(`${svc.url}/v1/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'action:login', verbose: false }),
    });
    const text = await res.text();
    const body = JSON.parse(text) as Json;
    expect(body.status).toBe('Success');
    expect(body.result.count).toBe(3);
    for (const e of body.result.events) {
      // The answer holds the stored canonical text itself (what the hash covers), not a re-serialisation.
      const stored = svc.log.db.prepare('SELECT envelope FROM events WHERE hash = ?').pluck().get(Buffer.from(e.hash, 'hex')) as string;
      expect(text).toContain(`"envelope":${stored},"hash":"${e.hash}"`);
      expect(e).not.toHaveProperty('membership_proof');
    }
    expect(body.result).not.toHaveProperty('root');
    expect(body.result).not.toHaveProperty('unpublished_root');
    const page = await svc.post<Json>('v1/results', { id: body.result.id, offset: 1, limit: 1 });
    expect(page.result.events).toHaveLength(1);
    expect(page.result.events[0].hash).toBe(body.result.events[1].hash);
    // The set keeps the search's verbosity: its later pages carry no proofs or roots either.
    expect(page.result.events[0]).not.toHaveProperty('membership_proof');
    expect(page.result).not.toHaveProperty('root');
  });

  test('search finds by field contains, bare value, negation and OR; proofs verify against the right roots', async () => {
    const r = await svc.post<Json>('v1/search', { query: 'action:login' });
    expect(r.result.id).toMatch(/^pas_[a-z0-9]{32}$/);
    expect(r.result.count).toBe(3);
    expect(r.result.root.size).toBe(published);
    expect(r.result.unpublished_root.size).toBe(svc.log.size);
    for (const e of r.result.events) {
      expect(hashEnvelope(e.envelope)).toBe(e.hash);
      const root = e.published ? r.result.root.root_hash : r.result.unpublished_root.root_hash;
      expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: root }).status).toBe('PASS');
      if (e.published) expect(typeof e.leaf_index).toBe('number');
      else expect(e).not.toHaveProperty('leaf_index');
    }
    expect(r.result.events.some((e: Json) => !e.published)).toBe(true);
    const count = async (query: string, extra: Json = {}) => (await svc.post<Json>('v1/search', { query, ...extra })).result.count;
    expect(await count('actor:bob')).toBe(1); // case-sensitive contains: "Bob Smith" does not match
    expect(await count('actor:"Bob Smith"')).toBe(1);
    expect(await count('action:login -status:failure')).toBe(2);
    expect(await count('actor:carol OR actor:dave')).toBe(2);
    expect(await count('off_sale')).toBe(1);
    expect(await count('"50%"')).toBe(1);
    expect(await count('action:login', { search_restriction: { tenant_id: ['t1'] } })).toBe(1);
    expect(await count('action:login', { max_results: 2 })).toBe(2);
    expect(await count('timestamp>2024-01-01T00:00:00Z')).toBe(1);
  });

  test('a syntax error is BadFormat naming the token and position', async () => {
    const r = await svc.post<Json>('v1/search', { query: 'actor:bob )' });
    expect(r.status).toBe('ValidationError');
    expect(r.result.errors[0]).toMatchObject({ code: 'BadFormat', source: '/query' });
    expect(r.result.errors[0].detail).toContain('")"');
    expect(r.result.errors[0].detail).toContain('position 10');
  });

  test('order, start/end and max_results bounds', async () => {
    const asc = await svc.post<Json>('v1/search', { query: 'action:login', order: 'asc' });
    const desc = await svc.post<Json>('v1/search', { query: 'action:login', order: 'desc' });
    expect(asc.result.events.map((e: Json) => e.hash)).toEqual([...desc.result.events].reverse().map((e: Json) => e.hash));
    const future = await svc.post<Json>('v1/search', { query: '', start: '2999-01-01T00:00:00Z' });
    expect(future.result.count).toBe(0);
    const recent = await svc.post<Json>('v1/search', { query: 'action:login', start: '1d' });
    expect(recent.result.count).toBe(3);
    expect((await svc.post<Json>('v1/search', { query: '', max_results: 0 })).result.errors[0].code).toBe('BelowMinimum');
    expect((await svc.post<Json>('v1/search', { query: '', max_results: 10001 })).result.errors[0].code).toBe('AboveMaximum');
    expect((await svc.post<Json>('v1/search', { query: '', order: 'sideways' })).result.errors[0].code).toBe('NotEnumMember');
    expect((await svc.post<Json>('v1/search', { query: '', start: 'last tuesday' })).result.errors[0].source).toBe('/start');
  });

  test('search_restriction holds at most MAX_SEARCH_RESTRICTION_VALUES values: more is a 400 ValidationError (AboveMaxItems), at the bound it searches', async () => {
    await svc.post('v2/log', { events: ['cap-a', 'cap-a', 'cap-b', 'cap-c'].map((tenant_id, i) => ({ event: { message: `capped ${i}`, actor: 'capped', action: `act-${i}`, tenant_id } })) });
    const filler = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    const search = (search_restriction: Record<string, string[]>) => svc.post<Json>('v1/search', { query: 'actor:capped', search_restriction });
    const refused = async (search_restriction: Record<string, string[]>, source: string) => {
      const r = await search(search_restriction);
      expect(r.http).toBe(400);
      expect(Object.keys(r.raw).sort()).toEqual([...ENVELOPE_KEYS].sort());
      expect(r.status).toBe('ValidationError');
      expect(r.result.errors).toEqual([{ code: 'AboveMaxItems', detail: r.summary, source }]);
      expect(r.summary).toContain(`more than ${MAX_SEARCH_RESTRICTION_VALUES} values`);
    };
    // What SQLite itself cannot bind (32,766 parameters) was an InternalError.
    await refused({ tenant_id: filler(32_766, 'many') }, '/search_restriction/tenant_id');
    await refused({ action: ['act-0'], tenant_id: filler(MAX_SEARCH_RESTRICTION_VALUES + 1, 'over') }, '/search_restriction/tenant_id');
    await refused({ tenant_id: filler(MAX_SEARCH_RESTRICTION_VALUES / 2, 'half'), action: filler(MAX_SEARCH_RESTRICTION_VALUES / 2 + 1, 'half') }, '/search_restriction');

    const atBound = await search({ tenant_id: [...filler(MAX_SEARCH_RESTRICTION_VALUES - 2, 'fill'), 'cap-a', 'cap-b'] });
    expect(atBound).toMatchObject({ http: 200, status: 'Success' });
    expect(atBound.result.events.map((e: Json) => e.envelope.event.message).sort()).toEqual(['capped 0', 'capped 1', 'capped 2']);
    const overFields = await search({ tenant_id: [...filler(MAX_SEARCH_RESTRICTION_VALUES / 2 - 1, 'fill'), 'cap-a'], action: [...filler(MAX_SEARCH_RESTRICTION_VALUES / 2 - 1, 'fill'), 'act-1'] });
    expect(overFields.result.events.map((e: Json) => e.envelope.event.message)).toEqual(['capped 1']);
  });
});

describe('v1/results paging', () => {
  test('pages a stable snapshot while events keep arriving; BadOffset past the end; unknown id is NotFound', async () => {
    await svc.post('v2/log', { events: Array.from({ length: 45 }, (_, i) => ({ event: { message: `page ${i}`, actor: 'pager' } })) });
    const first = await svc.post<Json>('v1/search', { query: 'actor:pager', limit: 10, order: 'asc' });
    expect(first.result.count).toBe(45);
    await svc.post('v2/log', { events: Array.from({ length: 5 }, (_, i) => ({ event: { message: `after ${i}`, actor: 'pager' } })) });
    const seen: string[] = first.result.events.map((e: Json) => e.envelope.event.message);
    for (let offset = 10; offset < 45; offset += 10) {
      const page = await svc.post<Json>('v1/results', { id: first.result.id, offset, limit: 10 });
      expect(page.result.count).toBe(45);
      for (const e of page.result.events) {
        const root = e.published ? page.result.root.root_hash : page.result.unpublished_root.root_hash;
        expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: root }).status).toBe('PASS');
      }
      seen.push(...page.result.events.map((e: Json) => e.envelope.event.message));
    }
    expect(seen).toEqual(Array.from({ length: 45 }, (_, i) => `page ${i}`));
    const past = await svc.post<Json>('v1/results', { id: first.result.id, offset: 45 });
    expect(past).toMatchObject({ http: 400, status: 'BadOffset' });
    const unknown = await svc.post<Json>('v1/results', { id: 'pas_' + 'x'.repeat(32) });
    expect(unknown).toMatchObject({ http: 404, status: 'NotFound' });
  });

  test('searches answered together (their sets committed in one transaction) each page their own set', async () => {
    await svc.post('v2/log', { events: Array.from({ length: 24 }, (_, i) => ({ event: { message: `together ${i}`, actor: `together-${i % 8}` } })) });
    // Many at once over separate connections: several arrive in one turn of the service's loop.
    const searches = await Promise.all(
      Array.from({ length: 32 }, (_, i) => svc.post<Json>('v1/search', { query: `actor:together-${i % 8}`, limit: 1, order: 'asc' })),
    );
    expect(new Set(searches.map((s) => s.result.id)).size).toBe(32);
    await Promise.all(
      searches.map(async (s, i) => {
        expect(s.result.count).toBe(3);
        const rest = await svc.post<Json>('v1/results', { id: s.result.id, offset: 1, limit: 10 });
        const messages = [...s.result.events, ...rest.result.events].map((e: Json) => e.envelope.event.message);
        expect(messages).toEqual([0, 8, 16].map((k) => `together ${k + (i % 8)}`));
      }),
    );
  });

  test('assert_search_restriction must hold for the set', async () => {
    const r = await svc.post<Json>('v1/search', { query: '', search_restriction: { tenant_id: ['t1'] } });
    const ok = await svc.post<Json>('v1/results', { id: r.result.id, assert_search_restriction: { tenant_id: ['t1'] } });
    expect(ok.status).toBe('Success');
    const other = await svc.post<Json>('v1/results', { id: r.result.id, assert_search_restriction: { tenant_id: ['t2'] } });
    expect(other.status).toBe('ValidationError');
  });

  test('assert_search_restriction holds at most MAX_SEARCH_RESTRICTION_VALUES values, as search_restriction does', async () => {
    const r = await svc.post<Json>('v1/search', { query: '', search_restriction: { tenant_id: ['t1'] } });
    const others = Array.from({ length: MAX_SEARCH_RESTRICTION_VALUES - 1 }, (_, i) => `other-${i}`);
    const atBound = await svc.post<Json>('v1/results', { id: r.result.id, assert_search_restriction: { tenant_id: [...others, 't1'] } });
    expect(atBound).toMatchObject({ http: 200, status: 'Success' });
    const over = await svc.post<Json>('v1/results', { id: r.result.id, assert_search_restriction: { tenant_id: [...others, 'other-x', 't1'] } });
    expect(over).toMatchObject({ http: 400, status: 'ValidationError' });
    expect(over.result.errors).toEqual([{ code: 'AboveMaxItems', detail: over.summary, source: '/assert_search_restriction/tenant_id' }]);
  });
});

describe('result set expiry', () => {
  test('an expired result set is NotFound', async () => {
    const short = await startTestService({ resultTtlMs: 50 });
    try {
      await short.post('v1/log', { event: { message: 'soon gone' } });
      const r = await short.post<Json>('v1/search', { query: '' });
      expect(r.result.expires_at).toMatch(MICROS_Z);
      await new Promise((res) => setTimeout(res, 80));
      const page = await short.post<Json>('v1/results', { id: r.result.id });
      expect(page.status).toBe('NotFound');
    } finally {
      await short.destroy();
    }
  });
});
