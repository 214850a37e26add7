// Plain logs made together go upstream as one v2/log call (coalesceLogs), and each caller still
// gets exactly its own event's hash, its own error, its own abort. Against the real local service
// over HTTP (what was stored is read back with a search), and against scripted servers for the
// answers a real service does not give (a short result list, a failure, a slow answer).
import type { ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import {
  AcceptedResultUnavailableError,
  AuditAbortError,
  AuditApiError,
  AuditClient,
  InternalServerError,
  MalformedEnvelopeError,
  NonJsonBodyError,
  RateLimitedError,
  ValidationError,
} from '../../src/audit-client/index.js';
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

/** What the same event gets when it is logged on its own (a lone log goes as v1/log). */
async function aloneRefusal(target: TestService, event: Record<string, unknown>): Promise<ValidationError> {
  const alone = new AuditClient({ baseUrl: target.url, token: target.token, coalesceLogs: true });
  try {
    const err = await rejection(alone.log({ event }));
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  } finally {
    await alone.close();
  }
}

test('an event the service refuses fails alone with the field errors v1/log gives it; the others go again as one group, stored once each', async () => {
  service = await startTestService();
  const made = recordingClient(service.url, service.token);
  client = made.client;
  const good = Array.from({ length: 6 }, (_, i) => `refusal-good-${i}`);
  const bad = { message: 'refusal-bad', action: 'x'.repeat(33) };
  const outcomes = await Promise.allSettled([
    ...good.slice(0, 3).map((message) => client!.log({ event: { message } })),
    client.log({ event: bad }),
    ...good.slice(3).map((message) => client!.log({ event: { message } })),
  ]);
  const refused = outcomes[3]!;
  expect(refused.status).toBe('rejected');
  const err = (refused as PromiseRejectedResult).reason as ValidationError;
  expect(err).toBeInstanceOf(ValidationError);
  // The field is named from the event, as v1/log names it for the event alone.
  const alone = await aloneRefusal(service, bad);
  expect(alone.endpoint).toBe('v1/log');
  expect(err.errors).toEqual(alone.errors);
  expect(err.errors.map((e) => e.source)).toEqual(['/event/action']);
  expect(err.summary).toBe(alone.summary);
  expect(err.result).toEqual({ errors: alone.errors });
  // Named by the request that refused it, for support.
  expect(err.endpoint).toBe('v2/log');
  expect(err.requestId).toMatch(/^prq_/);
  expect(err.transient).toBe(false);
  const hashes = outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<{ result: { hash: string } }>).value.result.hash);
  expect(hashes).toHaveLength(6);
  // The group was refused as a whole (nothing stored), then the six valid events went again together.
  expect(made.calls).toEqual(['v2/log', 'v2/log']);
  const stored = await storedEvents(service, 'refusal');
  expect(stored.map((e) => e.envelope.event.message).sort()).toEqual([...good].sort());
  expect(stored.map((e) => hashEnvelope(e.envelope)).sort()).toEqual([...hashes].sort());
});

test('100 logs with two faulty events cost two upstream calls: each faulty caller gets only its own field errors', async () => {
  service = await startTestService();
  const made = recordingClient(service.url, service.token);
  client = made.client;
  const events: Array<Record<string, unknown>> = Array.from({ length: 100 }, (_, i) => ({ message: `amp-${i}`, actor: `actor-${i}` }));
  // One fault in one, two in the other: a required field missing, then a value too long and a field the schema lacks.
  events[17] = { actor: 'amp-bad-17' };
  events[50] = { message: 'amp-bad-50', action: 'y'.repeat(40), amp_secret_of_50: 'kept-to-50' };
  const outcomes = await Promise.allSettled(events.map((event) => client!.log({ event })));
  expect(made.calls).toEqual(['v2/log', 'v2/log']);
  expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(98);
  for (const index of [17, 50]) {
    const err = (outcomes[index] as PromiseRejectedResult).reason as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    const alone = await aloneRefusal(service, events[index]!);
    expect(err.errors).toEqual(alone.errors);
    expect(err.errors.every((e) => e.source.startsWith('/event/'))).toBe(true);
    // Nothing about the other faulty event reaches this caller.
    const other = index === 17 ? /amp-bad-50|amp_secret_of_50|action/ : /amp-bad-17|'message' is required/;
    expect(inspect(err, { depth: 10 })).not.toMatch(other);
  }
  expect(((outcomes[50] as PromiseRejectedResult).reason as ValidationError).errors.map((e) => e.source).sort()).toEqual(['/event/action', '/event/amp_secret_of_50']);
  const stored = await storedEvents(service, 'amp');
  expect(stored).toHaveLength(98);
  expect(new Set(stored.map((e) => e.envelope.event.message)).size).toBe(98);
});

test('a refusal that does not point into one event sends each event again on its own', async () => {
  server = await startHttp((req, res) => {
    if (req.url === '/v2/log') {
      sendJson(res, 400, envelope('ValidationError', 'bad request', { errors: [{ code: 'BadFormat', detail: 'the batch is bad', source: '/config_id' }] }));
      return;
    }
    sendJson(res, 200, envelope('Success', 'logged', { hash: 'c'.repeat(64) }));
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, coalesceLogs: true });
  const answers = await Promise.all([1, 2, 3].map((i) => client!.log({ event: { message: `unattributed-${i}` } })));
  expect(answers.map((a) => a.result)).toEqual(Array(3).fill({ hash: 'c'.repeat(64) }));
  expect(server.requests.map((r) => r.url)).toEqual(['/v2/log', '/v1/log', '/v1/log', '/v1/log']);
});

test('a service that names one faulty event per refusal gets a bounded number of group rounds, then single calls', async () => {
  // Refuses every v2/log for its first event only, with a summary that quotes the whole batch.
  server = await startHttp((req, res) => {
    const body = JSON.parse(req.body) as { events?: Array<{ event: { message: string } }> };
    if (body.events) {
      const quoted = body.events.map((e) => e.event.message).join(', ');
      sendJson(res, 400, envelope('ValidationError', `refused: ${quoted}`, { errors: [{ code: 'BadFormat', detail: 'not this one', source: '/events/0/event/message' }] }));
      return;
    }
    sendJson(res, 200, envelope('Success', 'logged', { hash: 'd'.repeat(64) }));
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, coalesceLogs: true });
  const outcomes = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((i) => client!.log({ event: { message: `round-${i}` } })));
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  expect(server.requests.map((r) => r.url)).toEqual(['/v2/log', '/v2/log', '/v2/log', '/v1/log', '/v1/log', '/v1/log']);
  outcomes.slice(0, 3).forEach((outcome, i) => {
    const err = (outcome as PromiseRejectedResult).reason as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.errors).toEqual([{ code: 'BadFormat', detail: 'not this one', source: '/event/message' }]);
    expect(err.summary).toBe('not this one');
    // The group's summary named every event of the batch: none of the others reaches this caller.
    expect(inspect(err, { depth: 10 })).not.toMatch(new RegExp(`round-(?!${i}\\b)\\d`));
    expectNoToken(err);
  });
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

/** A v2/log or v1/log answer that quotes the events it was sent, as an upstream's error text may. */
function quotingServer(answer: (res: ServerResponse, quoted: string) => void): Promise<TestServer> {
  return startHttp((req, res) => {
    const body = JSON.parse(req.body) as { events?: Array<{ event: unknown }>; event?: unknown };
    answer(res, JSON.stringify(body.events ? body.events.map((e) => e.event) : body.event));
  });
}

const QUOTING_FAILURES: Array<[string, (res: ServerResponse, quoted: string) => void, (err: unknown) => void]> = [
  [
    'a 500 whose summary and result quote the batch',
    (res, quoted) => sendJson(res, 500, envelope('InternalError', `could not store ${quoted}`, { events: quoted }, 'prq_quoting500')),
    (err) => {
      expect(err).toBeInstanceOf(InternalServerError);
      const e = err as InternalServerError;
      expect([e.status, e.httpStatus, e.requestId, e.endpoint, e.transient, e.result]).toEqual(['InternalError', 500, 'prq_quoting500', 'v2/log', true, null]);
      expect(e.summary).toBe('the batch holding this event failed with InternalError');
    },
  ],
  [
    'a 429 whose summary quotes the batch',
    (res, quoted) => sendJson(res, 429, envelope('TooManyRequests', `slow down with ${quoted}`, null, 'prq_quoting429'), { 'retry-after': '7' }),
    (err) => {
      expect(err).toBeInstanceOf(RateLimitedError);
      const e = err as RateLimitedError;
      expect([e.status, e.httpStatus, e.requestId, e.transient, e.retryAfterMs]).toEqual(['TooManyRequests', 429, 'prq_quoting429', true, 7000]);
    },
  ],
  [
    'a 400 of a status the client has no class for',
    (res, quoted) => sendJson(res, 400, envelope('SomethingNew', `cannot take ${quoted}`, null, 'prq_quotingnew')),
    (err) => {
      expect((err as Error).constructor).toBe(AuditApiError);
      const e = err as AuditApiError;
      expect([e.status, e.httpStatus, e.requestId, e.transient]).toEqual(['SomethingNew', 400, 'prq_quotingnew', false]);
    },
  ],
  [
    'a 502 page from a proxy that echoes the batch',
    (res, quoted) => {
      const page = `${quoted}<html>bad gateway</html>`;
      res.writeHead(502, { 'content-type': 'text/html', 'x-request-id': 'prq_quoting502' });
      res.end(page);
    },
    (err) => {
      expect(err).toBeInstanceOf(NonJsonBodyError);
      const e = err as NonJsonBodyError;
      expect([e.httpStatus, e.requestId, e.code, e.neverReachedServer, e.transient, e.contentType, e.bodyExcerpt]).toEqual([502, 'prq_quoting502', 'NON_JSON_BODY', false, true, 'text/html', '']);
    },
  ],
];

test.each(QUOTING_FAILURES)('a failed group whose upstream answer quotes its events (%s): no member sees another member’s event, nothing is retried', async (_what, answer, check) => {
  server = await quotingServer(answer);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, coalesceLogs: true });
  // Callers of two tenants in one group.
  const events = [0, 1, 2, 3].map((i) => ({ message: `quoted-${i}-${i % 2 ? 'tenant B harmless' : 'tenant A salary 250000'}`, tenant_id: i % 2 ? 'tenant-b' : 'tenant-a' }));
  const outcomes = await Promise.allSettled(events.map((event) => client!.log({ event })));
  expect(server.requests.map((r) => r.url)).toEqual(['/v2/log']);
  outcomes.forEach((outcome, i) => {
    expect(outcome.status).toBe('rejected');
    const err = (outcome as PromiseRejectedResult).reason as Error;
    const shown = `${inspect(err, { depth: 10, showHidden: true })} ${JSON.stringify(err)} ${err.stack}`;
    for (const [j, event] of events.entries()) if (j !== i) expect(shown).not.toContain(event.message);
    expect(shown).not.toMatch(/tenant-[ab]/);
    // Still the class and facts a caller handles the failure by.
    check(err);
    expectNoToken(err);
  });
});

test('a group accepted with a 202 whose poll fails with words quoting the batch: each member gets the accepted request, not the others’ events', async () => {
  let batch = '';
  server = await startHttp((req, res) => {
    if (req.url === '/v2/log') {
      batch = JSON.stringify((JSON.parse(req.body) as { events: unknown[] }).events);
      sendJson(res, 202, envelope('Accepted', 'accepted', { ttl_mins: 5, retry_counter: 0, location: '/request/prq_acceptedbatch' }, 'prq_acceptedbatch'));
      return;
    }
    sendJson(res, 500, envelope('InternalError', `the job storing ${batch} failed`, null, 'prq_acceptedbatch'));
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, coalesceLogs: true, polling: { initialDelayMs: 5, maxDelayMs: 5 } });
  const messages = [0, 1, 2].map((i) => `accepted-${i}-of-caller-${i}`);
  const outcomes = await Promise.allSettled(messages.map((message) => client!.log({ event: { message } })));
  // Only polls after the batch (a poll is a read, retried on a 500): no event is sent again.
  expect(server.requests.map((r) => r.url).filter((url) => url !== '/request/prq_acceptedbatch')).toEqual(['/v2/log']);
  outcomes.forEach((outcome, i) => {
    const err = (outcome as PromiseRejectedResult).reason as AcceptedResultUnavailableError;
    const shown = `${inspect(err, { depth: 10, showHidden: true })} ${err.stack} ${(err.cause as Error).stack}`;
    for (const [j, message] of messages.entries()) if (j !== i) expect(shown).not.toContain(message);
    expect(err).toBeInstanceOf(AcceptedResultUnavailableError);
    expect([err.requestId, err.location, err.transient]).toEqual(['prq_acceptedbatch', '/request/prq_acceptedbatch', true]);
    expect(err.message).toMatch(/^v2\/log: request prq_acceptedbatch was accepted, but its result could not be read/);
    expect(err.cause).toBeInstanceOf(InternalServerError);
    expect([(err.cause as InternalServerError).status, (err.cause as InternalServerError).httpStatus]).toEqual(['InternalError', 500]);
    expectNoToken(err);
  });
});

test('a lone log keeps the upstream’s own words: only its own event is in them', async () => {
  server = await quotingServer((res, quoted) => sendJson(res, 500, envelope('InternalError', `could not store ${quoted}`, null)));
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, coalesceLogs: true });
  const err = (await rejection(client.log({ event: { message: 'lone-quoted' } }))) as InternalServerError;
  expect(err).toBeInstanceOf(InternalServerError);
  expect(err.summary).toBe('could not store {"message":"lone-quoted"}');
  expect(server.requests.map((r) => r.url)).toEqual(['/v1/log']);
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
