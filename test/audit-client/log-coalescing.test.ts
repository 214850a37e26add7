// Plain logs made together go upstream as one v2/log call (coalesceLogs), and each caller still
// gets exactly its own event's hash, its own error, its own abort. Against the real local service
// over HTTP (what was stored is read back with a search), and against scripted servers for the
// answers a real service does not give (a short result list, a failure, a slow answer).
import { AuditAbortError, AuditClient, InternalServerError, MalformedEnvelopeError, ValidationError } from '../../src/audit-client/index.js';
import { hashEnvelope } from '../../src/merkle/index.js';
import type { SearchResult } from '../../src/wire/index.js';
import { startTestService, type TestService } from '../support/local-audit.js';
import { envelope, expectNoToken, rejection, sendJson, startHttp, TOKEN, type TestServer } from './support/servers.js';

let service: TestService | undefined;
let server: TestServer | undefined;
let client: AuditClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  await service?.destroy();
  client = server = service = undefined;
});

function recordingClient(baseUrl: string, token: string, extra: Partial<ConstructorParameters<typeof AuditClient>[0]> = {}) {
  const calls: string[] = [];
  const made = new AuditClient({ baseUrl, token, coalesceLogs: true, onCall: (endpoint) => calls.push(endpoint), ...extra });
  return { client: made, calls };
}

async function storedEvents(target: TestService, query: string): Promise<SearchResult['events']> {
  const answer = await target.post<SearchResult>('v1/search', { query, max_results: 1000, limit: 1000, order: 'asc' });
  expect(answer.status).toBe('Success');
  return answer.result.events;
}

test('plain logs made together share v2/log calls, and each caller gets the hash of its own stored event', async () => {
  service = await startTestService();
  const made = recordingClient(service.url, service.token);
  client = made.client;
  const messages = Array.from({ length: 40 }, (_, i) => `together-${i}`);
  const answers = await Promise.all(messages.map((message) => client!.log({ event: { message, actor: `actor-${message}` } })));
  expect(made.calls.filter((endpoint) => endpoint === 'v1/log')).toHaveLength(0);
  expect(made.calls.filter((endpoint) => endpoint === 'v2/log').length).toBeGreaterThanOrEqual(1);
  expect(made.calls.length).toBeLessThan(messages.length);
  const stored = await storedEvents(service, 'together');
  expect(stored).toHaveLength(messages.length);
  const hashOf = new Map(stored.map((event) => [event.envelope.event.message, hashEnvelope(event.envelope)]));
  messages.forEach((message, i) => {
    expect(answers[i]!.status).toBe('Success');
    expect(answers[i]!.result).toEqual({ hash: hashOf.get(message) });
  });
});

test('a lone log, a verbose log and a log with prev_root each go as v1/log with their full answer', async () => {
  service = await startTestService();
  const made = recordingClient(service.url, service.token);
  client = made.client;
  const alone = await client.log({ event: { message: 'alone' } });
  expect(alone.result).toEqual({ hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(made.calls).toEqual(['v1/log']);
  const [verbose, chained] = await Promise.all([
    client.log({ event: { message: 'verbose' }, verbose: true }),
    client.log({ event: { message: 'chained' }, verbose: true, prev_root: alone.result.hash }),
  ]);
  expect(made.calls).toEqual(['v1/log', 'v1/log', 'v1/log']);
  expect(verbose.result.membership_proof).toEqual(expect.any(String));
  expect(verbose.result.unpublished_root).toEqual(expect.any(String));
  expect(chained.result.envelope?.event.message).toBe('chained');
});

test('an event the service refuses fails alone: the others are stored once each', async () => {
  service = await startTestService();
  const made = recordingClient(service.url, service.token);
  client = made.client;
  const good = Array.from({ length: 6 }, (_, i) => `refusal-good-${i}`);
  const outcomes = await Promise.allSettled([
    ...good.slice(0, 3).map((message) => client!.log({ event: { message } })),
    client.log({ event: { message: 'refusal-bad', action: 'x'.repeat(33) } }),
    ...good.slice(3).map((message) => client!.log({ event: { message } })),
  ]);
  const refused = outcomes[3]!;
  expect(refused.status).toBe('rejected');
  const err = (refused as PromiseRejectedResult).reason as ValidationError;
  expect(err).toBeInstanceOf(ValidationError);
  // Its error is the one v1/log gives for it alone: the field is named from the event.
  expect(err.endpoint).toBe('v1/log');
  expect(err.errors.map((e) => e.source)).toEqual(['/event/action']);
  const hashes = outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<{ result: { hash: string } }>).value.result.hash);
  expect(hashes).toHaveLength(6);
  // The group was refused as a whole, then each event went on its own.
  expect(made.calls[0]).toBe('v2/log');
  expect(made.calls.slice(1).sort()).toEqual(Array(7).fill('v1/log'));
  const stored = await storedEvents(service, 'refusal');
  expect(stored.map((e) => e.envelope.event.message).sort()).toEqual([...good].sort());
  expect(stored.map((e) => hashEnvelope(e.envelope)).sort()).toEqual([...hashes].sort());
});

test('an event the client cannot send fails alone, before anything is sent for it', async () => {
  service = await startTestService();
  const made = recordingClient(service.url, service.token);
  client = made.client;
  const outcomes = await Promise.allSettled([
    client.log({ event: { message: 'unsendable-ok-1' } }),
    client.log({ event: { message: 'unsendable', count: Number.NaN } }),
    client.log({ event: { message: 'unsendable-ok-2' } }),
  ]);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/event field 'count' has a value JSON cannot carry/);
  expect(made.calls).toEqual(['v2/log']);
  expect((await storedEvents(service, 'unsendable')).map((e) => e.envelope.event.message).sort()).toEqual(['unsendable-ok-1', 'unsendable-ok-2']);
});

test('groups keep to the event and size bounds of the policy', async () => {
  service = await startTestService();
  const made = recordingClient(service.url, service.token, { coalesceLogs: { maxEvents: 10, maxChars: 4000 } });
  client = made.client;
  await Promise.all(Array.from({ length: 25 }, (_, i) => client!.log({ event: { message: `bounded-${i}` } })));
  expect(made.calls).toEqual(['v2/log', 'v2/log', 'v2/log']);
  made.calls.length = 0;
  // About 1,080 characters each: three fit under 4,000.
  await Promise.all(Array.from({ length: 8 }, (_, i) => client!.log({ event: { message: `sized-${i}-${'s'.repeat(1000)}` } })));
  expect(made.calls).toEqual(['v2/log', 'v2/log', 'v2/log']);
  expect(await storedEvents(service, 'bounded')).toHaveLength(25);
  expect(await storedEvents(service, 'sized')).toHaveLength(8);
});

test('a group answered with fewer results than events: every member is told its outcome is unknown', async () => {
  server = await startHttp((req, res) => {
    const events = (JSON.parse(req.body) as { events: unknown[] }).events;
    sendJson(res, 200, envelope('Success', 'logged', { results: events.slice(1).map(() => ({ hash: 'a'.repeat(64) })) }));
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, coalesceLogs: true });
  const outcomes = await Promise.allSettled([1, 2, 3].map((i) => client!.log({ event: { message: `short-${i}` } })));
  for (const outcome of outcomes) {
    expect(outcome.status).toBe('rejected');
    const err = (outcome as PromiseRejectedResult).reason as MalformedEnvelopeError;
    expect(err).toBeInstanceOf(MalformedEnvelopeError);
    expect(err.message).toMatch(/v2\/log answered 2 results for 3 events: whether this event was stored is unknown/);
    expect(err.transient).toBe(false);
    expectNoToken(err);
  }
  expect(server.requests.map((r) => r.url)).toEqual(['/v2/log']);
});

test('a group answered with a hash that is not one fails that member only', async () => {
  server = await startHttp((req, res) => {
    const events = (JSON.parse(req.body) as { events: unknown[] }).events;
    sendJson(res, 200, envelope('Success', 'logged', { results: events.map((_, i) => ({ hash: i === 1 ? 'not-a-hash' : `${i}`.repeat(64) })) }));
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, coalesceLogs: true });
  const outcomes = await Promise.allSettled([0, 1, 2].map((i) => client!.log({ event: { message: `hash-${i}` } })));
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((outcomes[0] as PromiseFulfilledResult<{ result: unknown }>).value.result).toEqual({ hash: '0'.repeat(64) });
  expect((outcomes[2] as PromiseFulfilledResult<{ result: unknown }>).value.result).toEqual({ hash: '2'.repeat(64) });
  expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/event 1 has no valid hash/);
});

test('a failed group is every member’s failure, and a write is not retried', async () => {
  server = await startHttp((_req, res) => sendJson(res, 500, envelope('InternalError', 'boom', null)));
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, coalesceLogs: true });
  const outcomes = await Promise.allSettled([1, 2, 3, 4].map((i) => client!.log({ event: { message: `failed-${i}` } })));
  for (const outcome of outcomes) {
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(InternalServerError);
    expectNoToken((outcome as PromiseRejectedResult).reason);
  }
  expect(server.requests).toHaveLength(1);
});

test('a caller that aborts while its group is in flight is answered at once; the others get their hashes', async () => {
  const controller = new AbortController();
  let answer!: () => void;
  const order: string[] = [];
  server = await startHttp((req, res) => {
    const events = (JSON.parse(req.body) as { events: Array<{ event: { message: string } }> }).events;
    order.push(`received ${events.length}`);
    // Answered only after the abort has been delivered.
    answer = () => sendJson(res, 200, envelope('Success', 'logged', { results: events.map((e) => ({ hash: e.event.message.at(-1)!.repeat(64) })) }));
    controller.abort(new Error(`gone, says a caller holding ${TOKEN}`));
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, coalesceLogs: true });
  const kept = [client.log({ event: { message: 'kept-a' } }), client.log({ event: { message: 'kept-b' } })];
  const leaving = client.log({ event: { message: 'leaving-c' } }, { signal: controller.signal });
  const err = await rejection(leaving);
  order.push('aborted');
  expect(err).toBeInstanceOf(AuditAbortError);
  expectNoToken(err);
  answer();
  const answers = await Promise.all(kept);
  expect(answers.map((a) => a.result)).toEqual([{ hash: 'a'.repeat(64) }, { hash: 'b'.repeat(64) }]);
  expect(order).toEqual(['received 3', 'aborted']);
});

test('a caller that aborts before its group leaves is not sent at all', async () => {
  service = await startTestService();
  const made = recordingClient(service.url, service.token);
  client = made.client;
  const controller = new AbortController();
  const kept = [client.log({ event: { message: 'queued-kept-1' } }), client.log({ event: { message: 'queued-kept-2' } })];
  const leaving = client.log({ event: { message: 'queued-leaving' } }, { signal: controller.signal });
  controller.abort();
  expect(await rejection(leaving)).toBeInstanceOf(AuditAbortError);
  await Promise.all(kept);
  expect(made.calls).toEqual(['v2/log']);
  expect((await storedEvents(service, 'queued')).map((e) => e.envelope.event.message).sort()).toEqual(['queued-kept-1', 'queued-kept-2']);
});

test('a policy outside what v2/log takes is refused when the client is made', () => {
  for (const coalesceLogs of [{ maxEvents: 0 }, { maxEvents: 1001 }, { maxEvents: 2.5 }, { maxChars: 0 }, { maxChars: Number.NaN }]) {
    expect(() => new AuditClient({ baseUrl: 'http://127.0.0.1:1', token: TOKEN, coalesceLogs })).toThrow(/coalesceLogs\.max(Events|Chars) must be/);
  }
});

test('without coalesceLogs every log is its own v1/log', async () => {
  service = await startTestService();
  const made = recordingClient(service.url, service.token, { coalesceLogs: false });
  client = made.client;
  await Promise.all([1, 2, 3].map((i) => client!.log({ event: { message: `single-${i}` } })));
  expect(made.calls).toEqual(['v1/log', 'v1/log', 'v1/log']);
});
