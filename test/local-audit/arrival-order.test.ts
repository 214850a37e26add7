// Searches ordered by received_at walk the events by leaf index while arrival times rise with the
// leaves (store/arrival-order.ts). The answers must be exactly the received_at order in every
// case: a fresh log, a data directory whose times are out of step (written by something else, or
// by an earlier version before the flag existed), and a restart with the clock set back.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { keepClockAfter, microTimestamp } from '../../src/local-audit/core/clock.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

/** Every result of `query` in the order the service gives, as leaf indexes. */
async function searchLeaves(svc: TestService, body: Json): Promise<number[]> {
  const answer = await svc.post<Json>('v1/search', { limit: 1000, ...body });
  expect(answer.status).toBe('Success');
  return answer.result.events.map((e: Json) => leafOf(svc, e.hash));
}

function leafOf(svc: TestService, hash: string): number {
  return svc.log.db.prepare('SELECT leaf_index FROM events WHERE hash = ?').pluck().get(Buffer.from(hash, 'hex')) as number;
}

/** The leaves matching actor:a ordered by the received_at column (then leaf index), as SQL says. */
function byColumn(svc: TestService, direction: 'ASC' | 'DESC'): number[] {
  return svc.log.db
    .prepare(`SELECT leaf_index FROM events WHERE f_actor = 'a' ORDER BY received_at ${direction}, leaf_index ${direction}`)
    .pluck()
    .all() as number[];
}

const events = (n: number, from = 0) => ({ events: Array.from({ length: n }, (_, i) => ({ event: { message: `m${from + i}`, actor: i % 2 === 0 ? 'a' : 'b' } })) });

/**
 * A data directory holding `count` logged events, then changed by `edit` through its own SQLite
 * connection while no service has it open (as another writer, or an earlier version, would).
 * `inspect` sees the service before it closes.
 */
async function loggedThenEdited(count: number, edit: (raw: Database.Database) => void, inspect?: (svc: TestService) => void): Promise<string> {
  const dataDir = tempDir('audit-arrival-');
  const first = await startTestService({ dataDir });
  await first.post('v2/log', events(count));
  inspect?.(first);
  await first.close();
  const raw = new Database(join(dataDir, 'audit.sqlite'));
  try {
    edit(raw);
  } finally {
    raw.close();
  }
  return dataDir;
}

test('a fresh log: arrival times rise with the leaves, and both orders match the received_at column', async () => {
  const svc = await startTestService();
  try {
    await svc.post('v2/log', events(40));
    for (let i = 0; i < 5; i++) await svc.post('v1/log', { event: { message: `one ${i}`, actor: 'a' } });
    expect(svc.log.events.arrival.receivedInLeafOrder).toBe(true);
    expect(await searchLeaves(svc, { query: 'actor:a', order: 'desc' })).toEqual(byColumn(svc, 'DESC'));
    expect(await searchLeaves(svc, { query: 'actor:a', order: 'asc' })).toEqual(byColumn(svc, 'ASC'));
    expect(await searchLeaves(svc, { query: 'actor:a', order: 'asc', start: '1d' })).toEqual(byColumn(svc, 'ASC'));
  } finally {
    await svc.destroy();
  }
});

test('a data directory whose times are out of step is found out on open, and searches use the received_at column', async () => {
  // As an earlier version left it (no flag), with two events' times swapped by another writer.
  const dataDir = await loggedThenEdited(30, (raw) => {
    const timeOf = raw.prepare('SELECT received_at FROM events WHERE leaf_index = ?').pluck();
    const [t4, t20] = [timeOf.get(4), timeOf.get(20)];
    raw.prepare('UPDATE events SET received_at = ? WHERE leaf_index = 4').run(t20);
    raw.prepare('UPDATE events SET received_at = ? WHERE leaf_index = 20').run(t4);
    raw.prepare(`DELETE FROM meta WHERE key = 'received_at_order'`).run();
  });

  const again = await startTestService({ dataDir });
  try {
    expect(again.log.events.arrival.receivedInLeafOrder).toBe(false);
    const desc = await searchLeaves(again, { query: 'actor:a', order: 'desc' });
    expect(desc).toEqual(byColumn(again, 'DESC'));
    // Leaf 20 now carries the earlier time, leaf 4 the later one.
    expect(desc.indexOf(4)).toBeLessThan(desc.indexOf(20));
    // New events do not bring the flag back.
    await again.post('v2/log', events(4, 30));
    expect(again.log.events.arrival.receivedInLeafOrder).toBe(false);
    expect(await searchLeaves(again, { query: 'actor:a', order: 'asc' })).toEqual(byColumn(again, 'ASC'));
  } finally {
    await again.destroy();
  }
});

test('a data directory from before the flag, in order, is found in order on open', async () => {
  const dataDir = await loggedThenEdited(12, (raw) => raw.prepare(`DELETE FROM meta WHERE key = 'received_at_order'`).run());
  const again = await startTestService({ dataDir });
  try {
    expect(again.log.events.arrival.receivedInLeafOrder).toBe(true);
    expect(await searchLeaves(again, { query: 'actor:a', order: 'desc' })).toEqual(byColumn(again, 'DESC'));
  } finally {
    await again.destroy();
  }
});

test('events appended by something that does not keep the flag are checked on the next open', async () => {
  // As if the last two events had been appended by an earlier version (which leaves the flag at
  // 10) running on a clock set back: the last one is stamped before its predecessor.
  const dataDir = await loggedThenEdited(
    12,
    (raw) => {
      raw.prepare(`UPDATE meta SET value = 'leaf:10' WHERE key = 'received_at_order'`).run();
      const earlier = raw.prepare('SELECT received_at FROM events WHERE leaf_index = 3').pluck().get();
      raw.prepare('UPDATE events SET received_at = ? WHERE leaf_index = 11').run(earlier);
    },
    (svc) => expect(svc.log.db.prepare(`SELECT value FROM meta WHERE key = 'received_at_order'`).pluck().get()).toBe('leaf:12'),
  );

  const again = await startTestService({ dataDir });
  try {
    expect(again.log.events.arrival.receivedInLeafOrder).toBe(false);
    expect(again.log.db.prepare(`SELECT value FROM meta WHERE key = 'received_at_order'`).pluck().get()).toBe('mixed');
    expect(await searchLeaves(again, { query: 'actor:b', order: 'desc' })).toEqual(
      again.log.db.prepare(`SELECT leaf_index FROM events WHERE f_actor = 'b' ORDER BY received_at DESC, leaf_index DESC`).pluck().all(),
    );
  } finally {
    await again.destroy();
  }
});

test('the clock never stamps an event earlier than the last stored one', () => {
  // As if the last stored event came from a clock an hour ahead of this one.
  const ahead = new Date(Date.now() + 3600_000).toISOString().replace('Z', '123Z');
  keepClockAfter(ahead);
  const next = microTimestamp();
  expect(next > ahead).toBe(true);
  expect(next).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  // Text that is not such a time changes nothing.
  keepClockAfter('not a time');
  expect(microTimestamp() > next).toBe(true);
});

test('after a restart, events are stamped after the last stored one even if the clock was set back', async () => {
  // The last event was stamped by a clock two hours ahead of today's (since set back). Two: the
  // test above already moved this process's clock an hour ahead.
  const ahead = new Date(Date.now() + 7200_000).toISOString().replace('Z', '000Z');
  const dataDir = await loggedThenEdited(3, (raw) => raw.prepare('UPDATE events SET received_at = ? WHERE leaf_index = 2').run(ahead));
  const again = await startTestService({ dataDir });
  try {
    const logged = await again.post<Json>('v1/log', { event: { message: 'after the restart', actor: 'a' }, verbose: true });
    expect(logged.result.envelope.received_at > ahead).toBe(true);
    expect(again.log.events.arrival.receivedInLeafOrder).toBe(true);
  } finally {
    await again.destroy();
  }
});
