// A search with no terms and no restriction, ordered by received_at, is answered from two lookups
// on the received_at index (store/time-range-leaves.ts) instead of a scan on a search thread. Its
// answers must be exactly those of the scan: checked over REST against the same time ranges asked
// with a query that every event matches (which the search threads answer), for both orders, many
// max_results, bounds on, between and outside the events' own times, and events logged after the
// search (outside its snapshot).
import fc from 'fast-check';
import { startTestService, type TestService } from '../support/local-audit.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let svc: TestService;
/** received_at of every event, by leaf index. */
let times: string[] = [];

beforeAll(async () => {
  svc = await startTestService();
  // Several requests, so the events carry many distinct arrival times (a batch shares its turn).
  for (let batch = 0; batch < 12; batch++) {
    const events = Array.from({ length: 1 + (batch % 4) * 9 }, (_, i) => ({ event: { message: `range ${batch}.${i}`, action: 'ranged', actor: `a${i % 3}` } }));
    const r = await svc.post<Json>('v2/log', { events });
    expect(r.status).toBe('Success');
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  // Published, so every page names each event's leaf index.
  svc.log.publish();
  const all = await svc.post<Json>('v1/search', { query: 'action:ranged', order: 'asc', limit: 1000, verbose: true });
  times = all.result.events.map((e: Json) => e.envelope.received_at);
  expect(all.result.events.map((e: Json) => e.leaf_index)).toEqual(times.map((_, i) => i));
}, 30_000);

afterAll(async () => {
  await svc?.destroy();
});

/** Every event of a search's result set, in order: leaf indexes, paged through v1/results. */
async function resultLeaves(request: Record<string, unknown>): Promise<{ count: number; leaves: number[] }> {
  const first = await svc.post<Json>('v1/search', { ...request, limit: 25, verbose: true });
  expect(first.status).toBe('Success');
  const leaves: number[] = first.result.events.map((e: Json) => e.leaf_index);
  while (leaves.length < first.result.count) {
    const page = await svc.post<Json>('v1/results', { id: first.result.id, offset: leaves.length, limit: 25 });
    expect(page.status).toBe('Success');
    leaves.push(...page.result.events.map((e: Json) => e.leaf_index));
  }
  return { count: first.result.count, leaves };
}

/** A received_at bound: an event's own time, one just before or after it, or one outside them all. */
const bound = (): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant('2000-01-01T00:00:00.000000Z'),
    fc.constant('2999-01-01T00:00:00.000000Z'),
    fc.nat().map((n) => times[n % times.length]!),
    fc.tuple(fc.nat(), fc.boolean()).map(([n, up]) => {
      const t = times[n % times.length]!;
      // One microsecond off: the last digit before the Z moves by one (none of these end in 0 or 9
      // after the change, so no carry is needed; such times are skipped).
      const last = Number(t[t.length - 2]);
      if ((up && last === 9) || (!up && last === 0)) return t;
      return `${t.slice(0, -2)}${last + (up ? 1 : -1)}Z`;
    }),
  );

test('a plain time range answers exactly what the search threads find for the same range', async () => {
  await fc.assert(
    fc.asyncProperty(bound(), bound(), fc.constantFrom('asc', 'desc'), fc.integer({ min: 1, max: times.length + 5 }), async (start, end, order, maxResults) => {
      const range = { ...(start ? { start } : {}), ...(end ? { end } : {}), order, max_results: maxResults };
      if (start && end && start > end) {
        // Refused by both (the bounds here are all in the stored form, compared as text).
        for (const query of ['', 'action:ranged']) {
          const refused = await svc.post<Json>('v1/search', { query, ...range });
          expect([refused.status, refused.result.errors[0].source]).toEqual(['ValidationError', '/start']);
        }
        return;
      }
      const plain = await resultLeaves({ query: '', ...range });
      const scanned = await resultLeaves({ query: 'action:ranged', ...range });
      expect(plain).toEqual(scanned);
    }),
    { numRuns: 60 },
  );
}, 60_000);

test("events logged after a search are outside its result set, as they are outside the scan's", async () => {
  const start = times[Math.floor(times.length / 2)]!;
  const before = await svc.post<Json>('v1/search', { query: '', start, order: 'asc', limit: 1000 });
  await svc.post<Json>('v1/log', { event: { message: 'later', action: 'ranged' } });
  svc.log.publish();
  const again = await svc.post<Json>('v1/results', { id: before.result.id, limit: 1000 });
  expect(again.result.count).toBe(before.result.count);
  expect(again.result.events.map((e: Json) => e.envelope.message)).not.toContain('later');
  const after = await resultLeaves({ query: '', start, order: 'asc' });
  expect(after).toEqual(await resultLeaves({ query: 'action:ranged', start, order: 'asc' }));
  expect(after.count).toBe(before.result.count + 1);
});

test('v1/search refuses a start after the end with the same ValidationError as v1/export', async () => {
  const late = times.at(-1)!;
  const early = times[0]!;
  for (const range of [
    { start: late, end: early },
    { start: '2999-01-01T00:00:00Z', end: '2000-01-01' },
    // Relative: 1 day ago is after 2 days ago.
    { start: '1d', end: '2d' },
  ]) {
    const search = await svc.post<Json>('v1/search', { query: '', ...range });
    const exported = await svc.post<Json>('v1/export', range);
    expect({ http: search.http, status: search.status }).toEqual({ http: 400, status: 'ValidationError' });
    expect(search.result.errors).toHaveLength(1);
    expect(search.result.errors[0]).toMatchObject({ code: 'BadFormat', source: '/start' });
    expect(search.result.errors[0].detail).toMatch(/'start' \(.*\) is after 'end'/);
    expect(exported.status).toBe('ValidationError');
    // The same error but for the relative bounds' "now", a few ms apart.
    const shape = (e: Json): Json => ({ ...e, detail: e.detail.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T') });
    expect(search.result.errors.map(shape)).toEqual(exported.result.errors.map(shape));
  }
  // Equal bounds are a range of one instant, not refused.
  const same = await svc.post<Json>('v1/search', { query: '', start: early, end: early });
  expect(same.status).toBe('Success');
  expect(same.result.count).toBeGreaterThan(0);
});
