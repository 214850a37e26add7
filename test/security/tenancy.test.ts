// Tenant-bound callers: they log only their tenant's events and see, page, download, export and
// poll only their tenant's data, whatever arguments or cursors they send.
import { MAX_SEARCH_RESTRICTION_VALUES } from '../../src/wire/index.js';
import { startSecureGateway, type SecureGateway } from './support.js';

const ADMIN = 'admin-key-0123456789abcdef';
const T1 = 'tenant-one-key-0123456789';
const T2 = 'tenant-two-key-0123456789';
const ALL = ['audit:log', 'audit:search', 'audit:export', 'audit:root'];
const METRICS = 'metrics-token-0123456789';

let gw: SecureGateway;
beforeAll(async () => {
  gw = await startSecureGateway({
    kind: 'keys',
    file: undefined,
    inline: JSON.stringify({
      apiKeys: [
        { id: 'admin', key: ADMIN, scopes: ALL },
        { id: 't1', key: T1, scopes: ALL, tenantId: 't1' },
        { id: 't2', key: T2, scopes: ALL, tenantId: 't2' },
      ],
    }),
  }, { metricsToken: METRICS });
  const bulk = (tenant: string, n: number) =>
    `mutation { logBulk(events: [${Array.from({ length: n }, (_, i) => `{message: "${tenant} event ${i}", actor: "shared-actor", tenantId: "${tenant}"}`).join(',')}]) { __typename } }`;
  expect((await gw.call(bulk('t1', 6), ADMIN)).body.data.logBulk.__typename).toBe('LogBulkResult');
  expect((await gw.call(bulk('t2', 4), ADMIN)).body.data.logBulk.__typename).toBe('LogBulkResult');
  gw.running.local!.publishNow();
});
afterAll(async () => {
  await gw.close();
});

const SEARCH = (extra = '') =>
  `{ search(query: "actor:shared-actor", first: 50${extra}) { __typename ... on AuditEventConnection { totalCount resultId edges { cursor node { tenantId message } } pageInfo { endCursor } } ... on Error { message } } }`;

test('a tenant caller logging without a tenant gets its own; another tenant is refused', async () => {
  const own = await gw.call(`mutation { log(event: {message: "mine"}, options: {verbose: true}) { __typename ... on LogResult { envelope } } }`, T1);
  expect(own.body.data.log.envelope.event.tenant_id).toBe('t1');
  const other = await gw.call(`mutation { log(event: {message: "theirs", tenantId: "t2"}) { __typename ... on Error { message } } }`, T1);
  expect(other.body.data.log.__typename).toBe('ForbiddenError');
  const bulk = await gw.call(`mutation { logBulk(events: [{message: "a"}, {message: "b", tenantId: "t2"}]) { __typename } }`, T1);
  expect(bulk.body.data.logBulk.__typename).toBe('ForbiddenError');
  const custom = await gw.call(`mutation { logEvent(event: {message: "x", tenant_id: "t2"}) { __typename } }`, T1);
  expect(custom.body.data.logEvent.__typename).toBe('ForbiddenError');
});

test('search only shows the caller’s tenant, even when asking for another', async () => {
  const t1 = (await gw.call(SEARCH(), T1)).body.data.search;
  expect(t1.totalCount).toBe(6);
  expect(new Set(t1.edges.map((e: { node: { tenantId: string } }) => e.node.tenantId))).toEqual(new Set(['t1']));
  const t2 = (await gw.call(SEARCH(), T2)).body.data.search;
  expect(t2.totalCount).toBe(4);
  const sneaky = (await gw.call(SEARCH(', searchRestriction: [{field: "tenant_id", values: ["t2"]}]'), T1)).body.data.search;
  expect(sneaky.__typename).toBe('ForbiddenError');
  const admin = (await gw.call(SEARCH(), ADMIN)).body.data.search;
  expect(admin.totalCount).toBe(10);
});

test('result ids and cursors of another caller’s search are refused', async () => {
  const admin = (await gw.call(SEARCH(), ADMIN)).body.data.search;
  const results = await gw.call(`{ results(resultId: "${admin.resultId}", first: 5) { __typename ... on AuditEventConnection { totalCount } } }`, T1);
  expect(results.body.data.results.__typename).toBe('ForbiddenError');
  const cursor = admin.edges[0].cursor;
  const viaCursor = await gw.call(SEARCH(`, after: "${cursor}"`), T1);
  expect(viaCursor.body.data.search.__typename).toBe('InvalidCursorError');
  const t2 = (await gw.call(SEARCH(), T2)).body.data.search;
  const crossTenant = await gw.call(`{ results(resultId: "${t2.resultId}", first: 5) { __typename } }`, T1);
  expect(crossTenant.body.data.results.__typename).toBe('ForbiddenError');
  const download = await gw.call(`mutation { downloadResults(resultId: "${admin.resultId}") { __typename } }`, T1);
  expect(download.body.data.downloadResults.__typename).toBe('ForbiddenError');
  const ownSet = (await gw.call(SEARCH(), T1)).body.data.search;
  const ownDownload = await gw.call(`mutation { downloadResults(resultId: "${ownSet.resultId}") { __typename ... on DownloadLink { url } } }`, T1);
  expect(ownDownload.body.data.downloadResults.__typename).toBe('DownloadLink');
});

test('export is refused for tenant callers; another tenant’s request is answered as an unknown one', async () => {
  expect((await gw.call(`mutation { export { __typename } }`, T1)).body.data.export.__typename).toBe('ForbiddenError');
  const accepted = (await gw.call(`mutation { logBulkAsync(events: [{message: "async"}]) { __typename ... on AcceptedRequest { requestId } } }`, T2)).body.data.logBulkAsync;
  expect(accepted.__typename).toBe('AcceptedRequest');
  const poll = `{ pollResult(requestId: "${accepted.requestId}") { __typename } }`;
  expect((await gw.call(poll, T1)).body.data.pollResult.__typename).toBe('NotFoundError');
  expect((await gw.call(poll, T2)).body.data.pollResult.__typename).toBe('PollResult');
});

test('no answer ever carries the upstream token', async () => {
  const token = gw.running.local!.token;
  for (const q of [SEARCH(), `{ root { __typename ... on PublishedRoot { url } } }`, `mutation { export { __typename ... on AcceptedRequest { location } } }`]) {
    const text = JSON.stringify((await gw.call(q, ADMIN)).body);
    expect(text).not.toContain(token);
  }
});

/** Requests the gateway has sent to the upstream's `endpoint` so far, retries included (its /metrics). */
async function upstreamCalls(endpoint: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gw.url), { headers: { authorization: `Bearer ${METRICS}` } })).text();
  const series = text.matchAll(new RegExp(`^audit_gateway_upstream_requests_total\\{[^}]*endpoint="${endpoint}"[^}]*\\} (\\S+)$`, 'gm'));
  return [...series].reduce((sum, m) => sum + Number(m[1]), 0);
}

test('more than MAX_SEARCH_RESTRICTION_VALUES restriction values (the forced tenant counted) is an InputError, and the upstream is never asked', async () => {
  const nobody = (n: number) => Array.from({ length: n }, (_, i) => `nobody-${i}`);
  const search = (field: string) => `query S($r: [SearchRestrictionInput!]) { ${field}(query: "actor:shared-actor", first: 50, searchRestriction: $r) {
    __typename ... on AuditEventConnection { totalCount resultId } ... on InputError { argument message } } }`;
  const searchesBefore = await upstreamCalls('v1/search');

  // Counted over all entries: the same field twice and another one.
  const split = [{ field: 'tenant_id', values: nobody(600) }, { field: 'actor', values: nobody(400) }, { field: 'tenant_id', values: ['t1'] }];
  const over = (await gw.call(search('search'), ADMIN, { r: split })).body.data.search;
  expect(over).toMatchObject({ __typename: 'InputError', argument: 'searchRestriction' });
  expect(over.message).toMatch(new RegExp(`lists ${MAX_SEARCH_RESTRICTION_VALUES + 1} values; at most ${MAX_SEARCH_RESTRICTION_VALUES}`));
  const tenantOver = (await gw.call(search('search'), T1, { r: [{ field: 'actor', values: nobody(MAX_SEARCH_RESTRICTION_VALUES) }] })).body.data.search;
  expect(tenantOver).toMatchObject({ __typename: 'InputError', argument: 'searchRestriction' });
  expect(tenantOver.message).toMatch(/your tenant included/);
  const relay = await gw.call(`query S($r: [SearchRestrictionInput!]) { auditEvents(query: "", searchRestriction: $r) { totalCount } }`, ADMIN, { r: [{ field: 'actor', values: nobody(32_766) }] });
  expect(relay.body.data.auditEvents).toBeNull();
  expect(relay.body.errors[0].extensions.code).toBe('INPUT');
  expect(await upstreamCalls('v1/search')).toBe(searchesBefore);

  // At the bound the upstream takes it and answers it right.
  const atBound = (await gw.call(search('search'), ADMIN, { r: [{ field: 'tenant_id', values: [...nobody(MAX_SEARCH_RESTRICTION_VALUES - 1), 't1'] }] })).body.data.search;
  expect(atBound).toMatchObject({ __typename: 'AuditEventConnection', totalCount: 6 });
  const tenantAtBound = (await gw.call(search('search'), T1, { r: [{ field: 'actor', values: [...nobody(MAX_SEARCH_RESTRICTION_VALUES - 2), 'shared-actor'] }] })).body.data.search;
  expect(tenantAtBound).toMatchObject({ __typename: 'AuditEventConnection', totalCount: 6 });
  expect(await upstreamCalls('v1/search')).toBe(searchesBefore + 2);

  const resultsBefore = await upstreamCalls('v1/results');
  const assertOver = (await gw.call(`query R($id: ID!, $r: [SearchRestrictionInput!]) { results(resultId: $id, first: 5, assertSearchRestriction: $r) {
    __typename ... on InputError { argument } } }`, ADMIN, { id: atBound.resultId, r: [{ field: 'tenant_id', values: [...nobody(MAX_SEARCH_RESTRICTION_VALUES), 't1'] }] })).body.data.results;
  expect(assertOver).toEqual({ __typename: 'InputError', argument: 'assertSearchRestriction' });
  expect(await upstreamCalls('v1/results')).toBe(resultsBefore);
});
