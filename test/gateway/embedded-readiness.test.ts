// The gateway's /ready includes what only the embedded service knows: while its writes fail (here
// another connection holds SQLite's write lock past the busy timeout), the gateway is not ready
// either, and it is ready again once an append commits.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const LOG = `mutation L($m: String!) { log(event: { message: $m }) { __typename ... on LogResult { hash } ... on Error { message } } }`;

async function ready(gw: TestGateway): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${gw.origin}/ready`);
  return { status: res.status, body: await res.json() };
}

describe('/ready with the embedded service', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('is 503 with the service\'s reason while its writes fail, and 200 after the next append commits', async () => {
    expect((await gw.runOk(LOG, { m: 'before' })).log.__typename).toBe('LogResult');
    gw.publish();
    // The service's start-up integrity check runs in the background; wait for it to end.
    let before = await ready(gw);
    for (let i = 0; i < 100 && before.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      before = await ready(gw);
    }
    expect(before.status).toBe(200);

    const other = new Database(join(gw.dataDir, 'audit.sqlite'));
    try {
      other.exec('BEGIN EXCLUSIVE');
      const failed = (await gw.runOk(LOG, { m: 'cannot be written' })).log;
      expect(failed.__typename).not.toBe('LogResult');
      const down = await ready(gw);
      expect(down.status).toBe(503);
      expect(down.body.detail).toMatch(/^local audit service not ready: writes are failing since \S+: SQLITE_BUSY/);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect((await gw.runOk(LOG, { m: 'written again' })).log.__typename).toBe('LogResult');
    expect((await ready(gw)).status).toBe(200);
  }, 60_000);
});
