// The download route's Agent keeps its connections to public addresses and the upstream's kind of
// address, checked on the address it connects to: a host name is judged by what it resolves to
// (`localhost` here, which resolves to loopback everywhere, without the name shortcut of the URL
// check), a literal address before connecting, whatever URL the Agent is handed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { AuditClient, AuditTransportError } from '../../src/audit-client/index.js';
import { ADDRESS_KIND_REFUSED, downloadAgent, downloadLookup } from '../../src/gateway/address-kind.js';
import { internalNameServer, urlHost } from './internal-name.js';

/** A literal public address (TEST-NET-3), never called: no lookup of the upstream either. */
const PUBLIC_UPSTREAM = new URL('https://203.0.113.10');
const LOOPBACK_UPSTREAM = new URL('http://127.0.0.1:4001');

type Answer = { err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family: number | undefined };

function resolve(lookup: LookupFunction, host: string, options: Parameters<LookupFunction>[1]): Promise<Answer> {
  return new Promise((done) => lookup(host, options, (err, address, family) => done({ err, address, family })));
}

let server: Server;
let port: number;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('internal secrets');
  });
  // On the address `localhost` resolves to first (127.0.0.1 or ::1).
  await new Promise<void>((done) => server.listen(0, 'localhost', () => done()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
});
beforeEach(() => {
  hits.length = 0;
});

test('the lookup refuses a name resolving to loopback for a public upstream, in the list form and the callback form', async () => {
  const lookup = downloadLookup(PUBLIC_UPSTREAM);
  for (const options of [{ all: true }, { family: 4 }, {}]) {
    const { err } = await resolve(lookup, 'localhost', options);
    expect([options, err?.code]).toEqual([options, ADDRESS_KIND_REFUSED]);
    expect(err?.message).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/);
  }
});

test('the lookup answers a name of the upstream’s kind in the form asked', async () => {
  const lookup = downloadLookup(LOOPBACK_UPSTREAM);
  const all = await resolve(lookup, 'localhost', { all: true });
  expect(all.err).toBeNull();
  expect(Array.isArray(all.address) && all.address.length > 0).toBe(true);
  for (const { address } of all.address as LookupAddress[]) expect(['127.0.0.1', '::1']).toContain(address);
  expect(await resolve(lookup, 'localhost', { family: 4 })).toEqual({ err: null, address: '127.0.0.1', family: 4 });
});

test('the Agent of a public upstream connects neither to a name resolving to loopback nor to a loopback literal', async () => {
  const agent = downloadAgent(PUBLIC_UPSTREAM, 5_000);
  try {
    for (const target of [`http://localhost:${port}/admin`, `http://127.0.0.1:${port}/admin`, `http://[::1]:${port}/admin`, `http://[::ffff:127.0.0.1]:${port}/admin`]) {
      const err = await request(target, { dispatcher: agent }).then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect([target, err?.code]).toEqual([target, ADDRESS_KIND_REFUSED]);
    }
    expect(hits).toEqual([]);
  } finally {
    await agent.close();
  }
});

test('through the audit client, the refusal is a transport error with its code, not retried', async () => {
  const agent = downloadAgent(PUBLIC_UPSTREAM, 5_000);
  const client = new AuditClient({ baseUrl: PUBLIC_UPSTREAM.href, token: 'x', dispatcher: agent });
  const chunks: Buffer[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (chunks.push(chunk), done()) });
  try {
    const started = Date.now();
    const err = await client.downloadFile(`http://localhost:${port}/f.gz`, sink).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuditTransportError);
    expect((err as AuditTransportError).code).toBe(ADDRESS_KIND_REFUSED);
    expect((err as AuditTransportError).transient).toBe(false);
    // The client's read retries back off for at least 100 ms: none happened.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(hits).toEqual([]);
  } finally {
    await client.close();
    await agent.close();
  }
});

test('the Agent of an upstream on loopback, given by name or address, fetches from loopback', async () => {
  for (const upstream of [LOOPBACK_UPSTREAM, new URL('http://localhost:4001')]) {
    const agent = downloadAgent(upstream, 5_000);
    try {
      for (const target of [`http://localhost:${port}/f`, `http://${urlHost((server.address() as AddressInfo).address)}:${port}/f`]) {
        const res = await request(target, { dispatcher: agent });
        expect([upstream.href, target, res.statusCode, await res.body.text()]).toEqual([upstream.href, target, 200, 'internal secrets']);
      }
    } finally {
      await agent.close();
    }
  }
  expect(hits).toHaveLength(4);
});

test('an upstream given by a name is classified by its address: its own origin, by name, is fetched', async () => {
  const found = await internalNameServer((_req, res) => res.end('the upstream’s file'));
  if (found === undefined) {
    console.warn('no host name resolving to an internal address of this machine: the check of an upstream classified by its address is skipped');
    return;
  }
  const { name, server: upstreamServer } = found;
  const origin = `http://${name}:${(upstreamServer.address() as AddressInfo).port}`;
  // By its text the name is public; its files are on its own (internal) address.
  const agent = downloadAgent(new URL(origin), 5_000);
  try {
    const res = await request(`${origin}/files/f.gz`, { dispatcher: agent });
    expect([origin, res.statusCode, await res.body.text()]).toEqual([origin, 200, 'the upstream’s file']);
  } finally {
    await agent.close();
    upstreamServer.closeAllConnections();
    await new Promise<void>((done) => upstreamServer.close(() => done()));
  }
});
