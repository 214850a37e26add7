// The live-tail watcher against the real local audit service: events logged by another client
// arrive once each, in order, and a watcher restarted from a position neither skips nor repeats.
import { AuditClient, type SearchEvent } from '../../src/audit-client/index.js';
import { LiveTailWatcher, type TailPosition } from '../../src/graphql/live-tail/watcher.js';
import { startTestService, type TestService } from '../support/local-audit.js';
import { until } from '../support/wait.js';

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

function collect(from?: TailPosition, query = 'actor:tail'): { watcher: LiveTailWatcher; got: Array<{ event: SearchEvent; position: TailPosition }> } {
  const got: Array<{ event: SearchEvent; position: TailPosition }> = [];
  const watcher = new LiveTailWatcher(client, { query, intervalMs: 50, ...(from ? { from } : {}), onEvents: (events) => got.push(...events) });
  return { watcher, got };
}

test('1,000 events logged while watching arrive once each, in order; a restart resumes without gap or duplicate', async () => {
  const { watcher, got } = collect();
  watcher.start();
  const logged: string[] = [];
  for (let i = 0; i < 1000; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: 100 }, (_, j) => client.log({ event: { actor: 'tail', message: `m${i + j}` } })),
    );
    logged.push(...batch.map((b) => b.result.hash));
    await client.log({ event: { actor: 'other', message: 'not matching' } });
  }
  await until(() => got.length >= 1000);
  await new Promise((r) => setTimeout(r, 200));
  watcher.stop();
  expect(got).toHaveLength(1000);
  expect(new Set(got.map((g) => g.event.hash))).toEqual(new Set(logged));
  const times = got.map((g) => g.event.envelope.received_at);
  expect([...times].sort()).toEqual(times);
  expect(got.every((g) => g.event.envelope.event.actor === 'tail')).toBe(true);

  // Restart from the 500th event's position: exactly the 500 after it, then new ones.
  const { watcher: again, got: rest } = collect(got[499]!.position);
  again.start();
  const late = await client.log({ event: { actor: 'tail', message: 'late' } });
  await until(() => rest.length >= 501);
  await new Promise((r) => setTimeout(r, 200));
  again.stop();
  expect(rest.map((g) => g.event.hash)).toEqual([...got.slice(500).map((g) => g.event.hash), late.result.hash]);
}, 60000);

test('a restriction keeps other tenants\' events out', async () => {
  const got: SearchEvent[] = [];
  const watcher = new LiveTailWatcher(client, { query: 'actor:tenants', restriction: { tenant_id: ['t1'] }, intervalMs: 50, onEvents: (e) => got.push(...e.map((x) => x.event)) });
  watcher.start();
  await client.log({ event: { actor: 'tenants', tenant_id: 't2', message: 'foreign' } });
  const mine = await client.log({ event: { actor: 'tenants', tenant_id: 't1', message: 'mine' } });
  await until(() => got.length >= 1);
  await new Promise((r) => setTimeout(r, 200));
  watcher.stop();
  expect(got.map((e) => e.hash)).toEqual([mine.result.hash]);
});
