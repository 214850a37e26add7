// Pass-through mode: the caller's own upstream token is forwarded; the gateway holds none of its own.
import { startSecureGateway, type SecureGateway } from './support.js';

let gw: SecureGateway;
beforeAll(async () => {
  gw = await startSecureGateway({ kind: 'passthrough' });
});
afterAll(async () => {
  await gw.close();
});

const LOG = `mutation { log(event: {message: "pass-through"}) { __typename ... on LogResult { hash } ... on Error { message } } }`;

test('without a token the request is 401 before reaching the upstream', async () => {
  const r = await gw.call(LOG);
  expect(r.status).toBe(401);
  expect(r.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  expect(gw.running.local!.log.size).toBe(0);
});

test('a token the upstream does not accept is 401 from the headers, like a missing one (the upstream is asked once)', async () => {
  const r = await gw.call(LOG, 'not-the-audit-token');
  expect(r.status).toBe(401);
  expect(r.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  expect(r.body.errors[0].message).toBe('not authenticated: the audit service does not accept this token');
  expect(JSON.stringify(r.body)).not.toContain('not-the-audit-token');
  expect(gw.running.local!.log.size).toBe(0);
});

test('the caller’s own upstream token works for every operation', async () => {
  const token = gw.running.local!.token;
  expect((await gw.call(LOG, token)).body.data.log.__typename).toBe('LogResult');
  gw.running.local!.publishNow();
  const search = await gw.call(`{ search(query: "", first: 5) { __typename ... on AuditEventConnection { totalCount edges { node { verification { membership } } } } } }`, token);
  expect(search.body.data.search.totalCount).toBe(1);
  expect(search.body.data.search.edges[0].node.verification.membership).toBe('PASS');
});
