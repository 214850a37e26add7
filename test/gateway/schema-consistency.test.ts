// The schema says what it means consistently: every union is described, export sorts with the
// SortOrder enum search uses (sent to the service as asc / desc), and AuditEvent's old/new are
// JSON and its timestamp a DateTime, each the stored value itself (the hash covers it as stored).
import { gunzipSync } from 'node:zlib';
import { assertObjectType, isUnionType } from 'graphql';
import { getSchema } from '../../src/graphql/schema.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const LOG = `mutation L($event: AuditEventInput!) { log(event: $event, options: { verbose: true }) {
  __typename ... on LogResult { envelope } ... on Error { message } } }`;
const SEARCH = `query S($query: String!) { search(query: $query, first: 10, order: ASC) {
  __typename ... on AuditEventConnection { edges { node { old new timestamp event verification { hash } } } } ... on Error { message } } }`;
const EXPORT = `mutation E($order: SortOrder) { export(format: JSON, order: $order) { __typename ... on AcceptedRequest { requestId } ... on Error { message } } }`;
const POLL = `query P($id: ID!) { pollResult(requestId: $id) { __typename ... on PollResult { done } ... on Error { message } } }`;
const DOWNLOAD = `mutation D($id: ID) { downloadResults(requestId: $id, format: JSON) { __typename ... on DownloadLink { url } ... on Error { message } } }`;

test('every union of the schema has a description', () => {
  const unions = Object.values(getSchema().getTypeMap()).filter(isUnionType);
  expect(unions.length).toBeGreaterThan(0);
  for (const union of unions) expect({ union: union.name, description: union.description?.trim() || undefined }).toEqual({ union: union.name, description: expect.any(String) });
});

test('export and search sort with the same SortOrder; AuditEvent old/new are JSON and timestamp a DateTime', () => {
  const schema = getSchema();
  const exportOrder = schema.getMutationType()!.getFields().export!.args.find((a) => a.name === 'order')!;
  const searchOrder = schema.getQueryType()!.getFields().search!.args.find((a) => a.name === 'order')!;
  expect(String(exportOrder.type)).toBe('SortOrder');
  expect(exportOrder.type).toBe(searchOrder.type);
  const fields = assertObjectType(schema.getType('AuditEvent')).getFields();
  const types = Object.fromEntries(['old', 'new', 'timestamp', 'receivedAt'].map((f) => [f, String(fields[f]!.type)]));
  expect(types).toEqual({ old: 'JSON', new: 'JSON', timestamp: 'DateTime', receivedAt: 'DateTime' });
});

describe('over the embedded service', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('old, new and timestamp come back exactly as stored', async () => {
    const timestamp = '2024-07-25T00:51:46.340938+02:00';
    const logged = (await gw.runOk(LOG, { event: { message: 'stored values', actor: 'schema-consistency', old: { b: 2, a: [1, 'x'] }, new: 'plain text', timestamp } })).log;
    expect(logged.__typename).toBe('LogResult');
    const stored = logged.envelope.event;
    expect(stored).toMatchObject({ old: '{"a":[1,"x"],"b":2}', new: 'plain text', timestamp });
    gw.publish();

    const search = (await gw.runOk(SEARCH, { query: 'actor:schema-consistency' })).search;
    expect(search.__typename).toBe('AuditEventConnection');
    const node = search.edges[0].node;
    expect(node.verification.hash).toBe('PASS');
    expect({ old: node.old, new: node.new, timestamp: node.timestamp }).toEqual({ old: stored.old, new: stored.new, timestamp: stored.timestamp });
    expect(node.event).toEqual(stored);
  });

  test('export order ASC and DESC reach the service as asc and desc', async () => {
    for (const message of ['export 1', 'export 2', 'export 3']) await gw.runOk(LOG, { event: { message, actor: 'exporter' } });
    const exported = async (order: 'ASC' | 'DESC'): Promise<string[]> => {
      const accepted = (await gw.runOk(EXPORT, { order })).export;
      expect(accepted.__typename).toBe('AcceptedRequest');
      for (let polls = 0; !(await gw.runOk(POLL, { id: accepted.requestId })).pollResult.done; polls++) {
        if (polls > 400) throw new Error(`export ${accepted.requestId} did not finish`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const link = (await gw.runOk(DOWNLOAD, { id: accepted.requestId })).downloadResults;
      expect(link.__typename).toBe('DownloadLink');
      const res = await fetch(link.url);
      const file = JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8'));
      return file.events.map((e: Json) => e.envelope.event.message).filter((m: string) => m.startsWith('export '));
    };
    expect(await exported('ASC')).toEqual(['export 1', 'export 2', 'export 3']);
    expect(await exported('DESC')).toEqual(['export 3', 'export 2', 'export 1']);
  });
});
