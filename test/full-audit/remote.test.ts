// The full audit of a remote upstream: a real local audit service on 127.0.0.1 over HTTP, audited
// through v1/export (202, polled), v1/download_results (gzip JSON, parsed as it streams) and
// v1/root, in-process and through the CLI (AUDIT_BASE_URL + AUDIT_TOKEN). The service's SQLite
// file is tampered with while it runs; what the API then serves must come out as findings. The
// integrity state file is signed under a key in the test's temporary directory (INTEGRITY_KEY_FILE).
import { join } from 'node:path';
import { fullAuditOptionsFromEnv, runFullAudit, type FullAuditReport } from '../../src/full-audit/index.js';
import { startTestService, type TestService } from '../support/local-audit.js';
import {
  EVENTS,
  TOKEN,
  buildDataDir,
  copyDataDir,
  logEvents,
  publishedRoot,
  removeDir,
  rewriteEvent,
  runCli,
  runCliJson,
  tempDir,
  withDb,
  writeSignedState,
} from './support.js';

let parent: string;
let base: string;
let keyFile: string;
let copies = 0;
const running: TestService[] = [];

beforeAll(async () => {
  parent = tempDir('full-audit-remote-');
  base = join(parent, 'base');
  keyFile = join(parent, 'integrity-key');
  await buildDataDir(base);
});
afterEach(async () => {
  for (const service of running.splice(0)) await service.close();
});
afterAll(() => removeDir(parent));

/** The service on a fresh copy of the honest data directory (roots published at 10, 20, 30). */
async function serve(): Promise<{ service: TestService; dataDir: string }> {
  const dataDir = copyDataDir(base, parent, `copy-${++copies}`);
  const service = await startTestService({ dataDir, token: TOKEN });
  running.push(service);
  return { service, dataDir };
}

/** A signed state file naming the service as the monitor does (its base URL) with `rootHash` verified for `size`. */
function stateFile(service: TestService, size: number, rootHash: string): Promise<string> {
  return writeSignedState(join(parent, `state-${copies}.json`), keyFile, { size, rootHash }, { upstream: service.url });
}

const audit = (service: TestService, extra: Record<string, string> = {}): Promise<FullAuditReport> =>
  runFullAudit(fullAuditOptionsFromEnv({ AUDIT_BASE_URL: service.url, AUDIT_TOKEN: TOKEN, INTEGRITY_KEY_FILE: keyFile, ...extra }));

test('an honest log with unpublished events: no findings; published leaves in leaf_index order, the rest after them', async () => {
  const { service, dataDir } = await serve();
  await logEvents(service, EVENTS, 5);
  const report = await audit(service, { INTEGRITY_STATE_FILE: await stateFile(service, 20, publishedRoot(dataDir, 20)) });
  expect(report).toMatchObject({
    ok: true,
    source: 'remote',
    location: service.url,
    leafOrder: 'leaf_index',
    events: EVENTS + 5,
    treeSize: EVENTS + 5,
    rootHash: service.log.rootHash(EVENTS + 5),
    // v1/root of sizes 1, 2, 4, 8, 16, the verified 20 and the latest 30.
    publishedRootsChecked: 7,
    // The unpublished events after it are not covered by any published root.
    publishedRoot: { size: EVENTS, rootHash: publishedRoot(dataDir, EVENTS) },
    verifiedRootsChecked: 1,
    findings: [],
  });
});

test("an event's envelope edited in the service's file: edited at that leaf, and the first power-of-two root above it differs", async () => {
  const { service } = await serve();
  withDb(service.dataDir, (db) => {
    const text = db.prepare('SELECT envelope FROM events WHERE leaf_index = 9').pluck().get() as string;
    db.prepare('UPDATE events SET envelope = ? WHERE leaf_index = 9').run(text.replace('"event 9"', '"event nine"'));
  });
  const report = await audit(service);
  expect(report.findings.filter((f) => f.kind === 'edited')).toEqual([expect.objectContaining({ leafIndex: 9 })]);
  const roots = report.findings.filter((f) => f.kind === 'root-mismatch');
  expect(roots.map((f) => f.size)).toEqual([16, 30]);
  expect(roots[0]!.detail).toMatch(/the published root of size 8 matched, so the change lies in leaves 8\.\.15/);
  expect(report.publishedRoot).toEqual({ size: 8, rootHash: service.log.rootHash(8) });
});

test('a deleted event: missing at its leaf, found although the export is ordered by received_at', async () => {
  const { service } = await serve();
  withDb(service.dataDir, (db) => db.prepare('DELETE FROM events WHERE leaf_index = 17').run());
  const report = await audit(service);
  expect(report.findings).toEqual([expect.objectContaining({ kind: 'missing', leafIndex: 17 })]);
  expect(report.events).toBe(EVENTS - 1);
});

test('an event whose received_at column was moved earlier: the export lists it first, the audit puts it back in leaf order', async () => {
  const { service } = await serve();
  withDb(service.dataDir, (db) => db.prepare(`UPDATE events SET received_at = '2000-01-01T00:00:00.000000Z' WHERE leaf_index = 11`).run());
  const report = await audit(service);
  expect(report).toMatchObject({ ok: true, events: EVENTS, treeSize: EVENTS });
});

test('two events swapped in the file: out of place in leaf order, and the roots from the first of them differ', async () => {
  const { service } = await serve();
  withDb(service.dataDir, (db) =>
    db.transaction(() => {
      db.prepare('UPDATE events SET leaf_index = -1 WHERE leaf_index = 3').run();
      db.prepare('UPDATE events SET leaf_index = 3 WHERE leaf_index = 6').run();
      db.prepare('UPDATE events SET leaf_index = 6 WHERE leaf_index = -1').run();
    })(),
  );
  const report = await audit(service);
  expect(report.findings.filter((f) => f.kind === 'out-of-place').map((f) => f.leafIndex)).toEqual([3, 6]);
  expect(report.findings.filter((f) => f.kind === 'root-mismatch').map((f) => f.size)).toEqual([4, 8, 16, 30]);
});

test('a consistent rewrite (events, tree and published roots): the verified root from before it is the finding', async () => {
  const { service, dataDir } = await serve();
  const verified = publishedRoot(dataDir, 20);
  const state = await stateFile(service, 20, verified);
  withDb(dataDir, (db) => rewriteEvent(db, 12, true));
  const report = await audit(service, { INTEGRITY_STATE_FILE: state });
  expect(report.findings).toEqual([expect.objectContaining({ kind: 'root-mismatch', size: 20, expected: verified })]);
  expect(report.publishedRootsChecked).toBe(7);
});

test('a service with nothing logged or published: a clean, empty audit', async () => {
  const service = await startTestService({ dataDir: join(parent, 'empty'), token: TOKEN });
  running.push(service);
  expect(await audit(service)).toMatchObject({ ok: true, events: 0, treeSize: 0, rootHash: null, publishedRootsChecked: 0, leafOrder: 'received_at' });
});

test('the CLI over HTTP: exit 0 on the honest service, 1 on a tampered one, 2 with a wrong token or no service', async () => {
  const { service } = await serve();
  const env = { AUDIT_BASE_URL: service.url, AUDIT_TOKEN: TOKEN };
  const clean = await runCliJson(env);
  expect(clean.code).toBe(0);
  expect(clean.report).toMatchObject({ ok: true, source: 'remote', events: EVENTS, publishedRootsChecked: 6 });

  withDb(service.dataDir, (db) => db.prepare('DELETE FROM events WHERE leaf_index = 29').run());
  const tampered = await runCliJson(env);
  expect(tampered.code).toBe(1);
  expect(tampered.report.findings).toEqual([expect.objectContaining({ kind: 'missing', leafIndex: 29, size: 30 })]);

  const wrong = await runCli({ ...env, AUDIT_TOKEN: 'not-the-token' });
  expect(wrong.code).toBe(2);
  expect(wrong.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(wrong.stderr).toMatch(/^audit-verify: .*(unauthori[sz]ed|Unauthorized)/i);
  expect(wrong.stderr).not.toContain('not-the-token');

  const closedUrl = service.url;
  await service.close();
  running.splice(running.indexOf(service), 1);
  const gone = await runCli({ AUDIT_BASE_URL: closedUrl, AUDIT_TOKEN: TOKEN });
  expect(gone.code).toBe(2);
  expect(gone.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^audit-verify: /)]);
});
