// Live tail with keys auth, over SSE with the graphql-sse client: a tenant-bound caller only ever
// receives its tenant's events (and may not ask for another's); a caller without audit:search is refused.
import { createClient } from 'graphql-sse';
import { startSecureGateway, type SecureGateway } from '../security/support.js';
import type { Json } from '../support/gateway.js';
import { untilOpenLiveTails } from '../support/live-tail.js';

const ADMIN = 'admin-key-0123456789abcdef';
const T1 = 'tenant-one-key-0123456789';
const LOGGER = 'log-only-key-0123456789ab';

let gw: SecureGateway;
beforeAll(async () => {
  gw = await startSecureGateway(
    {
      kind: 'keys',
      file: undefined,
      inline: JSON.stringify({
        apiKeys: [
          { id: 'admin', key: ADMIN, scopes: ['audit:log', 'audit:search'] },
          { id: 't1', key: T1, scopes: ['audit:search'], tenantId: 't1' },
          { id: 'logger', key: LOGGER, scopes: ['audit:log'] },
        ],
      }),
    },
    { liveTailIntervalMs: 50 },
  );
});
afterAll(async () => {
  await gw.close();
});

function subscribe(key: string, query: string): { data: Json[]; errors: Json[]; done: Promise<void>; stop: () => void } {
  const client = createClient({ url: gw.url, headers: { authorization: `Bearer ${key}` } });
  const data: Json[] = [];
  const errors: Json[] = [];
  let stop = (): void => {};
  const done = new Promise<void>((resolve) => {
    const unsubscribe = client.subscribe<Json>(
      { query },
      {
        next: (r) => {
          if (r.errors) errors.push(...r.errors);
          if (r.data) data.push(r.data);
        },
        error: (e) => (errors.push(e), resolve()),
        complete: resolve,
      },
    );
    stop = () => (unsubscribe(), client.dispose(), resolve());
  });
  return { data, errors, done, stop };
}

test('a tenant-bound caller receives only its tenant’s events', async () => {
  await untilOpenLiveTails(0);
  const t1 = subscribe(T1, 'subscription { auditEvents(query: "actor:tenanted") { event { tenantId message } } }');
  await untilOpenLiveTails(1);
  const log = (tenant: string, i: number) =>
    gw.call(`mutation { log(event: {message: "${tenant} ${i}", actor: "tenanted", tenantId: "${tenant}"}) { __typename } }`, ADMIN);
  for (let i = 0; i < 5; i++) {
    await log('t2', i);
    await log('t1', i);
  }
  const deadline = Date.now() + 10000;
  while (t1.data.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
  t1.stop();
  expect(t1.errors).toEqual([]);
  expect(t1.data.map((d) => d.auditEvents.event.message)).toEqual(['t1 0', 't1 1', 't1 2', 't1 3', 't1 4']);
});

test('asking for another tenant is forbidden', async () => {
  const s = subscribe(T1, 'subscription { auditEvents(searchRestriction: {tenant_id: ["t2"]}) { cursor } }');
  await s.done;
  expect(JSON.stringify(s.errors)).toMatch(/your own tenant/);
  expect(s.data.filter((d) => d.auditEvents)).toEqual([]);
});

test('a caller without audit:search is refused', async () => {
  const s = subscribe(LOGGER, 'subscription { auditEvents { cursor } }');
  await s.done;
  expect(JSON.stringify(s.errors)).toMatch(/FORBIDDEN|not authorized/);
  expect(s.data.filter((d) => d.auditEvents)).toEqual([]);
});
