// Small real servers on 127.0.0.1 for the client's tests: an HTTP server that records every
// request and answers through a per-test handler, a raw TCP server for faults HTTP servers cannot
// produce (resets, cut bodies), and a port that refuses connections.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';

/** A distinctive token: if it shows up anywhere in an error, the scrubbing failed. */
export const TOKEN = 'pts_t0ken-SECRET-7c1d2e3f-do-not-leak';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Handler = (req: Recorded, res: ServerResponse, index: number) => void | Promise<void>;

export interface TestServer {
  url: string;
  port: number;
  requests: Recorded[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** An HTTP server that records each request (body included) and hands it to `handler`. */
export async function startHttp(handler: Handler, port = 0): Promise<TestServer> {
  const requests: Recorded[] = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const index = requests.push(recorded) - 1;
      // A handler that throws resets the connection (rather than leaving the client waiting).
      new Promise<void>((resolve) => resolve(handler(recorded, res, index))).catch((err: unknown) => {
        res.destroy(err as Error);
      });
    });
  });
  let connections = 0;
  server.on('connection', () => {
    connections++;
  });
  let actual = port;
  if (port === 0) actual = await listen(server);
  else
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A raw TCP server: `onRequest` gets the socket once the first request bytes have arrived. */
export async function startRaw(onRequest: (socket: Socket, requestText: string, index: number) => void): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const requests: Recorded[] = [];
  const state = { connections: 0 };
  const server = createNetServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let text = '';
    let handled = false;
    socket.on('data', (data: Buffer) => {
      text += data.toString('utf8');
      // Wait for the whole request: headers, then Content-Length bytes of body.
      const headerEnd = text.indexOf('\r\n\r\n');
      if (handled || headerEnd < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(text.slice(0, headerEnd))?.[1] ?? 0);
      if (Buffer.byteLength(text.slice(headerEnd + 4)) < length) return;
      handled = true;
      const [requestLine = ''] = text.split('\r\n');
      const [method = '', url = ''] = requestLine.split(' ');
      const index = requests.push({ method, url, headers: {}, body: text.slice(headerEnd + 4) }) - 1;
      onRequest(socket, text, index);
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A URL on a port that was bound and then closed, so connecting to it is refused. */
export async function refusedUrl(): Promise<{ url: string; port: number }> {
  const server = createNetServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { url: `http://127.0.0.1:${port}`, port };
}

export function requestId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(32);
  let out = 'prq_';
  for (const b of bytes) out += alphabet[b % 36];
  return out;
}

/** A response envelope as the service writes it. */
export function envelope(status: string, summary: string, result: unknown, id: string = requestId()): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  return { request_id: id, request_time: now, response_time: now, status, summary, result };
}

export function sendJson(res: ServerResponse, httpStatus: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const id = (body as { request_id?: unknown } | null)?.request_id;
  res.writeHead(httpStatus, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(typeof id === 'string' ? { 'x-request-id': id } : {}),
    ...headers,
  });
  res.end(text);
}

/** A raw HTTP/1.1 response head. */
export function rawHead(status: string, headers: Record<string, string | number>): string {
  return `HTTP/1.1 ${status}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** Asserts the token appears nowhere an error could carry it out. */
export function expectNoToken(err: unknown): void {
  expect(err).toBeInstanceOf(Error);
  const e = err as Error;
  const places = {
    message: e.message,
    stack: e.stack ?? '',
    cause: String(e.cause),
    causeStack: (e.cause as Error | undefined)?.stack ?? '',
    inspected: inspect(e, { depth: 20, showHidden: true }),
    json: JSON.stringify(e) ?? '',
  };
  for (const [where, text] of Object.entries(places)) {
    if (text.includes(TOKEN) || text.includes(encodeURIComponent(TOKEN))) throw new Error(`the token leaked through the error's ${where}`);
  }
}

/** Awaits a rejection and returns the error (fails if the promise resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
