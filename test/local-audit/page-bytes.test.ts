// A page of v1/search or v1/results is written whole into memory: one whose events pass the byte
// budget (MAX_PAGE_EVENT_BYTES, 32 MiB) is refused with a ValidationError pointing at `limit`,
// never cut short (clients page on by the limit they asked for, so a short page would skip
// events) and never a 500 (which the vendor SDK retries). Over real HTTP, and with the vendor SDK.
import { AuditService, PangeaConfig, PangeaErrors } from 'pangea-node-sdk';
import { MAX_PAGE_EVENT_BYTES } from '../../src/local-audit/result-json.js';
import { installArweaveStub, type ArweaveStub } from '../support/arweave-stub.js';
import { startTestService, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

// Three standard fields of the longest allowed length, of a control character that JSON escapes
// as six bytes: about 590 kB of envelope per event, so 60 events pass 32 MiB and 20 do not.
const FIELD = '\u0001'.repeat(32766);
const EVENTS = 60;

let svc: TestService;
let arweave: ArweaveStub;

function sdk(): AuditService {
  return new AuditService(svc.token, new PangeaConfig({ baseUrlTemplate: svc.url, requestRetries: 0 }));
}

beforeAll(async () => {
  arweave = installArweaveStub();
  svc = await startTestService();
  for (let i = 0; i < EVENTS; i += 15) {
    const r = await svc.post('v2/log', { events: Array.from({ length: 15 }, (_, k) => ({ event: { message: FIELD, old: FIELD, new: FIELD, actor: `big-${i + k}` } })) });
    expect(r.status).toBe('Success');
  }
  svc.publishNow();
});

afterAll(async () => {
  arweave.restore();
  await svc.destroy();
});

function expectPageRefused(r: { http: number; status: string; result: Json }): void {
  expect({ http: r.http, status: r.status }).toEqual({ http: 400, status: 'ValidationError' });
  expect(r.result.errors).toHaveLength(1);
  expect(r.result.errors[0]).toMatchObject({ code: 'AboveMaximum', source: '/limit' });
  expect(r.result.errors[0].detail).toMatch(/smaller 'limit'/);
}

test('the fixture makes a 60-event page larger than the budget and a 20-event page smaller', () => {
  const perEvent = 3 * 32766 * 6;
  expect(perEvent * EVENTS).toBeGreaterThan(MAX_PAGE_EVENT_BYTES);
  expect(perEvent * 20 + 20 * 4096).toBeLessThan(MAX_PAGE_EVENT_BYTES);
});

test('v1/search refuses a first page too large to answer with a ValidationError on limit, verbose or not', async () => {
  expectPageRefused(await svc.post<Json>('v1/search', { query: '', limit: EVENTS }));
  expectPageRefused(await svc.post<Json>('v1/search', { query: '', limit: EVENTS, verbose: false }));
});

test('v1/results refuses such a page, and paging by a limit that fits reaches every event once', async () => {
  const first = await svc.post<Json>('v1/search', { query: 'actor:big-', limit: 20, order: 'asc' });
  expect(first.http).toBe(200);
  expect(first.result.count).toBe(EVENTS);
  expect(first.result.events).toHaveLength(20);
  expectPageRefused(await svc.post<Json>('v1/results', { id: first.result.id, offset: 0, limit: EVENTS }));
  expectPageRefused(await svc.post<Json>('v1/results', { id: first.result.id, offset: 1, limit: 59 }));
  const actors: string[] = first.result.events.map((e: Json) => e.envelope.event.actor);
  for (let offset = 20; offset < EVENTS; offset += 20) {
    const page = await svc.post<Json>('v1/results', { id: first.result.id, offset, limit: 20 });
    expect(page.http).toBe(200);
    expect(page.result.events).toHaveLength(20);
    actors.push(...page.result.events.map((e: Json) => e.envelope.event.actor));
  }
  expect(actors).toEqual(Array.from({ length: EVENTS }, (_, i) => `big-${i}`));
  // One event at a time always gets through.
  const one = await svc.post<Json>('v1/results', { id: first.result.id, offset: EVENTS - 1, limit: 1 });
  expect(one.http).toBe(200);
  expect(one.result.events[0].envelope.event.message).toBe(FIELD);
});

test('the vendor SDK gets a ValidationError (no retry of a 500) and pages with a smaller limit', async () => {
  const audit = sdk();
  const refused = await audit.search('', { limit: EVENTS }, {}).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(refused).toBeInstanceOf(PangeaErrors.ValidationError);
  expect((refused as InstanceType<typeof PangeaErrors.ValidationError>).pangeaResponse.status).toBe('ValidationError');

  const found = await audit.search('actor:big-', { limit: 20, order: 'asc' }, { verifyConsistency: true });
  expect(found.result.count).toBe(EVENTS);
  const next = await audit.results(found.result.id, 20, 20, { verifyConsistency: true });
  expect(next.result.events).toHaveLength(20);
  expect(next.result.events.every((e) => e.membership_verification === 'pass')).toBe(true);
  await expect(audit.results(found.result.id, EVENTS, 0)).rejects.toBeInstanceOf(PangeaErrors.ValidationError);
});
