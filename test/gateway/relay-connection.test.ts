// Query.auditEvents, the Relay-shaped twin of search, and AuditEvent's global id (Node): the same
// verified events as search, failures as GraphQL errors with extension codes, search unchanged.
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const TOTAL = 7;
const MESSAGES = Array.from({ length: TOTAL }, (_, i) => `relay event ${i}`);

const NODE_FIELDS = 'id hash receivedAt message verification { verdict hash membership consistency failures }';
const AUDIT_EVENTS = `
  query Events($query: String!, $first: Int, $after: String) {
    auditEvents(query: $query, order: ASC, first: $first, after: $after) {
      totalCount
      edges { cursor node { ${NODE_FIELDS} } }
      pageInfo { hasNextPage endCursor }
    }
  }`;
const SEARCH = `
  query Search($query: String!, $first: Int) {
    search(query: $query, order: ASC, first: $first) {
      __typename
      ... on AuditEventConnection { edges { cursor node { ${NODE_FIELDS} } } }
    }
  }`;

const globalId = (receivedAt: string, hash: string): string => Buffer.from(`AuditEvent:${receivedAt}|${hash}`).toString('base64');

describe('Query.auditEvents and AuditEvent.id', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    const events = MESSAGES.map((message) => ({ message, actor: 'relay' }));
    const logged = (await gw.runOk(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { count } } }`, { e: events })).logBulk;
    expect(logged.count).toBe(TOTAL);
    gw.publish();
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('pages every event once, verified, each id the global id of its received_at and hash', async () => {
    const first = (await gw.runOk(AUDIT_EVENTS, { query: 'actor:relay', first: 4 })).auditEvents;
    expect(first.totalCount).toBe(TOTAL);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await gw.runOk(AUDIT_EVENTS, { query: 'actor:relay', first: 4, after: first.pageInfo.endCursor })).auditEvents;
    expect(second.pageInfo.hasNextPage).toBe(false);
    const nodes: Json[] = [...first.edges, ...second.edges].map((e: Json) => e.node);
    expect(nodes.map((n) => n.message)).toEqual(MESSAGES);
    for (const node of nodes) {
      expect(node.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(node.id).toBe(globalId(node.receivedAt, node.hash));
      expect(node.verification).toEqual({ verdict: 'VERIFIED', hash: 'PASS', membership: 'PASS', consistency: 'PASS', failures: [] });
    }
    expect(new Set(nodes.map((n) => n.id)).size).toBe(TOTAL);
  });

  test('search is unchanged and gives the same events and ids', async () => {
    const viaRelay = (await gw.runOk(AUDIT_EVENTS, { query: 'actor:relay', first: TOTAL })).auditEvents;
    const viaSearch = (await gw.runOk(SEARCH, { query: 'actor:relay', first: TOTAL })).search;
    expect(viaSearch.__typename).toBe('AuditEventConnection');
    expect(viaSearch.edges.map((e: Json) => e.node)).toEqual(viaRelay.edges.map((e: Json) => e.node));
  });

  test('failures of a first page are null plus a GraphQL error with the code of search\'s error type', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ query: 'actor:relay', first: 5000 }, 'INPUT'],
      [{ query: 'nosuchfield:x', first: 2 }, 'UPSTREAM_VALIDATION'],
    ];
    for (const [variables, code] of cases) {
      const answer = await gw.graphql(AUDIT_EVENTS, variables);
      expect(answer.body.data).toEqual({ auditEvents: null });
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors[0].path).toEqual(['auditEvents']);
      expect(answer.body.errors[0].extensions.code).toBe(code);
      expect(answer.body.errors[0].message).not.toBe('Unexpected error.');
    }
  });

  // A further page that fails leaves what Relay loaded in place: an empty page, the error on the
  // cursor Relay pages with (test/frontend/relay-pagination-failure.test.ts drives Relay itself).
  const expectFailedFurtherPage = (answer: { body: Json }, code: string): void => {
    expect(answer.body.data.auditEvents).toMatchObject({ edges: [], pageInfo: { hasNextPage: true, endCursor: null } });
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors[0].path).toEqual(['auditEvents', 'pageInfo', 'endCursor']);
    expect(answer.body.errors[0].extensions.code).toBe(code);
  };

  test('an unreadable cursor on a further page is INVALID_CURSOR, without emptying the connection', async () => {
    expectFailedFurtherPage(await gw.graphql(AUDIT_EVENTS, { query: 'actor:relay', first: 2, after: 'not-a-cursor' }), 'INVALID_CURSOR');
  });

  test('a cursor of another search is refused as on search', async () => {
    const other = (await gw.runOk(AUDIT_EVENTS, { query: 'actor:relay', first: 1 })).auditEvents;
    expectFailedFurtherPage(await gw.graphql(AUDIT_EVENTS, { query: 'relay', first: 1, after: other.pageInfo.endCursor }), 'INVALID_CURSOR');
  });
});
