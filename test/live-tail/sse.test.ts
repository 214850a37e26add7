// Subscription.auditEvents over GraphQL over SSE with the real graphql-sse client against a real
// gateway and its embedded local service: 1,000 events logged by another client arrive once each,
// in order; a resumed subscription continues without gap or duplicate, from any push's cursor (a
// verdictUpdate push's too); PENDING becomes VERIFIED.
import { createClient, type Client } from 'graphql-sse';
import { AuditClient } from '../../src/audit-client/index.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';
import { untilOpenLiveTails } from '../support/live-tail.js';
import { countedSince, verificationChecks } from '../support/verification-metrics.js';
import { until, pause } from '../support/wait.js';

let gateway: TestGateway;
let logger: AuditClient;
let sse: Client;

beforeAll(async () => {
  gateway = await startTestGateway({ config: { liveTailIntervalMs: 50 } });
  logger = new AuditClient({ baseUrl: gateway.local!.url, token: gateway.local!.token });
  sse = createClient({ url: gateway.url });
});
afterAll(async () => {
  sse.dispose();
  await logger.close();
  await gateway.close();
});

const TAIL = `subscription ($q: String, $after: String) {
  auditEvents(query: $q, after: $after) { cursor verdictUpdate event { hash receivedAt verification { verdict } } }
}`;

interface Push {
  cursor: string;
  verdictUpdate: boolean;
  event: { hash: string; receivedAt: string; verification: { verdict: string } };
}

/** Subscribes and collects pushes. */
function tail(variables: Record<string, unknown>): { pushes: Push[]; errors: unknown[]; stop: () => void } {
  const pushes: Push[] = [];
  const errors: unknown[] = [];
  const stop = sse.subscribe<Json>(
    { query: TAIL, variables },
    {
      next: (r) => {
        if (r.errors) errors.push(...r.errors);
        if (r.data?.auditEvents) pushes.push(r.data.auditEvents as Push);
      },
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  return { pushes, errors, stop };
}

test('1,000 events arrive once each, in order; after: resumes with no gap and no duplicate', async () => {
  await untilOpenLiveTails(0);
  const a = tail({ q: 'actor:sse' });
  await untilOpenLiveTails(1);
  const logged: string[] = [];
  for (let i = 0; i < 1000; i += 100) {
    const batch = await Promise.all(Array.from({ length: 100 }, (_, j) => logger.log({ event: { actor: 'sse', message: `m${i + j}` } })));
    logged.push(...batch.map((b) => b.result.hash));
  }
  await until(() => a.pushes.length >= 1000);
  await pause(200);
  a.stop();
  // Nothing is published here, so every push is a first push (update pushes: the next test, and
  // resuming from one: the one after).
  const first = a.pushes;
  expect(a.errors).toEqual([]);
  expect(first).toHaveLength(1000);
  expect(first.filter((p) => p.verdictUpdate)).toEqual([]);
  expect(new Set(first.map((p) => p.event.hash))).toEqual(new Set(logged));
  const times = first.map((p) => p.event.receivedAt);
  expect([...times].sort()).toEqual(times);

  const b = tail({ q: 'actor:sse', after: first[599]!.cursor });
  const late = await logger.log({ event: { actor: 'sse', message: 'late' } });
  await until(() => b.pushes.length >= 401);
  await pause(200);
  b.stop();
  expect(b.pushes.map((p) => p.event.hash)).toEqual([...first.slice(600).map((p) => p.event.hash), late.result.hash]);
}, 60000);

test('an event pushed PENDING is pushed again VERIFIED once published; /metrics counts both verdicts pushed', async () => {
  await untilOpenLiveTails(0);
  const before = await verificationChecks(gateway.origin);
  const t = tail({ q: 'actor:verdict' });
  await untilOpenLiveTails(1);
  const logged = await logger.log({ event: { actor: 'verdict', message: 'v' } });
  await until(() => t.pushes.length >= 1);
  expect(t.pushes[0]!.event.verification.verdict).toBe('PENDING');
  const metrics = await (await fetch(`${gateway.origin}/metrics`)).text();
  expect(metrics).toMatch(/audit_gateway_live_tail\{kind="subscribers"\} 1\n/);
  expect(metrics).toMatch(/audit_gateway_live_tail\{kind="watchers"\} 1\n/);
  gateway.publish();
  await until(() => t.pushes.length >= 2);
  t.stop();
  expect(t.pushes[1]).toMatchObject({ verdictUpdate: true, event: { hash: logged.result.hash, verification: { verdict: 'VERIFIED' } } });
  const counted = countedSince(before, await verificationChecks(gateway.origin));
  expect({ PENDING: counted('verdict', 'PENDING'), VERIFIED: counted('verdict', 'VERIFIED') }).toEqual({ PENDING: 1, VERIFIED: 1 });
});

test('the last cursor received, from a verdictUpdate push, resumes with no gap and no duplicate', async () => {
  await untilOpenLiveTails(0);
  const q = 'actor:update-resume';
  const a = tail({ q });
  await untilOpenLiveTails(1);
  const logged: string[] = [];
  const log = async (): Promise<string> => (await logger.log({ event: { actor: 'update-resume', message: `m${logged.length}` } })).result.hash;
  const firstPushes = (): string[] => a.pushes.filter((p) => !p.verdictUpdate).map((p) => p.event.hash);
  const updates = (): number => a.pushes.filter((p) => p.verdictUpdate).length;
  // The case at issue: the last push is the verdict update of an event first pushed before another
  // one, so the updated event's own position is behind the stream's. Each round publishes the
  // pending event and logs the next; whether the update or the next event is pushed first is up
  // to the timing of the recheck and the poll, so rounds go on until the update comes last.
  const updateLast = (): boolean => a.pushes.at(-1)?.verdictUpdate === true && a.pushes.at(-1)!.event.hash !== firstPushes().at(-1);
  logged.push(await log());
  for (let round = 0; !updateLast(); round++) {
    if (round === 100) throw new Error('no verdict update was pushed after a later event in 100 rounds');
    await until(() => firstPushes().length === logged.length);
    gateway.publish();
    logged.push(await log());
    await until(() => firstPushes().length === logged.length && updates() === logged.length - 1);
  }
  a.stop();
  expect(a.errors).toEqual([]);
  expect(firstPushes()).toEqual(logged);
  const last = a.pushes.at(-1)!;
  expect(last.verdictUpdate).toBe(true);

  // Resumed from the last cursor received, with events logged both before and after it opens.
  const more = [await log(), await log()];
  await untilOpenLiveTails(0);
  const b = tail({ q, after: last.cursor });
  await untilOpenLiveTails(1);
  more.push(await log());
  await until(() => b.pushes.length >= more.length);
  await pause(300);
  b.stop();
  expect(b.errors).toEqual([]);
  expect(b.pushes.map((p) => [p.event.hash, p.verdictUpdate])).toEqual(more.map((h) => [h, false]));
}, 60000);

test('a bad searchRestriction is a typed error', async () => {
  const errors: Json[] = [];
  await new Promise<void>((resolve) =>
    sse.subscribe({ query: 'subscription { auditEvents(searchRestriction: 5) { cursor } }' }, { next: (r) => errors.push(...(r.errors ?? [])), error: (e) => (errors.push(e), resolve()), complete: resolve }),
  );
  expect(JSON.stringify(errors)).toMatch(/searchRestriction must be an object/);
});

test('a searchRestriction over the search bound is refused before any watching starts', async () => {
  const errors: Json[] = [];
  const values = Array.from({ length: 1001 }, (_, i) => `t${i}`);
  await new Promise<void>((resolve) =>
    sse.subscribe(
      { query: 'subscription ($r: JSON) { auditEvents(searchRestriction: $r) { cursor } }', variables: { r: { tenant_id: values } } },
      { next: (r) => errors.push(...(r.errors ?? [])), error: (e) => (errors.push(e), resolve()), complete: resolve },
    ),
  );
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ message: 'searchRestriction lists 1001 values; at most 1000 are allowed over all its fields', extensions: { code: 'BAD_USER_INPUT', argument: 'searchRestriction' } });
});
