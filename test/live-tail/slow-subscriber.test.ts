// A subscriber that stops reading is bounded: once more than MAX_QUEUED events wait for it, its
// stream ends with SlowSubscriberError (resume with after:), while another subscriber of the same
// watcher keeps receiving every event. Against the real local audit service.
import { AuditClient } from '../../src/audit-client/index.js';
import { LiveTailHub, MAX_QUEUED, SlowSubscriberError, type TailItem } from '../../src/graphql/live-tail/hub.js';
import { startTestService, type TestService } from '../support/local-audit.js';

let service: TestService;
let client: AuditClient;

beforeAll(async () => {
  service = await startTestService();
  client = new AuditClient({ baseUrl: service.url, token: service.token });
});
afterAll(async () => {
  await client.close();
  await service.destroy();
});

test(`a subscriber with more than ${MAX_QUEUED} events waiting is ended; the one that reads gets them all`, async () => {
  const hub = new LiveTailHub(client);
  const abort = new AbortController();
  const request = { key: 'slow-test', query: 'actor:slow', intervalMs: 50 };
  const slow = hub.subscribe(request, abort.signal);
  const reader = hub.subscribe(request, abort.signal);
  // Both join the shared watcher on their first pull; the slow one then never pulls again.
  const slowFirst = slow.next();
  const received: TailItem[] = [];
  const reading = (async () => {
    for await (const item of reader) {
      received.push(item);
      if (received.length === MAX_QUEUED + 1000) return;
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  expect(hub.watchers).toBe(1);
  expect(hub.subscribers).toBe(2);

  for (let i = 0; i < MAX_QUEUED + 1000; i += 1000) {
    await client.logBulk({ events: Array.from({ length: 1000 }, (_, j) => ({ event: { message: `slow ${i + j}`, actor: 'slow' } })) });
  }
  await reading;
  expect(received).toHaveLength(MAX_QUEUED + 1000);
  expect(new Set(received.map((r) => r.event.hash)).size).toBe(MAX_QUEUED + 1000);

  // The slow subscriber's first pull got an event; its next pull finds the overflow.
  expect((await slowFirst).done).toBe(false);
  await expect(slow.next()).rejects.toBeInstanceOf(SlowSubscriberError);
  expect(hub.subscribers).toBe(0);
  expect(hub.watchers).toBe(0);
  abort.abort();
}, 60_000);
