// An AbortSource's signal (src/audit-client/abort-source.ts) is not a native AbortSignal: each
// consumer it reaches must still see it abort. Node's own APIs, undici against a real server that
// never answers, @whatwg-node's Request and our linked child controller are checked here.
import { addAbortListener, getMaxListeners, setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createYoga } from 'graphql-yoga';
import { request } from 'undici';
import { linkedController } from '../../src/audit-client/signals.js';
import { AbortSource } from '../../src/audit-client/abort-source.js';

test('aborts once, with an AbortError unless given a reason; listeners, onabort and throwIfAborted see it', () => {
  const source = new AbortSource();
  const { signal } = source;
  const abort = (reason?: unknown) => source.abort(reason);
  expect(signal.aborted).toBe(false);
  expect(signal.reason).toBeUndefined();
  expect(() => signal.throwIfAborted()).not.toThrow();
  expect(Object.prototype.toString.call(signal)).toBe('[object AbortSignal]');
  const heard: string[] = [];
  signal.addEventListener('abort', (event) => heard.push(`listener ${event.type}`));
  signal.addEventListener('abort', () => heard.push('once'), { once: true });
  const removed = () => heard.push('removed');
  signal.addEventListener('abort', removed);
  signal.removeEventListener('abort', removed);
  signal.onabort = function (this: AbortSignal) {
    heard.push(`onabort ${this === signal}`);
  };
  abort();
  abort(new Error('second'));
  expect(heard).toEqual(['listener abort', 'once', 'onabort true']);
  expect(signal.aborted).toBe(true);
  expect(signal.reason).toBeInstanceOf(DOMException);
  expect((signal.reason as DOMException).name).toBe('AbortError');
  expect(() => signal.throwIfAborted()).toThrow(signal.reason as DOMException);

  const given = new AbortSource();
  const reason = new Error('the client left');
  given.abort(reason);
  expect(given.signal.reason).toBe(reason);
});

test("Node's timers, addAbortListener and listener limits take it", async () => {
  const source = new AbortSource();
  const { signal } = source;
  setMaxListeners(2000, signal);
  expect(getMaxListeners(signal)).toBe(2000);
  const waiting = sleep(60_000, undefined, { signal });
  let heard = 0;
  addAbortListener(signal, () => heard++);
  source.abort();
  await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  expect(heard).toBe(1);
  // Already aborted: rejected at once.
  await expect(sleep(60_000, undefined, { signal })).rejects.toMatchObject({ name: 'AbortError' });
});

describe('undici, against a server that never answers', () => {
  let server: Server;
  let url: string;
  const closed: Array<Promise<void>> = [];
  beforeAll(async () => {
    server = createServer((req) => {
      closed.push(new Promise((resolve) => req.socket.on('close', () => resolve())));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('the call is aborted and its connection closed', async () => {
    const source = new AbortSource();
    const { signal } = source;
    const call = request(url, { method: 'POST', body: '{}', signal });
    while (closed.length === 0) await sleep(5);
    source.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    await closed[0];
  });
});

test("@whatwg-node's Request keeps it as the request's signal", () => {
  const { signal } = new AbortSource();
  const yoga = createYoga({ logging: false });
  const made = new yoga.fetchAPI.Request('http://127.0.0.1/graphql', { method: 'POST', body: '{}', signal });
  expect(made.signal).toBe(signal);
});

test('a linked child controller follows it, and stops listening when unlinked', () => {
  const parent = new AbortSource();
  const followed = linkedController(parent.signal);
  const unlinked = linkedController(parent.signal);
  unlinked.unlink();
  const reason = new Error('gone');
  parent.abort(reason);
  expect(followed.controller.signal.aborted).toBe(true);
  expect(followed.controller.signal.reason).toBe(reason);
  expect(unlinked.controller.signal.aborted).toBe(false);
  // A child of a parent that has already aborted starts aborted.
  expect(linkedController(parent.signal).controller.signal.reason).toBe(reason);
});
