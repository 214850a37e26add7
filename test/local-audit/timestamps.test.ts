// Datetime fields have one rule (src/local-audit/core/timestamp.ts): a value is accepted exactly
// when it normalises to the fixed-width UTC form the store searches and sorts by. A value accepted
// but not normalisable would be stored raw and sort out of time order ("2024-05-01 10:00:00Z",
// with a space, sorts before every "2024-05-01T…" value).
import { STANDARD_SCHEMA, validateEvent } from '../../src/local-audit/audit-schema.js';
import type { FieldError } from '../../src/local-audit/core/errors.js';
import { startTestService, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(async () => {
  await svc.destroy();
});

function problems(timestamp: string): FieldError[] {
  const errors: FieldError[] = [];
  validateEvent(STANDARD_SCHEMA, { message: 'm', timestamp }, '/event', errors);
  return errors;
}

test.each(['2024-05-01 10:00:00Z', '2024-02-30T00:00:00Z', '2024-05-01T24:00:00Z', '2024-05-01T10:00:60Z', '2024-05-01T10:00'])(
  'validateEvent refuses %j, which has no normalised form',
  (timestamp) => {
    expect(problems(timestamp)).toEqual([{ code: 'BadFormat', detail: "'timestamp' must be an RFC 3339 date-time", source: '/event/timestamp' }]);
  },
);

// Without an offset: UTC (the vendor's Python SDK sends naive UTC times).
test.each(['2024-05-01T10:00:00Z', '2024-05-01t10:00:00z', '2024-05-01T12:00:00.123456789+02:00', '2024-05-01T10:00:00', '2026-12-04T13:13:46.054917'])('validateEvent accepts %j', (timestamp) => {
  expect(problems(timestamp)).toEqual([]);
});

test('v1/log refuses a space-separated timestamp with a ValidationError, and stores nothing', async () => {
  const before = svc.log.size;
  const r = await svc.post<Json>('v1/log', { event: { message: 'space', timestamp: '2024-05-01 10:00:00Z' } });
  expect(r.http).toBe(400);
  expect(r.status).toBe('ValidationError');
  expect(r.result.errors).toEqual([{ code: 'BadFormat', detail: "'timestamp' must be an RFC 3339 date-time", source: '/event/timestamp' }]);
  const bulk = await svc.post<Json>('v2/log', { events: [{ event: { message: 'ok' } }, { event: { message: 'space', timestamp: '2024-05-01 10:00:00Z' } }] });
  expect(bulk.status).toBe('ValidationError');
  expect(bulk.result.errors.map((e: Json) => e.source)).toEqual(['/events/1/event/timestamp']);
  expect(svc.log.size).toBe(before);
});

test('accepted timestamps in any offset, separator case and precision sort and compare in time order', async () => {
  const events = [
    { message: 'ts-order c', actor: 'ts-order', timestamp: '2024-05-01T11:00:00.5Z' },
    { message: 'ts-order b', actor: 'ts-order', timestamp: '2024-05-01t12:00:00+02:00' }, // 10:00Z
    { message: 'ts-order a', actor: 'ts-order', timestamp: '2024-05-01T09:00:00.999999999Z' },
  ];
  const logged = await svc.post<Json>('v2/log', { events: events.map((event) => ({ event })) });
  expect(logged.status).toBe('Success');
  const search = async (query: string): Promise<string[]> => {
    const r = await svc.post<Json>('v1/search', { query, order_by: 'timestamp', order: 'asc', limit: 10 });
    expect(r.status).toBe('Success');
    return r.result.events.map((e: Json) => e.envelope.event.message as string);
  };
  expect(await search('actor:ts-order')).toEqual(['ts-order a', 'ts-order b', 'ts-order c']);
  expect(await search('actor:ts-order timestamp>2024-05-01T09:30:00Z timestamp<2024-05-01T10:30:00Z')).toEqual(['ts-order b']);
  // The envelope keeps the value exactly as sent (it is what the hash covers).
  const page = await svc.post<Json>('v1/search', { query: 'message:"ts-order b"', limit: 1 });
  expect(page.result.events[0].envelope.event.timestamp).toBe('2024-05-01t12:00:00+02:00');
});
