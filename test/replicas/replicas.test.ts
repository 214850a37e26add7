// Two gateway processes behind a round-robin proxy, against one local audit service process: what
// one replica hands out (cursors, result ids, request handles, download links) works on the other
// when they share CURSOR_SECRET, and a replica with another secret refuses it with a typed error.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import { tempDir, type Json } from '../support/gateway.js';

jest.setTimeout(60_000);

const ROOT = new URL('../..', import.meta.url).pathname;
const TOKEN = `replicas-${randomBytes(12).toString('hex')}`;
const SECRET = randomBytes(32).toString('hex');
const RUN = `replica-${randomBytes(4).toString('hex')}`;

interface Proc {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `node --import tsx <entry>` and resolves with the URL it prints matching `pattern`. */
async function startProcess(entry: string, env: Record<string, string>, pattern: RegExp): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start within 30 s:\n${out}`)), 30_000);
    const onData = (c: Buffer): void => {
      out += c.toString('utf8');
      const match = pattern.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited (${code}):\n${out}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, url, output: () => out };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A round-robin proxy: each request goes to the next target, streamed both ways; x-replica says which. */
function roundRobin(): { server: Server; targets: string[] } {
  const targets: string[] = [];
  let next = 0;
  const server = createServer((req, res) => {
    const index = next++ % targets.length;
    const target = new URL(targets[index]!);
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-replica': String(index) });
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  return { server, targets };
}

let dir: string;
let service: Proc;
let replicas: Proc[] = [];
let stranger: Proc;
let proxy: { server: Server; targets: string[] };
let proxyUrl: string;

function gatewayEnv(name: string, secret: string, publicUrl: string): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    AUDIT_BASE_URL: service.url,
    AUDIT_TOKEN: TOKEN,
    CURSOR_SECRET: secret,
    PUBLIC_URL: publicUrl,
    GRAPHIQL: 'false',
    // Each replica keeps its own integrity state: never shared.
    INTEGRITY_STATE_FILE: join(dir, name, 'integrity-state.json'),
  };
}

const GATEWAY_URL = /GraphQL at (http:\/\/\S+)\/graphql/;

beforeAll(async () => {
  dir = tempDir('replicas-');
  service = await startProcess('src/local-audit/main.ts', { LOCAL_AUDIT_PORT: '0', DATA_DIR: join(dir, 'service'), AUDIT_TOKEN: TOKEN, LOCAL_AUDIT_PUBLISH_INTERVAL_MS: '300' }, /local-audit: listening on (http:\/\/\S+)/);
  service.url = service.url.replace(/\/$/, '');
  proxy = roundRobin();
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  replicas = await Promise.all(['a', 'b'].map((name) => startProcess('src/main.ts', gatewayEnv(name, SECRET, proxyUrl), GATEWAY_URL)));
  stranger = await startProcess('src/main.ts', gatewayEnv('c', randomBytes(32).toString('hex'), 'http://127.0.0.1:1'), GATEWAY_URL);
  proxy.targets.push(...replicas.map((r) => r.url));
});

afterAll(async () => {
  await Promise.all([...replicas, stranger, service].filter(Boolean).map((p) => stop(p.child)));
  await new Promise<void>((resolve) => (proxy ? proxy.server.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** One GraphQL request through `base` (the proxy unless told); the field's value and the replica that answered. */
async function field(query: string, variables: Record<string, unknown> = {}, base = proxyUrl): Promise<{ value: Json; replica: string | null }> {
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }), signal: AbortSignal.timeout(20_000) });
  const body = (await res.json()) as { data?: Record<string, Json>; errors?: unknown };
  if (!body.data) throw new Error(`no data: ${JSON.stringify(body)}`);
  return { value: Object.values(body.data)[0] as Json, replica: res.headers.get('x-replica') };
}

const LOG_BULK_ASYNC = `mutation L($events: [AuditEventInput!]!) { logBulkAsync(events: $events) { __typename ... on AcceptedRequest { requestId location } ... on Error { message } } }`;
const POLL = `query P($id: ID!) { pollResult(requestId: $id) { __typename ... on PollResult { requestId done outcome { __typename ... on LogBulkPollResult { logBulk { results { hash } } } ... on ExportPollResult { download { url } } } } ... on Error { message } } }`;
const SEARCH = `query S($q: String!, $after: String) { search(query: $q, first: 2, after: $after) { __typename ... on AuditEventConnection { resultId totalCount edges { node { hash message } } pageInfo { endCursor hasNextPage } } ... on Error { message } } }`;
const RESULTS = `query R($id: ID!) { results(resultId: $id, first: 10) { __typename ... on AuditEventConnection { totalCount edges { node { hash message } } } ... on Error { message } } }`;
const EXPORT = `mutation { export(format: JSON) { __typename ... on AcceptedRequest { requestId } ... on Error { message } } }`;

/** Polls through the proxy (so alternately on both replicas) until done; returns the last answer and who answered each poll. */
async function pollUntilDone(id: string): Promise<{ last: Json; replicas: Set<string | null> }> {
  const seen = new Set<string | null>();
  for (let i = 0; i < 200; i++) {
    const { value, replica } = await field(POLL, { id });
    seen.add(replica);
    expect(value.__typename).toBe('PollResult');
    if (value.done && seen.size === 2) return { last: value, replicas: seen };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`request ${id} not done`);
}

const messages = Array.from({ length: 5 }, (_, i) => `${RUN} event ${i}`);
let logged: string[] = [];

test('logBulkAsync on one replica is polled to its hashes on the other', async () => {
  const started = await field(LOG_BULK_ASYNC, { events: messages.map((message) => ({ message, actor: RUN })) });
  expect(started.value.__typename).toBe('AcceptedRequest');
  expect(started.value.location).toMatch(new RegExp(`^${proxyUrl}/graphql\\?`));
  const { last, replicas: answered } = await pollUntilDone(started.value.requestId);
  expect(answered).toEqual(new Set(['0', '1']));
  expect(last.requestId).toBe(started.value.requestId);
  expect(last.outcome.__typename).toBe('LogBulkPollResult');
  logged = last.outcome.logBulk.results.map((r: Json) => r.hash);
  expect(logged).toHaveLength(5);
  // The location URL (GET, through the proxy) polls the same job on whichever replica answers.
  const viaLocation = await fetch(started.value.location, { headers: { 'x-graphql-yoga-csrf': '1' } });
  expect(((await viaLocation.json()) as Json).data.pollResult.done).toBe(true);
});

test('a search paged on one replica continues on the other; its resultId reads on either', async () => {
  let first: { value: Json; replica: string | null } | undefined;
  for (let i = 0; i < 100; i++) {
    first = await field(SEARCH, { q: `actor:${RUN}` });
    if (first.value.totalCount === 5) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(first!.value.__typename).toBe('AuditEventConnection');
  expect(first!.value.totalCount).toBe(5);
  const second = await field(SEARCH, { q: `actor:${RUN}`, after: first!.value.pageInfo.endCursor });
  expect(second.replica).not.toBe(first!.replica);
  expect(second.value.__typename).toBe('AuditEventConnection');
  const paged = [...first!.value.edges, ...second.value.edges].map((e: Json) => e.node.hash);
  expect(paged).toHaveLength(4);
  expect(new Set(paged).size).toBe(4);
  for (const hash of paged) expect(logged).toContain(hash);

  const results = await field(RESULTS, { id: first!.value.resultId });
  expect(results.value.__typename).toBe('AuditEventConnection');
  expect(results.value.edges.map((e: Json) => e.node.message).sort()).toEqual([...messages].sort());
  // Both replicas answer the result id (it is the upstream's).
  const again = await field(RESULTS, { id: first!.value.resultId });
  expect(again.replica).not.toBe(results.replica);
  expect(again.value.totalCount).toBe(5);
});

test('an export started on one replica is polled on the other and its link downloads through either', async () => {
  const started = await field(EXPORT);
  expect(started.value.__typename).toBe('AcceptedRequest');
  const { last } = await pollUntilDone(started.value.requestId);
  expect(last.outcome.__typename).toBe('ExportPollResult');
  const url: string = last.outcome.download.url;
  expect(url.startsWith(`${proxyUrl}/downloads/`)).toBe(true);
  for (let i = 0; i < 2; i++) {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(['0', '1']).toContain(res.headers.get('x-replica'));
    const body = Buffer.from(await res.arrayBuffer());
    const text = gunzipSync(body).toString('utf8');
    for (const message of messages) expect(text).toContain(message);
  }
});

test('a replica with another CURSOR_SECRET refuses the others’ cursors and request handles, typed', async () => {
  const page = await field(SEARCH, { q: `actor:${RUN}` });
  const refusedCursor = await field(SEARCH, { q: `actor:${RUN}`, after: page.value.pageInfo.endCursor }, stranger.url);
  expect(refusedCursor.value.__typename).toBe('InvalidCursorError');
  expect(refusedCursor.value.message).toMatch(/altered or was issued by another gateway/);

  const started = await field(LOG_BULK_ASYNC, { events: [{ message: `${RUN} stranger`, actor: RUN }] });
  const refusedHandle = await field(POLL, { id: started.value.requestId }, stranger.url);
  expect(refusedHandle.value.__typename).toBe('NotFoundError');
  expect(refusedHandle.value.message).toMatch(/no such request/);
  expect(JSON.stringify(refusedHandle.value)).not.toContain(TOKEN);
});

test('a replica started without CURSOR_SECRET says replicas need one', async () => {
  const env = gatewayEnv('d', '', 'http://127.0.0.1:1');
  const lone = await startProcess('src/main.ts', env, GATEWAY_URL);
  try {
    expect(lone.output()).toMatch(/CURSOR_SECRET is not set: .*replicas need one shared CURSOR_SECRET/);
  } finally {
    await stop(lone.child);
  }
});
