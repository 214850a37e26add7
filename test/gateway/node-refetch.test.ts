// Query.node / Query.nodes (Relay refetch): an AuditEvent id carries its received_at and hash, and
// node(id:) finds the event again by searching that instant, verified and restricted as a search
// page is. Real gateways over the embedded local service, real HTTP.
import { refusedPort, startTestGateway, type Json, type TestGateway } from '../support/gateway.js';
import { startSecureGateway, type SecureGateway } from '../security/support.js';

const FIELDS = 'id hash receivedAt message actor verification { verdict hash membership consistency failures }';
const SEARCH = `query S($q: String!) { search(query: $q, order: ASC, first: 50) { __typename ... on AuditEventConnection { resultId edges { node { ${FIELDS} } } } } }`;
const AUDIT_EVENTS = `query A($q: String!) { auditEvents(query: $q, order: ASC, first: 50) { edges { node { ${FIELDS} } } } }`;
const RESULTS = `query R($id: ID!) { results(resultId: $id, first: 50) { __typename ... on AuditEventConnection { edges { node { ${FIELDS} } } } } }`;
const NODE = `query N($id: ID!) { node(id: $id) { __typename id ... on AuditEvent { ${FIELDS} } } }`;
const NODES = `query M($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on AuditEvent { ${FIELDS} } } }`;

const base64 = (text: string): string => Buffer.from(text).toString('base64');
const MESSAGES = ['node one', 'node two', 'node three', 'node four'];

describe('node(id:) and nodes(ids:)', () => {
  let gw: TestGateway;
  let before: Json[];

  beforeAll(async () => {
    gw = await startTestGateway();
    const events = MESSAGES.map((message) => ({ message, actor: 'refetch' }));
    const logged = await gw.runOk(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { count } } }`, { e: events });
    expect(logged.logBulk.count).toBe(MESSAGES.length);
    before = (await gw.runOk(SEARCH, { q: 'actor:refetch' })).search.edges.map((e: Json) => e.node);
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('the id is base64 of "AuditEvent:<received_at>|<hash>"', () => {
    expect(before.map((n) => n.message)).toEqual(MESSAGES);
    for (const node of before) {
      expect(node.receivedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      expect(Buffer.from(node.id, 'base64').toString()).toBe(`AuditEvent:${node.receivedAt}|${node.hash}`);
    }
  });

  test('before publishing, node(id:) returns the same event, PENDING as on the search page', async () => {
    for (const expected of before) {
      expect(expected.verification.verdict).toBe('PENDING');
      const { node } = await gw.runOk(NODE, { id: expected.id });
      expect(node).toEqual({ __typename: 'AuditEvent', ...expected });
    }
  });

  test('after publishing, node(id:) gives the same id, now VERIFIED; search, auditEvents and results give the same ids', async () => {
    gw.publish();
    const search = (await gw.runOk(SEARCH, { q: 'actor:refetch' })).search;
    const after: Json[] = search.edges.map((e: Json) => e.node);
    expect(after.map((n) => n.id)).toEqual(before.map((n) => n.id));
    const viaRelay = (await gw.runOk(AUDIT_EVENTS, { q: 'actor:refetch' })).auditEvents.edges.map((e: Json) => e.node);
    const viaResults = (await gw.runOk(RESULTS, { id: search.resultId })).results.edges.map((e: Json) => e.node);
    expect(viaRelay).toEqual(after);
    expect(viaResults).toEqual(after);
    for (const expected of after) {
      expect(expected.verification).toEqual({ verdict: 'VERIFIED', hash: 'PASS', membership: 'PASS', consistency: 'PASS', failures: [] });
      const { node } = await gw.runOk(NODE, { id: expected.id });
      expect(node).toEqual({ __typename: 'AuditEvent', ...expected });
    }
  });

  test('nodes(ids:) answers in the order asked, repeats included', async () => {
    const [a, b, c] = before;
    const { nodes } = await gw.runOk(NODES, { ids: [c.id, a.id, c.id, b.id] });
    expect(nodes.map((n: Json) => n.message)).toEqual([c.message, a.message, c.message, b.message]);
    expect(nodes.every((n: Json) => n.verification.verdict === 'VERIFIED')).toBe(true);
    expect((await gw.runOk(NODES, { ids: [] })).nodes).toEqual([]);
  });

  test('one search per instant per request: repeated ids and aliases share it', async () => {
    const searches = async (): Promise<number> => {
      const text = await (await fetch(`${gw.origin}/metrics`)).text();
      const line = /^audit_gateway_upstream_requests_total\{[^}]*endpoint="v1\/search"[^}]*outcome="ok"[^}]*\} (\d+)$/m.exec(text)
        ?? /^audit_gateway_upstream_requests_total\{[^}]*outcome="ok"[^}]*endpoint="v1\/search"[^}]*\} (\d+)$/m.exec(text);
      return Number(line?.[1] ?? 0);
    };
    const [a, b] = before;
    const start = await searches();
    await gw.runOk(`query Q($a: ID!, $b: ID!) { x: node(id: $a) { id } y: node(id: $a) { id } nodes(ids: [$a, $b, $b]) { id } }`, { a: a.id, b: b.id });
    expect((await searches()) - start).toBe(2);
  });

  test('an id whose hash or instant holds no event is null, without an error', async () => {
    const known = before[0];
    const otherHash = known.hash.replace(/^./, (ch: string) => (ch === '0' ? '1' : '0'));
    const cases = [
      base64(`AuditEvent:${known.receivedAt}|${otherHash}`),
      base64(`AuditEvent:2001-01-01T00:00:00.000000Z|${known.hash}`),
    ];
    for (const id of cases) {
      const answer = await gw.graphql(NODE, { id });
      expect(answer.body).toEqual({ data: { node: null } });
    }
    expect((await gw.runOk(NODES, { ids: [cases[0], known.id, cases[1]] })).nodes.map((n: Json) => n?.message ?? null)).toEqual([null, known.message, null]);
  });

  test('an id that is not an AuditEvent id is null plus an INPUT error', async () => {
    const hash = before[0].hash;
    const malformed = [
      'not base64!',
      base64('Nothing:here'),
      base64(`AuditEvent:${hash}`), // an id without received_at
      base64(`AuditEvent:yesterday|${hash}`),
      base64(`AuditEvent:${before[0].receivedAt}|${hash.toUpperCase()}`),
      base64(`PublishedRoot:${before[0].receivedAt}|${hash}`),
    ];
    for (const id of malformed) {
      const answer = await gw.graphql(NODE, { id });
      expect(answer.body.data).toEqual({ node: null });
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors[0]).toMatchObject({ path: ['node'], extensions: { code: 'INPUT' } });
      expect(answer.body.errors[0].message).toMatch(/not an AuditEvent id/);
    }
  });

  test('in nodes(ids:), a malformed id fails only its own entry', async () => {
    const answer = await gw.graphql(NODES, { ids: [before[1].id, 'bogus', before[2].id] });
    expect(answer.body.data.nodes.map((n: Json) => n?.message ?? null)).toEqual([before[1].message, null, before[2].message]);
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors[0]).toMatchObject({ path: ['nodes', 1], extensions: { code: 'INPUT' } });
  });

  test('more than 100 ids is an INPUT error', async () => {
    const answer = await gw.graphql(`query M($ids: [ID!]!) { nodes(ids: $ids) { id } search(query: "", first: 1) { __typename } }`, { ids: Array.from({ length: 101 }, () => before[0].id) });
    // Only nodes is null: the other root fields of the request still answer.
    expect(answer.body.data.nodes).toBeNull();
    expect(answer.body.data.search).toEqual({ __typename: 'AuditEventConnection' });
    expect(answer.body.errors[0]).toMatchObject({ path: ['nodes'], extensions: { code: 'INPUT' } });
  });
});

describe('node(id:) against an upstream that is down', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ remoteBaseUrl: `http://127.0.0.1:${await refusedPort()}` });
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('the failure is a GraphQL error with the code search would type it with', async () => {
    const id = base64(`AuditEvent:2026-01-01T00:00:00.000000Z|${'a'.repeat(64)}`);
    const answer = await gw.graphql(NODE, { id });
    expect(answer.body.data).toEqual({ node: null });
    expect(answer.body.errors[0]).toMatchObject({ path: ['node'], extensions: { code: 'UPSTREAM_UNAVAILABLE' } });
    expect(answer.body.errors[0].message).not.toContain('127.0.0.1');
  });
});

describe('node(id:) for tenant-bound callers', () => {
  const ADMIN = 'admin-key-0123456789abcdef';
  const T1 = 'tenant-one-key-0123456789';
  const T2 = 'tenant-two-key-0123456789';
  const LOGGER = 'logger-key-0123456789abcdef';
  let gw: SecureGateway;
  let ids: Record<'t1' | 't2', string>;

  const search = async (credential: string): Promise<Json[]> => {
    const r = await gw.call(`{ search(query: "actor:tenants", first: 10) { ... on AuditEventConnection { edges { node { id message tenantId } } } } }`, credential);
    return r.body.data.search.edges.map((e: Json) => e.node);
  };

  beforeAll(async () => {
    const all = ['audit:log', 'audit:search', 'audit:export', 'audit:root'];
    gw = await startSecureGateway({
      kind: 'keys',
      file: undefined,
      inline: JSON.stringify({
        apiKeys: [
          { id: 'admin', key: ADMIN, scopes: all },
          { id: 't1', key: T1, scopes: all, tenantId: 't1' },
          { id: 't2', key: T2, scopes: all, tenantId: 't2' },
          { id: 'logger', key: LOGGER, scopes: ['audit:log'] },
        ],
      }),
    });
    const logged = await gw.call(`mutation { logBulk(events: [{message: "for one", actor: "tenants", tenantId: "t1"}, {message: "for two", actor: "tenants", tenantId: "t2"}]) { __typename } }`, ADMIN);
    expect(logged.body.data.logBulk.__typename).toBe('LogBulkResult');
    const events = await search(ADMIN);
    expect(events).toHaveLength(2);
    ids = { t1: events.find((e) => e.tenantId === 't1').id, t2: events.find((e) => e.tenantId === 't2').id };
  });
  afterAll(async () => {
    await gw?.close();
  });

  const node = `query N($id: ID!) { node(id: $id) { ... on AuditEvent { id message tenantId } } }`;

  test('a tenant gets its own event, and null for another tenant\'s id (no error, nothing leaked)', async () => {
    expect((await search(T1)).map((e) => e.id)).toEqual([ids.t1]);
    const own = await gw.call(node, T1, { id: ids.t1 });
    expect(own.body).toEqual({ data: { node: { id: ids.t1, message: 'for one', tenantId: 't1' } } });
    const foreign = await gw.call(node, T1, { id: ids.t2 });
    expect(foreign.body).toEqual({ data: { node: null } });
    const both = await gw.call(`query M($ids: [ID!]!) { nodes(ids: $ids) { ... on AuditEvent { message } } }`, T2, { ids: [ids.t1, ids.t2] });
    expect(both.body).toEqual({ data: { nodes: [null, { message: 'for two' }] } });
    // An unbound caller sees both.
    expect((await gw.call(node, ADMIN, { id: ids.t2 })).body.data.node.message).toBe('for two');
  });

  test('node(id:) needs audit:search, as search does', async () => {
    const denied = await gw.call(node, LOGGER, { id: ids.t1 });
    expect(denied.body.data).toEqual({ node: null });
    expect(denied.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});
