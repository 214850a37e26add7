// close() against a request that does not finish: Node's server.close() waits for every
// connection with a request in it, so one slow request (a search starved of CPU, a client that
// never sends the rest of its body) held the whole service open. A live-tail test saw close()
// take 50 s under load. Past the grace, the connections left are cut.
import { connect, type Socket } from 'node:net';
import { startTestService, type TestService } from '../support/local-audit.js';

let service: TestService | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await service?.destroy();
  service = undefined;
});

/** An authorized POST that announces a body and sends only part of it: the server waits for the rest. */
async function unfinishedRequest(target: TestService): Promise<{ ended: () => boolean }> {
  const { hostname, port } = new URL(target.url);
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  let ended = false;
  socket.on('error', () => undefined);
  socket.on('close', () => (ended = true));
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  socket.write(
    `POST /v1/search HTTP/1.1\r\nhost: ${hostname}:${port}\r\nauthorization: Bearer ${target.token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"query":`,
  );
  // Let the server take the request in.
  await new Promise((r) => setTimeout(r, 100));
  return { ended: () => ended };
}

test('close() cuts a request that does not finish once the grace has passed, and ends', async () => {
  service = await startTestService({ closeGraceMs: 400 });
  const request = await unfinishedRequest(service);
  expect(request.ended()).toBe(false);
  const started = performance.now();
  await service.close();
  const took = performance.now() - started;
  expect(took).toBeGreaterThanOrEqual(350);
  expect(took).toBeLessThan(3_000);
  for (let waited = 0; !request.ended() && waited < 2_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  expect(request.ended()).toBe(true);
});

test('a close() with nothing in flight does not wait for the grace', async () => {
  service = await startTestService({ closeGraceMs: 5_000 });
  expect((await service.post('v1/search', { query: '' })).status).toBe('Success');
  const started = performance.now();
  await service.close();
  expect(performance.now() - started).toBeLessThan(2_000);
});
