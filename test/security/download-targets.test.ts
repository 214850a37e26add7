// Download links are fetched without credentials and streamed back, so what a sealed link may point
// at is limited even for a link sealed with the gateway's own key (a leaked or guessed secret): no
// cloud metadata, no other scheme, no credentials, and no internal address the upstream is not on.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditClient } from '../../src/audit-client/index.js';
import { DownloadLinks } from '../../src/auth/download-links.js';
import { createDownloads, downloadAllowed } from '../../src/gateway/download-route.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { internalNameServer } from './internal-name.js';

const METADATA = 'http://169.254.169.254/latest/meta-data/';

function seal(secret: Buffer, upstreamUrl: string): string {
  return new DownloadLinks(secret).seal({ upstreamUrl, callerId: 'local', tenantId: undefined, format: 'csv', expiresAtMs: Date.now() + 60_000 });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A service on loopback that a forged link would reach: what it is asked for goes into `hits`. */
function internalServer(hits: string[]): Server {
  return createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('internal secrets');
  });
}

/** The download route alone, for an upstream at `baseUrl` (never called for the API), on a server of its own. */
async function serveDownloads(baseUrl: string, secret: Buffer, logged: unknown[]): Promise<{ url: string; client: AuditClient; close(): Promise<void> }> {
  const client = new AuditClient({ baseUrl, token: 'x' });
  let url = '';
  const downloads = createDownloads({ client, publicUrl: () => url, secret, logError: (err) => logged.push(err) });
  const server = createServer((req, res) => {
    void downloads.serve(req, res).then((served) => {
      if (!served) res.writeHead(404).end();
    });
  });
  url = await listen(server);
  return {
    url,
    client,
    close: async () => {
      await close(server);
      await client.close();
    },
  };
}

test('which sealed URLs are fetched, for a cloud upstream and for the embedded service', () => {
  const cloud = new URL('https://audit.aws.us.pangea.cloud');
  const local = new URL('http://127.0.0.1:4001');
  const onPrem = new URL('http://10.0.0.5:8080');
  // The cloud's files come from other public hosts (presigned storage URLs).
  expect(downloadAllowed('https://pangea-audit.s3.us-west-2.amazonaws.com/f.csv.gz?X-Amz-Signature=abc', cloud)).toBe(true);
  expect(downloadAllowed('https://audit.aws.us.pangea.cloud/files/f.gz', cloud)).toBe(true);
  for (const target of [
    METADATA,
    'http://[::ffff:169.254.169.254]/',
    'http://2852039166/latest/meta-data/',
    'http://0xa9.254.169.254/',
    'http://[fe80::1]/',
    'http://127.0.0.1:4001/downloads/x',
    'http://localhost:4001/',
    'http://LOCALHOST./',
    'http://api.localhost/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://10.1.2.3/',
    'http://172.20.0.1/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://[fd00::1]/',
    'http://0.0.0.0:4001/',
    'http://[::]/',
    'http://[::169.254.169.254]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://255.255.255.255/',
    'http://224.0.0.1/',
    'file:///etc/passwd',
    'gopher://example.com/',
    'ftp://example.com/f',
    'https://user:pass@files.example.com/f',
    'https://user@files.example.com/f',
    'not a url',
    '',
  ]) {
    expect([target, downloadAllowed(target, cloud)]).toEqual([target, false]);
  }
  // The embedded service's dest_url is on its own loopback origin, or another loopback one.
  expect(downloadAllowed('http://127.0.0.1:4001/downloads/abc', local)).toBe(true);
  expect(downloadAllowed('http://127.0.0.1:5000/f', local)).toBe(true);
  expect(downloadAllowed('https://files.example.com/f', local)).toBe(true);
  for (const target of [METADATA, 'http://10.0.0.5/', 'http://u:p@127.0.0.1:4001/downloads/abc', 'file:///etc/passwd']) {
    expect([target, downloadAllowed(target, local)]).toEqual([target, false]);
  }
  // An upstream inside a private network may keep its files there, not on loopback or link-local.
  expect(downloadAllowed('http://10.0.0.6/files/f.gz', onPrem)).toBe(true);
  for (const target of [METADATA, 'http://127.0.0.1:4001/']) expect([target, downloadAllowed(target, onPrem)]).toEqual([target, false]);
});

describe('a gateway in front of a public upstream', () => {
  const secret = randomBytes(32);
  let internal: Server;
  let internalUrl: string;
  const internalHits: string[] = [];
  let gateway: Awaited<ReturnType<typeof serveDownloads>>;
  let gatewayUrl: string;
  const logged: unknown[] = [];

  beforeAll(async () => {
    // An internal service on loopback that a forged link would reach.
    internal = internalServer(internalHits);
    internalUrl = await listen(internal);
    // Never called: the upstream's address only tells the route what kind of address it is on.
    gateway = await serveDownloads('https://audit.example.test', secret, logged);
    gatewayUrl = gateway.url;
  });
  afterAll(async () => {
    await gateway.close();
    await close(internal);
  });

  test('a link sealed with its key to a loopback, link-local or non-http URL is refused unfetched, and logged', async () => {
    for (const target of [`${internalUrl}/admin`, `http://localhost:${new URL(internalUrl).port}/admin`, METADATA, 'file:///etc/passwd']) {
      const res = await fetch(`${gatewayUrl}/downloads/${seal(secret, target)}`);
      const body = await res.text();
      expect([target, res.status]).toEqual([target, 403]);
      expect(body).toMatch(/not valid/);
      expect(body).not.toContain('internal secrets');
    }
    expect(internalHits).toEqual([]);
    expect(logged).toHaveLength(4);
    expect(String(logged[0])).toMatch(/CURSOR_SECRET known to others/);
  });
});

describe('the test gateway with its embedded service (upstream on loopback)', () => {
  let gw: TestGateway;
  /** The test gateway's cursor secret is 'test'. */
  const secret = Buffer.from('test', 'utf8');

  beforeAll(async () => {
    gw = await startTestGateway();
    await gw.runOk(`mutation { logBulk(events: [{message: "one", actor: "ssrf"}, {message: "two", actor: "ssrf"}]) { __typename } }`);
    gw.publish();
  });
  afterAll(async () => {
    await gw.close();
  });

  test('links to metadata, private addresses, other schemes or with credentials are refused', async () => {
    const local = new URL(gw.local!.url);
    for (const target of [METADATA, 'http://[::ffff:169.254.169.254]/', 'http://10.0.0.1/f', 'file:///etc/passwd', `http://user:pass@${local.host}/downloads/${'A'.repeat(43)}`]) {
      const res = await fetch(`${gw.origin}/downloads/${seal(secret, target)}`);
      expect([target, res.status]).toEqual([target, 403]);
      await res.arrayBuffer();
    }
  });

  test('its real download links still serve the file', async () => {
    const search = await gw.runOk(`{ search(query: "actor:ssrf", first: 1) { __typename ... on AuditEventConnection { resultId } } }`);
    const link = await gw.runOk(`mutation D($id: ID) { downloadResults(resultId: $id) { __typename ... on DownloadLink { url } ... on Error { message } } }`, {
      id: search.search.resultId,
    });
    expect(link.downloadResults.__typename).toBe('DownloadLink');
    const res = await fetch(link.downloadResults.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });
});

describe('a gateway in front of an upstream on a public address', () => {
  const secret = randomBytes(32);
  let gateway: Awaited<ReturnType<typeof serveDownloads>>;
  let gatewayUrl: string;
  const logged: unknown[] = [];

  beforeAll(async () => {
    // A literal public address (TEST-NET-3), never called: no DNS lookup of the upstream either.
    gateway = await serveDownloads('https://203.0.113.10', secret, logged);
    gatewayUrl = gateway.url;
  });
  afterAll(() => gateway.close());

  test('a link to a host NAME that resolves to an internal address is refused when connecting: 403, logged, nothing reaches it', async () => {
    const hits: string[] = [];
    const found = await internalNameServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('internal secrets');
    });
    if (found === undefined) {
      // No such name on this machine: test/security/download-connect.test.ts still checks the same
      // refusal on `localhost` resolved through the download dispatcher itself.
      console.warn('no host name resolving to an internal address of this machine: the gateway-level check of a resolved name is skipped');
      return;
    }
    const { name, address, server } = found;
    try {
      const target = `http://${name}:${(server.address() as AddressInfo).port}/admin`;
      // The name passes the check of the URL: only the address connected to shows what it is.
      expect(downloadAllowed(target, new URL('https://203.0.113.10'))).toBe(true);
      logged.length = 0;
      const res = await fetch(`${gatewayUrl}/downloads/${seal(secret, target)}`);
      const body = await res.text();
      expect([target, address, res.status]).toEqual([target, address, 403]);
      expect(body).toMatch(/not valid/);
      expect(body).not.toContain('internal secrets');
      expect(hits).toEqual([]);
      expect(logged).toHaveLength(1);
      expect(String(logged[0])).toContain(name);
      expect(String(logged[0])).toContain(address);
      expect(String(logged[0])).toMatch(/CURSOR_SECRET/);
    } finally {
      await close(server);
    }
  });
});

describe('redirects from a download host', () => {
  let redirector: Server;
  let internal: Server;
  let internalUrl: string;
  const internalHits: string[] = [];
  let gateway: Awaited<ReturnType<typeof serveDownloads>>;
  let gatewayUrl: string;
  const secret = randomBytes(32);
  const logged: unknown[] = [];

  beforeAll(async () => {
    internal = internalServer(internalHits);
    internalUrl = await listen(internal);
    redirector = createServer((_req, res) => {
      res.writeHead(302, { location: `${internalUrl}/admin` }).end();
    });
    // An upstream on loopback, so the link to the redirector (loopback too) is fetched.
    gateway = await serveDownloads(await listen(redirector), secret, logged);
    gatewayUrl = gateway.url;
  });
  afterAll(async () => {
    await gateway.close();
    await close(redirector);
    await close(internal);
  });

  test('are not followed: the redirect is an upstream failure (502), and its target receives nothing', async () => {
    const target = `${gateway.client.baseUrl}/files/f.gz`;
    const res = await fetch(`${gatewayUrl}/downloads/${seal(secret, target)}`);
    const body = await res.text();
    expect(res.status).toBe(502);
    expect(body).not.toContain('internal secrets');
    expect(internalHits).toEqual([]);
    expect(String(logged[0])).toMatch(/HTTP 302/);
  });
});
