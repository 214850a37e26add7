// Events deleted from the upstream's storage after a search (tampering) while its result set is
// paged: the page that lost them reports how many are missing, and paging on by endCursor reaches
// every remaining event exactly once, forwards through search() and results(), and backwards by
// startCursor.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const PAGE_FIELDS = `__typename ... on AuditEventConnection { totalCount missingEvents resultId edges { node { message } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } ... on Error { message }`;
const FIRST = `query First($q: String!) { search(query: $q, order: ASC, first: 5) { ${PAGE_FIELDS} } }`;
const NEXT = `query Next($q: String!, $after: String!) { search(query: $q, order: ASC, first: 5, after: $after) { ${PAGE_FIELDS} } }`;
const RESULTS = `query Results($id: ID!, $after: String) { results(resultId: $id, first: 4, after: $after) { ${PAGE_FIELDS} } }`;
const BACK = `query Back($id: ID!, $before: String) { results(resultId: $id, last: 3, before: $before) { ${PAGE_FIELDS} } }`;

let gw: TestGateway;
let db: Database.Database;

beforeAll(async () => {
  gw = await startTestGateway();
  const events = Array.from({ length: 23 }, (_, i) => ({ message: `d${String(i).padStart(2, '0')}`, actor: 'deleting' }));
  await gw.runOk(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename } }`, { e: events });
  db = new Database(join(gw.dataDir, 'audit.sqlite'));
  db.pragma('busy_timeout = 5000');
});
afterAll(async () => {
  db?.close();
  await gw?.close();
});

test('paging past deleted events: each remaining event once, the gaps counted', async () => {
  const first = (await gw.runOk(FIRST, { q: 'actor:deleting' })).search;
  expect(first).toMatchObject({ __typename: 'AuditEventConnection', totalCount: 23, missingEvents: 0 });
  // Delete events the set lists: one in the middle of page 2, one at the end of page 3, and all of
  // page 4 (positions 15..19), so one page comes back empty.
  for (const leaf of [7, 14, 15, 16, 17, 18, 19]) {
    expect(db.prepare('DELETE FROM events WHERE leaf_index = ?').run(leaf).changes).toBe(1);
  }
  const seen: string[] = first.edges.map((e: Json) => e.node.message);
  const missing: number[] = [first.missingEvents];
  let page = first;
  while (page.pageInfo.hasNextPage) {
    page = (await gw.runOk(NEXT, { q: 'actor:deleting', after: page.pageInfo.endCursor })).search;
    expect(page.__typename).toBe('AuditEventConnection');
    seen.push(...page.edges.map((e: Json) => e.node.message));
    missing.push(page.missingEvents);
    expect(missing.length).toBeLessThan(10); // no loop
  }
  const deleted = new Set(['d07', 'd14', 'd15', 'd16', 'd17', 'd18', 'd19']);
  const remaining = Array.from({ length: 23 }, (_, i) => `d${String(i).padStart(2, '0')}`).filter((m) => !deleted.has(m));
  expect(seen).toEqual(remaining);
  expect(missing).toEqual([0, 1, 1, 5, 0]);

  // results() over the same set, four at a time: the same events, the same count of gaps.
  const viaResults: string[] = [];
  let missingTotal = 0;
  let after: string | undefined;
  for (let i = 0; i < 10; i++) {
    const r = (await gw.runOk(RESULTS, { id: first.resultId, ...(after ? { after } : {}) })).results;
    expect(r.__typename).toBe('AuditEventConnection');
    viaResults.push(...r.edges.map((e: Json) => e.node.message));
    missingTotal += r.missingEvents;
    if (!r.pageInfo.hasNextPage) break;
    after = r.pageInfo.endCursor;
  }
  expect(viaResults).toEqual(remaining);
  expect(missingTotal).toBe(7);

  // Backwards through results(), three at a time from the end: the same events, in reverse.
  const backwards: string[] = [];
  let before: string | undefined;
  for (let i = 0; i < 12; i++) {
    const r = (await gw.runOk(BACK, { id: first.resultId, ...(before ? { before } : {}) })).results;
    expect(r.__typename).toBe('AuditEventConnection');
    backwards.unshift(...r.edges.map((e: Json) => e.node.message));
    if (!r.pageInfo.hasPreviousPage) break;
    before = r.pageInfo.startCursor;
  }
  expect(backwards).toEqual(remaining);

  // A new search no longer lists them: nothing is missing from its pages.
  const fresh = (await gw.runOk(`query { search(query: "actor:deleting", first: 100) { ${PAGE_FIELDS} } }`)).search;
  expect(fresh).toMatchObject({ totalCount: 16, missingEvents: 0 });
});
