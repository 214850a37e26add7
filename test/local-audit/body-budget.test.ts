// Request bodies buffered at once are bounded across requests (maxBodyBytesInFlight): past the
// budget a request is answered 503 ServiceNotAvailable with Retry-After before its body is read,
// and the budget frees as bodies finish or their clients go away. A client dropping mid-upload is
// no unexpected error. Over real sockets, with unfinished bodies held open.
import { connect, type Socket } from 'node:net';
import { startTestService, type TestService } from '../support/local-audit.js';

const BODY = 1_000_000;

let svc: TestService;
const errors: unknown[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  svc = await startTestService({ maxBodyBytes: 2 * BODY, maxBodyBytesInFlight: 3 * BODY + 1000, onError: (e) => errors.push(e) });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await svc.destroy();
});

/** A v1/log request whose headers and first part of its body are sent, the rest never. */
async function unfinished(declared: number, sent: number): Promise<Socket> {
  const { hostname, port } = new URL(svc.url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  socket.write(`POST /v1/log HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${svc.token}\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`);
  socket.write(Buffer.alloc(sent, 'a'));
  sockets.push(socket);
  // Let the service read the headers and start on the body.
  await new Promise((r) => setTimeout(r, 50));
  return socket;
}

async function log(message: string, padTo = 0): Promise<Response> {
  const body = JSON.stringify({ event: { message } });
  return fetch(`${svc.url}/v1/log`, { method: 'POST', headers: { authorization: `Bearer ${svc.token}` }, body: body + ' '.repeat(Math.max(0, padTo - body.length)) });
}

test('past the in-flight budget a request is answered 503 with Retry-After, and served again once bodies finish', async () => {
  const held = [await unfinished(BODY, BODY / 2), await unfinished(BODY, BODY / 2), await unfinished(BODY, 10)];
  // A small request still fits beside them.
  expect((await log('small')).status).toBe(200);
  const busy = await log('large', BODY);
  expect(busy.status).toBe(503);
  expect(busy.headers.get('retry-after')).toBe('1');
  const envelope = (await busy.json()) as { status: string; summary: string };
  expect(envelope.status).toBe('ServiceNotAvailable');
  expect(envelope.summary).toMatch(/retry/);
  // A client that goes away frees what its body reserved.
  held[0]!.destroy();
  await new Promise((r) => setTimeout(r, 100));
  expect((await log('large', BODY)).status).toBe(200);
  for (const s of held) s.destroy();
});

test('a client dropping mid-upload is not reported as an unexpected error', async () => {
  errors.length = 0;
  const socket = await unfinished(BODY, BODY / 4);
  socket.destroy();
  await new Promise((r) => setTimeout(r, 200));
  expect(errors.map(String)).toEqual([]);
  expect((await log('after the drop')).status).toBe(200);
});
