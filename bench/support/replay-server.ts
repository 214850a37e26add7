// A server that answers every POST to a known path with one recorded response, in its own
// process: with it, a benchmark measures what the clients cost, not what the service costs.
// Usage: tsx replay-server.ts <file>; the file maps paths ("/v1/search") to response bodies
// (JSON text). Prints "replay listening on <url>" once ready.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const responses = new Map(Object.entries(JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Record<string, string>).map(([path, body]) => [path, Buffer.from(body)]));

const server = createServer((req, res) => {
  // Read the request to its end before answering, as a real service does.
  req.resume();
  req.on('end', () => {
    const body = responses.get(req.url ?? '');
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not recorded');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`replay listening on http://127.0.0.1:${(server.address() as AddressInfo).port} `);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
