// Accepted requests in keys mode: pollResult asks the scope of the job's kind, downloading an
// export asks the export scope, ownership survives a restart of the gateway, and a download link
// is bound to the caller it was issued to.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthMode, GatewayConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import { tempDir, type Json } from '../support/gateway.js';

const ADMIN = 'admin-key-0123456789abcdef';
const LOGGER = 'logger-key-0123456789abcdef';
const EXPORTER = 'exporter-key-0123456789abcdef';
const SEARCHER = 'searcher-key-0123456789abcdef';
const T1 = 'tenant-one-key-0123456789';
const T2 = 'tenant-two-key-0123456789';
const ALL = ['audit:log', 'audit:search', 'audit:export', 'audit:root'];

const AUTH: AuthMode = {
  kind: 'keys',
  file: undefined,
  inline: JSON.stringify({
    apiKeys: [
      { id: 'admin', key: ADMIN, scopes: ALL },
      { id: 'logger', key: LOGGER, scopes: ['audit:log'] },
      { id: 'exporter', key: EXPORTER, scopes: ['audit:export'] },
      { id: 'searcher', key: SEARCHER, scopes: ['audit:search'] },
      { id: 't1', key: T1, scopes: ALL, tenantId: 't1' },
      { id: 't2', key: T2, scopes: ALL, tenantId: 't2' },
    ],
  }),
};

const POLL = (id: string) => `{ pollResult(requestId: "${id}") { __typename ... on PollResult { done } ... on Error { message } } }`;
const BULK_ASYNC = `mutation { logBulkAsync(events: [{message: "async"}]) { __typename ... on AcceptedRequest { requestId } } }`;
const EXPORT = `mutation { export(format: JSON) { __typename ... on AcceptedRequest { requestId } } }`;
const DOWNLOAD_EXPORT = (id: string) => `mutation { downloadResults(requestId: "${id}") { __typename ... on DownloadLink { url } ... on Error { message } } }`;

/** One gateway over a data dir that outlives it, so it can be restarted on the same state. */
class Gateway {
  running!: RunningGateway;
  constructor(private readonly config: GatewayConfig) {}
  async start(): Promise<this> {
    this.running = await startGateway(this.config, () => {});
    return this;
  }
  get origin(): string {
    return new URL(this.running.url).origin;
  }
  async call(query: string, credential: string): Promise<{ status: number; body: Json }> {
    const res = await fetch(this.running.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` }, body: JSON.stringify({ query }) });
    return { status: res.status, body: (await res.json()) as Json };
  }
  /** The field's value, or the FORBIDDEN code when scope auth refused the field. */
  async field(query: string, credential: string): Promise<Json> {
    const { body } = await this.call(query, credential);
    if (body.errors) return body.errors[0].extensions.code;
    return Object.values(body.data as Record<string, Json>)[0];
  }
  async pollUntilDone(id: string, credential: string): Promise<void> {
    for (;;) {
      const poll = await this.field(POLL(id), credential);
      expect(poll.__typename).toBe('PollResult');
      if (poll.done) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

let dir: string;
let gw: Gateway;
beforeAll(async () => {
  dir = tempDir('gateway-jobs-');
  gw = await new Gateway({
    host: '127.0.0.1',
    port: 0,
    upstream: { kind: 'embedded', dataDir: join(dir, 'data'), token: undefined, localPort: 0, publishIntervalMs: 0, schemaFile: undefined },
    signingKeyFile: undefined,
    cursorSecret: undefined,
    maxBodyBytes: 1024 * 1024,
    graphiql: true,
    auth: AUTH,
  }).start();
  await gw.call(`mutation { logBulk(events: [{message: "a", tenantId: "t1"}, {message: "b", tenantId: "t2"}]) { __typename } }`, ADMIN);
});
afterAll(async () => {
  await gw.running.close();
  rmSync(dir, { recursive: true, force: true });
});

test('pollResult asks the scope of the job kind: audit:log for logBulkAsync, audit:export for export', async () => {
  const bulk = (await gw.field(BULK_ASYNC, LOGGER)).requestId as string;
  const exp = (await gw.field(EXPORT, EXPORTER)).requestId as string;
  expect((await gw.field(POLL(bulk), LOGGER)).__typename).toBe('PollResult');
  expect(await gw.field(POLL(bulk), EXPORTER)).toBe('FORBIDDEN');
  expect(await gw.field(POLL(bulk), SEARCHER)).toBe('FORBIDDEN');
  expect((await gw.field(POLL(exp), EXPORTER)).__typename).toBe('PollResult');
  expect(await gw.field(POLL(exp), LOGGER)).toBe('FORBIDDEN');
  expect(await gw.field(POLL(exp), SEARCHER)).toBe('FORBIDDEN');
  // The handle is not the upstream's id: a bare upstream id, a forged or an altered handle opens as
  // nothing, which takes every scope to be told, as an unknown request.
  expect(bulk).not.toMatch(/^prq_/);
  const altered = bulk.slice(0, 20) + (bulk[20] === 'A' ? 'B' : 'A') + bulk.slice(21);
  for (const unknown of ['prq_' + 'x'.repeat(32), 'A'.repeat(80), altered]) {
    for (const single of [LOGGER, EXPORTER, SEARCHER]) expect(await gw.field(POLL(unknown), single)).toBe('FORBIDDEN');
    const answer = await gw.field(POLL(unknown), ADMIN);
    expect(answer.__typename).toBe('NotFoundError');
    expect(answer.message).toMatch(/no such request/);
  }
  // An export's download takes its export handle, not a bulk log's.
  expect((await gw.field(DOWNLOAD_EXPORT(bulk), ADMIN)).__typename).toBe('NotFoundError');
});

test('downloadResults of an export asks audit:export; of a search result set, audit:search', async () => {
  const exp = (await gw.field(EXPORT, EXPORTER)).requestId as string;
  await gw.pollUntilDone(exp, EXPORTER);
  expect(await gw.field(DOWNLOAD_EXPORT(exp), SEARCHER)).toBe('FORBIDDEN');
  expect((await gw.field(DOWNLOAD_EXPORT(exp), EXPORTER)).__typename).toBe('DownloadLink');
  const search = await gw.field(`{ search(query: "", first: 1) { __typename ... on AuditEventConnection { resultId } ... on Error { message } } }`, SEARCHER);
  const bySet = `mutation { downloadResults(resultId: "${search.resultId}") { __typename } }`;
  expect((await gw.field(bySet, SEARCHER)).__typename).toBe('DownloadLink');
  expect(await gw.field(bySet, EXPORTER)).toBe('FORBIDDEN');
});

test('a download link works with no credentials or its own caller’s, not with another caller’s', async () => {
  const exp = (await gw.field(EXPORT, EXPORTER)).requestId as string;
  await gw.pollUntilDone(exp, EXPORTER);
  const { url } = await gw.field(DOWNLOAD_EXPORT(exp), EXPORTER);
  const path = new URL(url).pathname;
  expect((await fetch(gw.origin + path)).status).toBe(200);
  expect((await fetch(gw.origin + path, { headers: { authorization: `Bearer ${EXPORTER}` } })).status).toBe(200);
  const other = await fetch(gw.origin + path, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(other.status).toBe(403);
  expect(await other.text()).toMatch(/another caller/);
  expect((await fetch(gw.origin + path, { headers: { authorization: 'Bearer not-a-key' } })).status).toBe(401);
});

test('after a restart on the same state, a tenant still polls its own job and another tenant still cannot', async () => {
  const mine = (await gw.field(BULK_ASYNC, T1)).requestId as string;
  const exp = (await gw.field(EXPORT, ADMIN)).requestId as string;
  await gw.running.close();
  await gw.start();
  expect((await gw.field(POLL(mine), T1)).__typename).toBe('PollResult');
  expect((await gw.field(POLL(mine), T2)).__typename).toBe('NotFoundError');
  // The kind survives too: the export still asks the export scope.
  expect((await gw.field(POLL(exp), EXPORTER)).__typename).toBe('PollResult');
  expect(await gw.field(POLL(exp), LOGGER)).toBe('FORBIDDEN');
  // Nothing is kept on disk for it: the handle itself carries the ownership.
  expect(existsSync(join(dir, 'data', 'request-owners.jsonl'))).toBe(false);
});
