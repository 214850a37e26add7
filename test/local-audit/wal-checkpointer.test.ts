// WAL checkpoints in a worker thread (store/wal-checkpointer.ts), on a real SQLite file written by
// the service's event store: while the worker runs, the writer's own automatic checkpoint waits
// for a 16 MiB WAL, and the worker copies what was committed into the database file, so the file
// alone (its WAL set aside) holds the events soon after they commit; once the worker is gone the
// writer checkpoints as SQLite does by default.
import { join } from 'node:path';
import { microTimestamp } from '../../src/local-audit/core/clock.js';
import { STANDARD_SCHEMA } from '../../src/local-audit/index.js';
import { openDatabase, type Db } from '../../src/local-audit/store/database.js';
import { EventStore } from '../../src/local-audit/store/event-store.js';
import { WalCheckpointer } from '../../src/local-audit/store/wal-checkpointer.js';
import { eventsInFileAlone } from '../support/audit-db.js';
import { tempDir } from '../support/local-audit.js';

let dir: string;
let db: Db;
let store: EventStore;
let checkpointer: WalCheckpointer;
const errors: unknown[] = [];

beforeEach(() => {
  dir = tempDir();
  db = openDatabase(join(dir, 'audit.sqlite'), STANDARD_SCHEMA);
  store = new EventStore(db, STANDARD_SCHEMA);
  checkpointer = new WalCheckpointer(db, (err) => errors.push(err));
});
afterEach(async () => {
  await checkpointer.stop();
  db.close();
  expect(errors).toEqual([]);
});

function append(count: number): void {
  store.appendBatch(Array.from({ length: count }, (_, i) => ({ event: { message: `event ${store.size + i}`, actor: 'checkpoint' }, received_at: microTimestamp() })));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}


test('the worker copies committed pages into the database file; the writer does not', async () => {
  // The writer's own automatic checkpoint is off: only the worker can put pages in the file.
  expect(checkpointer.writerAutocheckpoint).toBe(0);
  append(500);
  await until(() => eventsInFileAlone(db.name) === 500, 'the first 500 events in the database file');
  append(300);
  await until(() => eventsInFileAlone(db.name) === 800, 'the next 300 events in the database file');
  expect(checkpointer.last).toEqual({ walFrames: expect.any(Number), checkpointed: checkpointer.last!.walFrames });
});

test('once the worker has stopped, the writer checkpoints by itself again', async () => {
  await checkpointer.stop();
  expect(checkpointer.writerAutocheckpoint).toBe(1000);
  // 1000 pages and more of commits: the writer's own checkpoint copies them.
  for (let i = 0; i < 20; i++) append(500);
  expect(eventsInFileAlone(db.name)).toBeGreaterThan(0);
});
