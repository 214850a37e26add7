// Relay paging over search and results through POST /graphql: 250 published events paged forward
// (first/after) and backward (last/before), edge cases of the window, and every cursor and
// argument error, including an expired result set (expired in the local service's SQLite file, so
// the set is certainly alive before and certainly expired after, however loaded the machine).
import { expireResultSets } from '../support/audit-db.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const TOTAL = 250;
const PAGE = 40;

const CONNECTION = `
  __typename
  ... on AuditEventConnection {
    totalCount resultId expiresAt
    root { size rootHash }
    unpublishedRoot { size }
    edges { cursor node { message leafIndex published verification { hash membership consistency signature failures } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
  ... on Error { message }
  ... on InputError { argument }
  ... on ResultSetExpiredError { resultId }`;

const SEARCH = `
  query Search($query: String!, $order: SortOrder, $first: Int, $after: String, $last: Int, $before: String, $maxResults: Int) {
    search(query: $query, order: $order, first: $first, after: $after, last: $last, before: $before, maxResults: $maxResults) { ${CONNECTION} }
  }`;

const RESULTS = `
  query Results($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    results(resultId: $id, first: $first, after: $after, last: $last, before: $before) { ${CONNECTION} }
  }`;

const ALL = { query: 'actor:pager', order: 'ASC' };
const EXPECTED = Array.from({ length: TOTAL }, (_, i) => `page event ${String(i).padStart(3, '0')}`);

type Page = { edges: Json[]; pageInfo: Json; totalCount: number; resultId: string; root: Json };

/** Pages forward with first/after until hasNextPage is false; returns the pages. */
async function pageForward(fetchPage: (after: string | undefined) => Promise<Page>): Promise<Page[]> {
  const pages: Page[] = [];
  let after: string | undefined;
  for (let guard = 0; guard < 50; guard++) {
    const page = await fetchPage(after);
    pages.push(page);
    if (!page.pageInfo.hasNextPage) return pages;
    after = page.pageInfo.endCursor;
  }
  throw new Error('forward paging did not end');
}

/** Pages backward with last/before until hasPreviousPage is false; returns the pages, last first. */
async function pageBackward(fetchPage: (before: string | undefined) => Promise<Page>): Promise<Page[]> {
  const pages: Page[] = [];
  let before: string | undefined;
  for (let guard = 0; guard < 50; guard++) {
    const page = await fetchPage(before);
    pages.push(page);
    if (!page.pageInfo.hasPreviousPage) return pages;
    before = page.pageInfo.startCursor;
  }
  throw new Error('backward paging did not end');
}

function checkPages(pages: Page[], direction: 'forward' | 'backward'): void {
  const sizes = pages.map((p) => p.edges.length);
  // 250 = 6 × 40 + 10: the short page is the one fetched last (the end going forward, the start
  // going backward).
  expect(sizes).toEqual([40, 40, 40, 40, 40, 40, 10]);
  const ordered = direction === 'forward' ? pages : [...pages].reverse();
  const messages = ordered.flatMap((p) => p.edges.map((e) => e.node.message));
  // Complete and disjoint: every event exactly once, in order.
  expect(messages).toEqual(EXPECTED);
  const cursors = ordered.flatMap((p) => p.edges.map((e) => e.cursor));
  expect(new Set(cursors).size).toBe(TOTAL);
  for (const [i, page] of ordered.entries()) {
    expect(page.totalCount).toBe(TOTAL);
    expect(page.pageInfo.startCursor).toBe(page.edges[0].cursor);
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1).cursor);
    expect(page.pageInfo.hasPreviousPage).toBe(i > 0);
    expect(page.pageInfo.hasNextPage).toBe(i < ordered.length - 1);
    for (const edge of page.edges) {
      expect(edge.node.published).toBe(true);
      expect(edge.node.verification).toEqual({ hash: 'PASS', membership: 'PASS', consistency: 'PASS', signature: 'NONE', failures: [] });
    }
  }
  // Ascending by received_at within one bulk log is leaf order.
  expect(ordered.flatMap((p) => p.edges.map((e) => e.node.leafIndex))).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
}

describe('paging through 250 published events', () => {
  let gw: TestGateway;
  const search = async (vars: Record<string, unknown>): Promise<Json> => (await gw.runOk(SEARCH, { ...ALL, ...vars })).search;
  const results = async (vars: Record<string, unknown>): Promise<Json> => (await gw.runOk(RESULTS, vars)).results;

  beforeAll(async () => {
    gw = await startTestGateway();
    const events = EXPECTED.map((message) => ({ message, actor: 'pager' }));
    const logged = (await gw.runOk(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { count } } }`, { e: events })).logBulk;
    expect(logged.count).toBe(TOTAL);
    await gw.runOk(`mutation { log(event: {message: "someone else", actor: "other"}) { __typename } }`);
    gw.publish();
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('search forward with first/after: disjoint, complete pages in order', async () => {
    const pages = await pageForward(async (after) => search({ first: PAGE, ...(after ? { after } : {}) }));
    checkPages(pages, 'forward');
    // Later pages continue the first page's result set instead of searching again.
    expect(new Set(pages.map((p) => p.resultId)).size).toBe(1);
    expect(pages[0]!.root).toEqual({ size: TOTAL + 1, rootHash: gw.local!.log.rootHash(TOTAL + 1) });
  });

  test('search backward with last/before: disjoint, complete pages in order', async () => {
    const pages = await pageBackward(async (before) => search({ last: PAGE, ...(before ? { before } : {}) }));
    checkPages(pages, 'backward');
  });

  test('results(resultId) pages the same way in both directions', async () => {
    const { resultId } = await search({ first: 1 });
    const forward = await pageForward(async (after) => results({ id: resultId, first: PAGE, ...(after ? { after } : {}) }));
    checkPages(forward, 'forward');
    const backward = await pageBackward(async (before) => results({ id: resultId, last: PAGE, ...(before ? { before } : {}) }));
    checkPages(backward, 'backward');
    // A search cursor continues in results() of the same set.
    const first = await search({ first: 3 });
    const next = await results({ id: first.resultId, first: 2, after: first.pageInfo.endCursor });
    expect(next.edges.map((e: Json) => e.node.message)).toEqual(EXPECTED.slice(3, 5));
  });

  test('first and last window inside the set; the default page is 20', async () => {
    const dflt = await search({});
    expect(dflt.edges).toHaveLength(20);
    const mid = await search({ first: 5, after: (await search({ first: 10 })).pageInfo.endCursor });
    expect(mid.edges.map((e: Json) => e.node.message)).toEqual(EXPECTED.slice(10, 15));
    expect(mid.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    // before + last inside the set; last larger than what lies before the cursor.
    const fifth = (await search({ first: 5 })).edges[4].cursor;
    const beforeFifth = await search({ last: 10, before: fifth });
    expect(beforeFifth.edges.map((e: Json) => e.node.message)).toEqual(EXPECTED.slice(0, 4));
    expect(beforeFifth.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    // after + before: the events strictly between the two cursors.
    const ten = await search({ first: 10 });
    const between = await search({ after: ten.edges[2].cursor, before: ten.edges[7].cursor, first: 100 });
    expect(between.edges.map((e: Json) => e.node.message)).toEqual(EXPECTED.slice(3, 7));
  });

  test('first: 0 gives no edges but the count', async () => {
    for (const page of [await search({ first: 0 }), await results({ id: (await search({ first: 1 })).resultId, first: 0 })]) {
      expect(page.__typename).toBe('AuditEventConnection');
      expect(page.totalCount).toBe(TOTAL);
      expect(page.edges).toEqual([]);
      expect(page.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null });
    }
  });

  test('after the last cursor is an empty page with hasNextPage false; before the first, hasPreviousPage false', async () => {
    const lastPage = await search({ last: 1 });
    expect(lastPage.edges.map((e: Json) => e.node.message)).toEqual([EXPECTED.at(-1)]);
    const lastCursor = lastPage.pageInfo.endCursor;
    const past = await search({ first: PAGE, after: lastCursor });
    expect(past.__typename).toBe('AuditEventConnection');
    expect(past.totalCount).toBe(TOTAL);
    expect(past.edges).toEqual([]);
    expect(past.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
    const pastInResults = await results({ id: lastPage.resultId, first: PAGE, after: lastCursor });
    expect(pastInResults.edges).toEqual([]);
    expect(pastInResults.pageInfo.hasNextPage).toBe(false);

    const firstCursor = (await search({ first: 1 })).pageInfo.startCursor;
    const beforeFirst = await search({ last: PAGE, before: firstCursor });
    expect(beforeFirst.edges).toEqual([]);
    expect(beforeFirst.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
  });

  test('a search that matches nothing: totalCount 0, no edges, sane pageInfo', async () => {
    for (const vars of [{ first: 10 }, { last: 10 }, { first: 0 }]) {
      const empty = await search({ ...vars, query: 'actor:nobody-at-all' });
      expect(empty.__typename).toBe('AuditEventConnection');
      expect(empty.totalCount).toBe(0);
      expect(empty.resultId).toMatch(/\S/);
      expect(empty.edges).toEqual([]);
      expect(empty.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
    }
  });

  test('maxResults caps the set', async () => {
    const capped = await search({ first: 100, maxResults: 30 });
    expect(capped.totalCount).toBe(30);
    expect(capped.edges).toHaveLength(30);
    expect(capped.pageInfo.hasNextPage).toBe(false);
  });

  test('tampered cursors are InvalidCursorError', async () => {
    const page = await search({ first: 5 });
    const cursor: string = page.pageInfo.endCursor;
    const [version, body, mac, position] = cursor.split('.') as [string, string, string, string];
    const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const tampered = [
      `${version}.${flip(body, Math.floor(body.length / 2))}.${mac}.${position}`,
      `${version}.${body}.${flip(mac, 3)}.${position}`,
      // Past the page's window of five: not a position the gateway handed out.
      `${version}.${body}.${mac}.5`,
      `c1.${body}.${mac}`,
      `${version}.${body}.${mac}`,
      `${body}.${mac}.${position}`,
      'not a cursor',
    ];
    for (const bad of tampered) {
      const err = await gw.runError(SEARCH, { ...ALL, first: 5, after: bad }, 'InvalidCursorError');
      expect(err.message).toMatch(/cursor/);
      await gw.runError(SEARCH, { ...ALL, last: 5, before: bad }, 'InvalidCursorError');
      await gw.runError(RESULTS, { id: page.resultId, first: 5, after: bad }, 'InvalidCursorError');
    }
  });

  test('a cursor of another search (other arguments) is an InvalidCursorError', async () => {
    const other = await search({ query: 'actor:other', first: 1 });
    expect(other.totalCount).toBe(1);
    const err = await gw.runError(SEARCH, { ...ALL, first: 5, after: other.pageInfo.endCursor }, 'InvalidCursorError');
    expect(err.message).toMatch(/another search/);
    // Same query, different order: also another search.
    const asc = await search({ first: 2 });
    await gw.runError(SEARCH, { ...ALL, order: 'DESC', first: 5, after: asc.pageInfo.endCursor }, 'InvalidCursorError');
  });

  test('a cursor of another result set in results() is an InvalidCursorError', async () => {
    const a = await search({ first: 2 });
    const b = await search({ first: 2 });
    expect(a.resultId).not.toBe(b.resultId);
    const err = await gw.runError(RESULTS, { id: b.resultId, first: 5, after: a.pageInfo.endCursor }, 'InvalidCursorError');
    expect(err.message).toMatch(/another result set/);
    await gw.runError(RESULTS, { id: b.resultId, last: 5, before: a.pageInfo.startCursor }, 'InvalidCursorError');
    // after and before from different sets.
    await gw.runError(SEARCH, { ...ALL, after: a.edges[0].cursor, before: b.edges[1].cursor }, 'InvalidCursorError');
  });

  test('page sizes outside 0..1000 and first with last are InputError', async () => {
    const tooBig = await gw.runError(SEARCH, { ...ALL, first: 1001 }, 'InputError');
    expect(tooBig.argument).toBe('first');
    expect((await gw.runError(SEARCH, { ...ALL, last: 1001 }, 'InputError')).argument).toBe('last');
    expect((await gw.runError(SEARCH, { ...ALL, first: -1 }, 'InputError')).argument).toBe('first');
    const both = await gw.runError(SEARCH, { ...ALL, first: 5, last: 5 }, 'InputError');
    expect(both.message).toMatch(/first or last/);
    const { resultId } = await search({ first: 1 });
    expect((await gw.runError(RESULTS, { id: resultId, first: 1001 }, 'InputError')).argument).toBe('first');
    await gw.runError(RESULTS, { id: resultId, first: 1, last: 1 }, 'InputError');
    // The largest page is fine.
    const max = await search({ first: 1000 });
    expect(max.edges).toHaveLength(TOTAL);
  });

  test('results() of an unknown result set is ResultSetExpiredError', async () => {
    const err = await gw.runError(RESULTS, { id: 'pas_doesnotexist', first: 5 }, 'ResultSetExpiredError');
    expect(err.resultId).toBe('pas_doesnotexist');
  });
});

describe('expired result sets', () => {
  const TTL_MS = 10 * 60_000;
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ resultTtlMs: TTL_MS });
    await gw.runOk(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename } }`, {
      e: Array.from({ length: 10 }, (_, i) => ({ message: `short-lived ${i}`, actor: 'pager' })),
    });
  });
  afterAll(async () => {
    await gw?.close();
  });



  test('paging an expired set (search after, results) is ResultSetExpiredError', async () => {
    const before = Date.now();
    const page = (await gw.runOk(SEARCH, { ...ALL, first: 3 })).search;
    const after = Date.now();
    expect(page.edges).toHaveLength(3);
    // The set's lifetime is the configured one, counted from the search (timestamps are in ms or
    // coarser, hence the second of slack below).
    const expiresAt = Date.parse(page.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + TTL_MS - 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + TTL_MS);
    // Still alive: paging works.
    expect((await gw.runOk(RESULTS, { id: page.resultId, first: 3, after: page.pageInfo.endCursor })).results.edges).toHaveLength(3);
    expireResultSets(gw.dataDir);
    const viaSearch = await gw.runError(SEARCH, { ...ALL, first: 3, after: page.pageInfo.endCursor }, 'ResultSetExpiredError');
    expect(viaSearch.resultId).toBe(page.resultId);
    expect(viaSearch.message).toMatch(/search again/);
    await gw.runError(SEARCH, { ...ALL, last: 3, before: page.pageInfo.endCursor }, 'ResultSetExpiredError');
    await gw.runError(RESULTS, { id: page.resultId, first: 3 }, 'ResultSetExpiredError');
    await gw.runError(`mutation D($id: ID) { downloadResults(resultId: $id) { __typename } }`, { id: page.resultId }, 'ResultSetExpiredError');
    // A new search makes a new set.
    const again = (await gw.runOk(SEARCH, { ...ALL, first: 3 })).search;
    expect(again.resultId).not.toBe(page.resultId);
    expect(again.totalCount).toBe(10);
  });
});
