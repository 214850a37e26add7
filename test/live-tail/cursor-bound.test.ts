// Live-tail resume cursors stay within the length the gateway reads back, however many events share
// one received_at: a cursor carries the keys of the last MAX_CURSOR_KEYS events delivered at its
// instant, so resuming from it neither repeats nor skips one up to that bound, and past it repeats
// the earliest ones (never skips). The many-events-in-one-microsecond case is made for real: a
// burst logged to a local service, then given one received_at in the service's own file (as a
// service that stamps a whole batch at once would), behind a real gateway and graphql-sse client.
import { createClient, type Client } from 'graphql-sse';
import { AuditClient } from '../../src/audit-client/index.js';
import { CursorCodec, MAX_CURSOR_CHARS } from '../../src/graphql/cursor.js';
import { decodeTailCursor, encodeTailCursor, MAX_CURSOR_KEYS } from '../../src/graphql/live-tail/cursor.js';
import { eventKey } from '../../src/graphql/live-tail/watcher.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';
import { untilOpenLiveTails } from '../support/live-tail.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';
import { rewriteLeaves, withAuditDb } from '../support/tamper.js';
import { until, pause } from '../support/wait.js';

describe('the cursor codec', () => {
  const codec = new CursorCodec(Buffer.from('test'));
  const keys = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => eventKey(`hash ${from + i}`));

  test.each([
    ['the service’s own format', '2025-03-01T12:00:07.123456Z'],
    ['a numeric offset', '2025-03-01T12:00:07.123456+00:00'],
  ])(`${MAX_CURSOR_KEYS} keys and a received_at in %s: within ${MAX_CURSOR_CHARS} characters, read back whole`, (_name, receivedAt) => {
    const position = { receivedAt, keys: keys(MAX_CURSOR_KEYS) };
    const cursor = encodeTailCursor(codec, 'tail:scope', position);
    expect(cursor.length).toBeLessThanOrEqual(MAX_CURSOR_CHARS);
    expect(decodeTailCursor(codec, 'tail:scope', cursor)).toEqual(position);
  });

  test('more keys than the bound: the last ones are kept', () => {
    const all = keys(10_000);
    const cursor = encodeTailCursor(codec, 'tail:scope', { receivedAt: '2025-03-01T12:00:07.123456Z', keys: all });
    expect(decodeTailCursor(codec, 'tail:scope', cursor).keys).toEqual(all.slice(-MAX_CURSOR_KEYS));
  });

  test('a received_at far longer than a timestamp: fewer keys, and the cursor still reads back', () => {
    const receivedAt = `2025-03-01T12:00:07.123456Z${' '.repeat(500)}`;
    const cursor = encodeTailCursor(codec, 'tail:scope', { receivedAt, keys: keys(MAX_CURSOR_KEYS) });
    const position = decodeTailCursor(codec, 'tail:scope', cursor);
    expect(position.receivedAt).toBe(receivedAt);
    expect(position.keys.length).toBeGreaterThan(0);
    expect(position.keys).toEqual(keys(MAX_CURSOR_KEYS).slice(-position.keys.length));
  });

  test('a cursor of full hashes (instant|hash|hash…) still reads back as their keys', () => {
    const hashes = ['a'.repeat(64), 'b'.repeat(64)];
    const cursor = codec.encode({ resultId: ['2025-03-01T12:00:07.123456Z', ...hashes].join('|'), offset: 0, scope: 'tail:scope' });
    expect(decodeTailCursor(codec, 'tail:scope', cursor)).toEqual({ receivedAt: '2025-03-01T12:00:07.123456Z', keys: hashes.map(eventKey) });
  });
});

const BURST = MAX_CURSOR_KEYS + 14;

describe(`${BURST} events sharing one received_at, through a gateway`, () => {
  const TAIL = 'subscription ($after: String) { auditEvents(query: "actor:burst", after: $after) { cursor event { hash receivedAt } } }';
  let dataDir: string;
  let service: TestService;
  let gateway: TestGateway;
  let sse: Client;

  beforeAll(async () => {
    dataDir = tempDir();
    service = await startTestService({ dataDir });
    gateway = await startTestGateway({
      config: { liveTailIntervalMs: 50, upstream: { kind: 'remote', baseUrl: service.url, token: service.token, configId: undefined, tenantId: undefined } },
    });
    sse = createClient({ url: gateway.url });
  });
  afterAll(async () => {
    sse.dispose();
    await gateway.close();
    await service.destroy();
  });

  interface Push {
    cursor: string;
    event: { hash: string; receivedAt: string };
  }

  function tail(after?: string): { pushes: Push[]; errors: Json[]; stop: () => void } {
    const pushes: Push[] = [];
    const errors: Json[] = [];
    const stop = sse.subscribe<Json>(
      { query: TAIL, variables: after ? { after } : {} },
      { next: (r) => (r.errors && errors.push(...r.errors), r.data?.auditEvents && pushes.push(r.data.auditEvents)), error: (e) => errors.push(e), complete: () => {} },
    );
    return { pushes, errors, stop };
  }

  /** What a tail resumed from `after` receives once it has had `count` pushes and a moment more. */
  async function resumed(after: string, count: number): Promise<string[]> {
    await untilOpenLiveTails(0);
    const t = tail(after);
    await until(() => t.pushes.length >= count || t.errors.length > 0);
    await pause(500);
    t.stop();
    expect(t.errors).toEqual([]);
    return t.pushes.map((p) => p.event.hash);
  }

  test('every cursor issued reads back; resuming repeats or skips nothing up to the bound, and only repeats past it', async () => {
    // A cursor from before the burst: the marker's.
    await untilOpenLiveTails(0);
    const first = tail();
    await untilOpenLiveTails(1);
    const logger = new AuditClient({ baseUrl: service.url, token: service.token });
    try {
      await logger.log({ event: { actor: 'burst', message: 'marker' } });
      await until(() => first.pushes.length >= 1);
      first.stop();
      await logger.logBulk({ events: Array.from({ length: BURST }, (_, i) => ({ event: { actor: 'burst', message: `burst ${i}` } })) });
    } finally {
      await logger.close();
    }
    const marker = first.pushes[0]!.cursor;

    // The burst (leaves 1..BURST) given the received_at of its first event, with the service stopped.
    const port = Number(new URL(service.url).port);
    await service.close();
    const leaves = Array.from({ length: BURST }, (_, i) => i + 1);
    const instant = withAuditDb(dataDir, (db) => {
      const at = db.prepare('SELECT received_at FROM events WHERE leaf_index = 1').pluck().get() as string;
      rewriteLeaves(db, leaves, (envelope) => (envelope.received_at = at));
      db.prepare('UPDATE events SET received_at = ? WHERE leaf_index BETWEEN 1 AND ?').run(at, BURST);
      // Times no longer rise with every leaf: the service finds out on open and orders by the column.
      db.prepare(`DELETE FROM meta WHERE key = 'received_at_order'`).run();
      return at;
    });
    service = await startTestService({ dataDir, port });

    await untilOpenLiveTails(0);
    const all = tail(marker);
    await until(() => all.pushes.length >= BURST);
    await pause(500);
    all.stop();
    expect(all.errors).toEqual([]);
    expect(all.pushes).toHaveLength(BURST);
    expect(new Set(all.pushes.map((p) => p.event.receivedAt))).toEqual(new Set([instant]));
    for (const p of all.pushes) expect(p.cursor.length).toBeLessThanOrEqual(MAX_CURSOR_CHARS);
    const hashes = all.pushes.map((p) => p.event.hash);
    const cursorOf = (n: number): string => all.pushes[n - 1]!.cursor;

    // Past the old limit of about ten hashes: the rest, exactly.
    expect(await resumed(cursorOf(11), BURST - 11)).toEqual(hashes.slice(11));
    // At the bound: the cursor holds every event delivered at its instant.
    expect(await resumed(cursorOf(MAX_CURSOR_KEYS), BURST - MAX_CURSOR_KEYS)).toEqual(hashes.slice(MAX_CURSOR_KEYS));
    // One past it: the first event of the instant comes again, nothing is skipped.
    expect(await resumed(cursorOf(MAX_CURSOR_KEYS + 1), BURST - MAX_CURSOR_KEYS)).toEqual([hashes[0], ...hashes.slice(MAX_CURSOR_KEYS + 1)]);
    // The last: the events before the cursor's keys come again.
    expect(await resumed(cursorOf(BURST), BURST - MAX_CURSOR_KEYS)).toEqual(hashes.slice(0, BURST - MAX_CURSOR_KEYS));
  }, 90_000);
});
