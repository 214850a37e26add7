// The trigram index (its own file, store/trigram-index-file.ts) only narrows searches: v1/search must return exactly what the
// query compiler's SQL returns without it — same events, same order — for random queries over
// values chosen to trip a substring index (case variants, quotes, short values, non-ASCII,
// multi-code-point emoji, SQL and FTS5 syntax characters). The implied MATCH expressions are
// also pinned down, so the index is known to be in play for the queries that should use it.
import fc from 'fast-check';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { STANDARD_SCHEMA } from '../../src/local-audit/index.js';
import { parseQuery } from '../../src/local-audit/query/index.js';
import { compileQuery, type SqlFragment } from '../../src/local-audit/store/query-sql.js';
import { compileRestriction } from '../../src/local-audit/store/restriction-sql.js';
import { searchFields } from '../../src/local-audit/store/search-fields.js';
import { FtsPrefilter } from '../../src/local-audit/store/fts-prefilter.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

const ACTORS = [
  'Bob Smith', 'bob', 'BOB', 'bobby', 'rob', 'b"ob', 'bo\\b', 'ünïcödé-user', '日本語ユーザー', 'a', 'ab', 'abc',
  '👩‍💻dev', 'percent%_under', "o'brien; DROP TABLE events", 'NEAR(x y)', 'col:{x}', '*star*', 'x'.repeat(128),
];
const TARGETS = ['record-1', 'record-12', 'record-123', 'RECORD-1', 'file.txt', 'a AND b', 'c OR d', '"quoted"', 'tab\there'];
const ACTIONS = ['login', 'logout', 'log', 'update', 'Login'];
const STATUSES = ['success', 'failure', 'succ'];
const TENANTS = ['t1', 't2', 'tenant-α', 'tenant-β'];
const WORDS = [...ACTORS, ...TARGETS, ...ACTIONS, ...STATUSES, ...TENANTS];

let svc: TestService;
const fields = searchFields(STANDARD_SCHEMA);

beforeAll(async () => {
  // The index from the first event on (by default small logs are scanned without it).
  svc = await startTestService({ prefilterMinEvents: 0 });
  const events = Array.from({ length: 400 }, (_, i) => {
    const event: Record<string, string> = { message: `m${i} ${ACTORS[(i * 7) % ACTORS.length]} did ${ACTIONS[i % ACTIONS.length]}` };
    if (i % 11 !== 0) event.actor = ACTORS[i % ACTORS.length]!;
    if (i % 5 !== 0) event.target = TARGETS[(i * 3) % TARGETS.length]!;
    event.action = ACTIONS[(i * 5) % ACTIONS.length]!;
    if (i % 4 !== 0) event.status = STATUSES[i % STATUSES.length]!;
    if (i % 3 === 0) event.source = ACTORS[(i * 13) % ACTORS.length]!;
    event.tenant_id = TENANTS[i % TENANTS.length]!;
    return { event };
  });
  const r = await svc.post<Json>('v2/log', { events });
  expect(r.status).toBe('Success');
  svc.publishNow();
  // Searched through the index itself, not as events it has not indexed yet.
  await svc.trigramsIndexed();
});
afterAll(async () => {
  await svc.destroy();
});

/** The oracle: the compiler's WHERE clause alone, straight on the database. */
function oracle(query: string, restriction?: Record<string, unknown>): number[] {
  const where: SqlFragment[] = [compileQuery(query, fields)];
  if (restriction) where.push(compileRestriction(restriction, fields));
  const sql = `SELECT e.leaf_index FROM events e WHERE ${where.map((w) => `(${w.sql})`).join(' AND ')} ORDER BY e.received_at DESC, e.leaf_index DESC`;
  return (svc.log.db.prepare(sql).all(...where.flatMap((w) => w.params)) as Array<{ leaf_index: number }>).map((r) => r.leaf_index);
}

async function served(query: string, restriction?: Record<string, unknown>): Promise<number[]> {
  const r = await svc.post<Json>('v1/search', { query, limit: 1000, ...(restriction ? { search_restriction: restriction } : {}) });
  if (r.status !== 'Success') throw new Error(`${query}: ${r.status} ${r.summary}`);
  return r.result.events.map((e: Json) => e.leaf_index);
}

const quote = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

describe('implied MATCH expressions', () => {
  const prefilter = new FtsPrefilter(STANDARD_SCHEMA);
  test.each([
    ['actor:bob', '{f_actor} : "bob"'],
    ['actor:"b\\"ob"', '{f_actor} : "b""ob"'],
    ['actor:bob target:rec', '({f_actor} : "bob") AND ({f_target} : "rec")'],
    ['actor:bob OR target:rec', '({f_actor} : "bob") OR ({f_target} : "rec")'],
    ['actor:bob message:hello', '{f_actor} : "bob"'], // message is not indexed: dropped from an AND
    ['actor:bob OR message:hello', null], // ... but makes an OR unusable
    ['actor:ab', null], // under three characters: no trigram
    ['-actor:bob', null],
    ['bob', null], // bare values also search message, which is not indexed
    ['timestamp>2024-01-01T00:00:00Z', null],
    ['', null],
  ])('%s -> %s', (query, expected) => {
    expect(prefilter.derive(parseQuery(query), undefined)).toBe(expected);
  });

  test('search_restriction values imply their trigrams too', () => {
    expect(prefilter.derive(parseQuery(''), { actor: ['bob', 'rob'] })).toBe('{f_actor} : ("bob" OR "rob")');
    expect(prefilter.derive(parseQuery('target:rec'), { tenant_id: ['tenant-α'] })).toBe('({f_target} : "rec") AND ({f_tenant_id} : ("tenant-α"))');
    expect(prefilter.derive(parseQuery(''), { tenant_id: ['t1'] })).toBeNull();
    expect(prefilter.derive(parseQuery(''), { actor: [] })).toBeNull();
  });

  test('a schema whose searchable fields are all indexed lets bare values use the index', () => {
    const custom = new FtsPrefilter({ fields: [{ id: 'who', type: 'string' }, { id: 'what', type: 'string' }, { id: 'note', type: 'string-unindexed' }] });
    expect(custom.derive(parseQuery('alice'), undefined)).toBe('{f_who f_what} : "alice"');
  });

  describe('long values by their rarest trigrams, when their shares are known', () => {
    // "bobby": bob, obb, bby. Shares per (column, trigram); anything not listed is common.
    const shares: Record<string, number> = { 'f_actor bby': 0.01, 'f_actor obb': 0.02, 'f_target bby': 0.03, 'f_tenant_id t-α': 0.001, 'f_tenant_id "x"': 0 };
    const rarest = (maxShare: number) => ({ share: (column: string, trigram: string) => shares[`${column} ${trigram}`] ?? 0.5, maxShare });

    test('the rarest one, and the next when it is rare too', () => {
      expect(prefilter.derive(parseQuery('actor:bobby'), undefined, rarest(0.015))).toBe('{f_actor} : "bby"');
      expect(prefilter.derive(parseQuery('actor:bobby'), undefined, rarest(0.1))).toBe('{f_actor} : ("bby" AND "obb")');
      // Each column is rated on its own.
      expect(prefilter.derive(parseQuery('actor:bobby target:bobby'), undefined, rarest(0.1))).toBe('({f_actor} : ("bby" AND "obb")) AND ({f_target} : "bby")');
    });

    test('the phrase when even the rarest is too common, the shares are unknown, or the value has two trigrams or fewer', () => {
      expect(prefilter.derive(parseQuery('actor:bobby'), undefined, rarest(0.005))).toBe('{f_actor} : "bobby"');
      expect(prefilter.derive(parseQuery('actor:bobby'), undefined, { share: () => undefined, maxShare: 1 })).toBe('{f_actor} : "bobby"');
      expect(prefilter.derive(parseQuery('actor:bobb'), undefined, rarest(1))).toBe('{f_actor} : "bobb"');
      expect(prefilter.derive(parseQuery('actor:ab'), undefined, rarest(1))).toBeNull();
    });

    test('restriction values and bare values (rated over every column they search)', () => {
      expect(prefilter.derive(parseQuery(''), { tenant_id: ['tenant-α', 'bob'] }, rarest(0.1))).toBe('{f_tenant_id} : ("t-α" OR "bob")');
      const custom = new FtsPrefilter({ fields: [{ id: 'who', type: 'string' }, { id: 'what', type: 'string' }] });
      const bareShares: Record<string, number> = { 'f_who xyz': 0.01, 'f_what xyz': 0.01, 'f_who wxy': 0.001, 'f_what wxy': 0.3 };
      const bare = (column: string, trigram: string) => bareShares[`${column} ${trigram}`] ?? 0.5;
      expect(custom.derive(parseQuery('wxyzq'), undefined, { share: bare, maxShare: 0.1 })).toBe('{f_who f_what} : "xyz"');
    });

    test('quotes in a chosen trigram are doubled', () => {
      expect(prefilter.derive(parseQuery('tenant_id:"a\\"xbc"'), undefined, { share: (_c, t) => (t === 'a"x' ? 0 : 0.5), maxShare: 0.1 })).toBe('{f_tenant_id} : "a""x"');
    });
  });
});

describe('searches are exactly what the compiler alone selects', () => {
  test.each([
    'actor:bob', 'actor:Bob', 'actor:BOB', 'actor:obb', 'actor:"b\\"ob"', 'actor:"bo\\\\b"', 'actor:ünïc', 'actor:語ユー',
    'actor:👩‍💻', 'actor:"%_u"', 'actor:"; DROP"', 'actor:"NEAR(x"', 'actor:"{x}"', 'actor:"*st"', 'actor:xxxxx',
    'target:"a AND b"', 'target:"c OR"', 'target:"\\"quoted"', 'target:"b\\there"', 'target:record-1', 'target:ORD',
    'action:Log', 'action:log -action:login', 'status:succ', 'tenant_id:"tenant-"', 'actor:bob OR target:record-12',
    '(actor:bob OR actor:rob) status:success', 'actor:bob message:m1', 'source:bob',
  ])('%s', async (query) => {
    const expected = oracle(query);
    expect(await served(query)).toEqual(expected);
  });

  test('with search_restriction', async () => {
    for (const restriction of [{ actor: ['bob', 'rob'] }, { actor: ['bo'] }, { tenant_id: ['tenant-α'] }, { actor: ['👩‍💻dev'], target: ['record-12', 'nothing'] }]) {
      for (const query of ['', 'action:log', 'target:rec']) {
        expect(await served(query, restriction)).toEqual(oracle(query, restriction));
      }
    }
  });

  test('random queries (property)', async () => {
    const field = fc.constantFrom('actor', 'target', 'action', 'status', 'source', 'tenant_id', 'message', null);
    const value = fc.tuple(fc.constantFrom(...WORDS), fc.nat(), fc.integer({ min: 1, max: 7 }), fc.boolean()).map(([word, start, len, flip]) => {
      const chars = [...word];
      const from = start % chars.length;
      const piece = chars.slice(from, from + len).join('');
      return flip ? piece.toUpperCase() : piece;
    });
    const term = fc.tuple(field, value, fc.boolean()).map(([f, v, negate]) => `${negate ? '-' : ''}${f ? `${f}:` : ''}${quote(v)}`);
    const query = fc.array(fc.tuple(term, fc.constantFrom(' ', ' OR ', ' AND ')), { minLength: 1, maxLength: 4 }).map((parts) =>
      parts.map(([t, sep], i) => (i === 0 ? t : `${sep}${t}`)).join(''),
    );
    const restriction = fc.option(
      fc.tuple(fc.constantFrom('actor', 'target', 'tenant_id'), fc.array(fc.constantFrom(...WORDS), { maxLength: 3 })).map(([f, vs]) => ({ [f]: vs })),
      { nil: undefined },
    );
    let narrowed = 0;
    const prefilter = new FtsPrefilter(STANDARD_SCHEMA);
    await fc.assert(
      fc.asyncProperty(query, restriction, async (q, r) => {
        if (prefilter.derive(parseQuery(q), r) !== null) narrowed++;
        expect(await served(q, r)).toEqual(oracle(q, r));
      }),
      { numRuns: 250 },
    );
    expect(narrowed).toBeGreaterThan(50); // the index was really in play for many of them
  });
});

describe('a data directory from before the index had a file of its own', () => {
  test('loses the index table in audit.sqlite; the new file is built from the events, and searches use it', async () => {
    const { default: Database } = await import('better-sqlite3');
    const dataDir = tempDir('audit-fts-upgrade-');
    const first = await startTestService({ dataDir });
    await first.post('v2/log', { events: ACTORS.map((actor, i) => ({ event: { message: `old ${i}`, actor } })) });
    await first.close();
    // The layout before: the trigram index as events_fts inside audit.sqlite, and no index file.
    const raw = new Database(join(dataDir, 'audit.sqlite'));
    raw.exec(`CREATE VIRTUAL TABLE events_fts USING fts5(f_actor, content='', tokenize='trigram case_sensitive 1');
      INSERT INTO events_fts (rowid, f_actor) SELECT leaf_index, f_actor FROM events;
      INSERT INTO meta (key, value) VALUES ('events_fts', 'trigram-v1');`);
    raw.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `audit-trigrams.sqlite${suffix}`), { force: true });
    const again = await startTestService({ dataDir, prefilterMinEvents: 0 });
    try {
      expect(again.log.db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'events_fts'`).pluck().get()).toBe(0);
      expect(again.log.db.prepare(`SELECT count(*) FROM meta WHERE key = 'events_fts'`).pluck().get()).toBe(0);
      await again.trigramsIndexed();
      const index = new Database(join(dataDir, 'audit-trigrams.sqlite'), { readonly: true });
      try {
        const rows = index.prepare(`SELECT rowid FROM events_fts WHERE events_fts MATCH '{f_actor} : "bob"' ORDER BY rowid`).pluck().all();
        expect(rows).toEqual([0, 1, 2, 3].filter((i) => ACTORS[i]!.includes('bob'))); // "Bob Smith" has no "bob"
      } finally {
        index.close();
      }
      const found = await again.post<Json>('v1/search', { query: 'actor:bob', order: 'asc' });
      expect(found.result.events.map((e: Json) => e.envelope.event.actor)).toEqual(['bob', 'bobby']);
    } finally {
      await again.destroy();
    }
  });
});
