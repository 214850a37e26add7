// A bare HTTP relay in front of one server, in its own process: node:http in, an undici keep-alive
// pool out (as the gateway's own server and REST client), each request and each answer read whole
// and passed on unchanged, nothing parsed, checked or logged. What a second HTTP hop costs on this
// machine with nothing else in it: the floor under any gateway that calls a REST service.
// Usage: tsx relay-server.ts <target origin>; prints "relay listening on <url> " once ready.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const target = process.argv[2];
if (!target) throw new Error('usage: relay-server.ts <target origin>');
const upstream = new Pool(target, { connections: 64, keepAliveTimeout: 30_000 });

async function readWhole(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The request headers a REST call needs upstream; hop-by-hop ones (host, connection, …) stay here. */
function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['authorization', 'content-type', 'accept', 'user-agent']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

const server = createServer((req, res) => {
  void (async () => {
    const body = await readWhole(req);
    const answer = await upstream.request({ method: req.method as 'POST', path: req.url ?? '/', headers: forwardedHeaders(req), body: body.length > 0 ? body : null });
    const bytes = Buffer.from(await answer.body.arrayBuffer());
    const contentType = answer.headers['content-type'];
    res.writeHead(answer.statusCode, { ...(typeof contentType === 'string' ? { 'content-type': contentType } : {}), 'content-length': bytes.length });
    res.end(bytes);
  })().catch((err: unknown) => {
    // A relay that cannot reach its target answers 502, as a proxy would; the benchmark counts it wrong.
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(err instanceof Error ? err.message : String(err));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`relay listening on http://127.0.0.1:${(server.address() as AddressInfo).port} `);
});
process.on('SIGTERM', () => server.close(() => void upstream.close().then(() => process.exit(0))));
