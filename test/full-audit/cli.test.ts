// `npm run audit:verify` as a real child process (node + tsx, the CLI file): exit 0 on an honest
// log, 1 with findings (summary or --json), 2 with one line on stderr when the audit cannot run;
// runFullAuditProcess over the same CLI; and an audit of a data directory that the service keeps
// writing meanwhile from another process. The integrity state file is signed under a key kept in
// the test's temporary directory (INTEGRITY_KEY_FILE), never the user's own.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FullAuditRunError, runFullAuditProcess } from '../../src/full-audit/index.js';
import { startTestService } from '../support/local-audit.js';
import {
  BATCH,
  BATCHES,
  EVENTS,
  TOKEN,
  buildDataDir,
  copyDataDir,
  fillService,
  logEvents,
  publishedRoot,
  removeDir,
  rewriteEvent,
  runCli,
  runCliJson,
  tamperWithState,
  tempDir,
  withDb,
  writeSignedState,
  writeUnsignedState,
  writeVerifiedState,
} from './support.js';

let parent: string;
let base: string;
let keyFile: string;
let copies = 0;

beforeAll(async () => {
  parent = tempDir('full-audit-cli-');
  base = join(parent, 'base');
  keyFile = join(parent, 'integrity-key');
  await buildDataDir(base);
});
afterAll(() => removeDir(parent));

const fresh = (): string => copyDataDir(base, parent, `copy-${++copies}`);

/** The CLI could not run: status 2 and exactly one line on stderr, no stack trace. */
async function expectCannotRun(env: Record<string, string>, line: RegExp, args: string[] = []): Promise<void> {
  const run = await runCli(env, args);
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(line)]);
  expect(run.stderr).toMatch(/^audit-verify: /);
}

describe('exit status and output', () => {
  test('an honest log: exit 0, the summary on stdout, nothing on stderr (not a terminal: no progress bar)', async () => {
    const dataDir = fresh();
    await writeVerifiedState(dataDir, keyFile, EVENTS, publishedRoot(dataDir, EVENTS));
    const run = await runCli({ DATA_DIR: dataDir, INTEGRITY_KEY_FILE: keyFile });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`Full audit of the embedded log at ${dataDir}`);
    expect(run.stdout).toMatch(/events +30 \(leaf order: the events' leaf indexes\)/);
    expect(run.stdout).toMatch(/published roots +3 compared/);
    expect(run.stdout).toMatch(/verified roots +1 compared/);
    expect(run.stdout).toMatch(/result +OK/);
  });

  test('--json: one report on stdout with the documented shape; publishedRoot is the latest published root; no key is made without a state file', async () => {
    const dataDir = fresh();
    const unusedKey = join(parent, `unused-key-${copies}`);
    const { code, report } = await runCliJson({ DATA_DIR: dataDir, INTEGRITY_KEY_FILE: unusedKey });
    expect(code).toBe(0);
    expect(Object.keys(report).sort()).toEqual(
      [
        'durationMs',
        'events',
        'eventsPerSecond',
        'findingCounts',
        'findings',
        'findingsOmitted',
        'leafOrder',
        'location',
        'ok',
        'publishedRoot',
        'publishedRootsChecked',
        'rootHash',
        'source',
        'treeSize',
        'verifiedRootsChecked',
      ].sort(),
    );
    expect(report).toMatchObject({ ok: true, source: 'embedded', events: EVENTS, treeSize: EVENTS, publishedRootsChecked: 3, verifiedRootsChecked: 0, findings: [] });
    expect(report.publishedRoot).toEqual({ size: EVENTS, rootHash: publishedRoot(dataDir, EVENTS) });
    expect(existsSync(unusedKey)).toBe(false);
  });

  test('a row deleted in the middle: exit 1, missing at leaf 13', async () => {
    const dataDir = fresh();
    withDb(dataDir, (db) => db.prepare('DELETE FROM events WHERE leaf_index = 13').run());
    const { code, report } = await runCliJson({ DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'missing', leafIndex: 13 })]);
  });

  test("a changed f_tenant_id column: exit 1, the summary lists the finding by leaf", async () => {
    const dataDir = fresh();
    withDb(dataDir, (db) => db.prepare(`UPDATE events SET f_tenant_id = 'tenant-a' WHERE leaf_index = 21`).run());
    const run = await runCli({ DATA_DIR: dataDir });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/result +1 FINDING \(search-column 1\)/);
    expect(run.stdout).toMatch(/leaf 21 +search-column +leaf 21: column f_tenant_id is "tenant-a", the envelope says "tenant-b"/);
  });

  test('a consistent rewrite with a verified root from before it (INTEGRITY_STATE_FILE): exit 1, the root of the verified size', async () => {
    const dataDir = fresh();
    const stateDir = join(parent, `state-${copies}`);
    mkdirSync(stateDir);
    const verified = publishedRoot(dataDir, 10);
    const stateFile = await writeSignedState(join(stateDir, 'state.json'), keyFile, { size: 10, rootHash: verified });
    withDb(dataDir, (db) => rewriteEvent(db, 2, true));
    const { code, report } = await runCliJson({ DATA_DIR: dataDir, INTEGRITY_STATE_FILE: stateFile, INTEGRITY_KEY_FILE: keyFile });
    expect(code).toBe(1);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'root-mismatch', size: 10, expected: verified })]);
  });

  test('a consistent rewrite with the state file rewritten to match it: exit 2, the state file carries no valid signature', async () => {
    const dataDir = fresh();
    const stateFile = await writeSignedState(join(dataDir, 'integrity-state.json'), keyFile, { size: 30, rootHash: publishedRoot(dataDir, 30) }, {
      first: { size: 10, rootHash: publishedRoot(dataDir, 10) },
    });
    withDb(dataDir, (db) => rewriteEvent(db, 2, true));
    tamperWithState(stateFile, (state) => {
      state.first = { size: 10, rootHash: publishedRoot(dataDir, 10) };
      state.latest = { size: 30, rootHash: publishedRoot(dataDir, 30) };
    });
    await expectCannotRun(
      { DATA_DIR: dataDir, INTEGRITY_KEY_FILE: keyFile },
      /^audit-verify: the integrity state file .*integrity-state\.json does not carry a valid signature under the integrity key/,
    );
    // Under another key the same file is refused too.
    await expectCannotRun({ DATA_DIR: dataDir, INTEGRITY_KEY_FILE: join(parent, `other-key-${copies}`) }, /does not carry a valid signature/);
  });

  test('an unsigned state file of the earlier format (version 1): no verified roots, exit 0 on an honest log', async () => {
    const dataDir = fresh();
    // A root no event gives: compared, it would be a finding.
    writeUnsignedState(join(dataDir, 'integrity-state.json'), 10, 'ab'.repeat(32));
    const { code, report } = await runCliJson({ DATA_DIR: dataDir, INTEGRITY_KEY_FILE: keyFile });
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, verifiedRootsChecked: 0, publishedRootsChecked: 3, findings: [] });
  });

  test('could not run: exit 2 with one line on stderr', async () => {
    await expectCannotRun({ DATA_DIR: join(parent, 'absent') }, /^audit-verify: the data directory .*absent does not exist$/);
    const notADir = join(parent, 'a-file');
    writeFileSync(notADir, 'x');
    await expectCannotRun({ DATA_DIR: notADir }, /^audit-verify: DATA_DIR .*a-file is not a directory$/);
    const noDb = join(parent, 'no-db');
    mkdirSync(noDb);
    await expectCannotRun({ DATA_DIR: noDb }, /^audit-verify: no audit database in .*no-db \(audit\.sqlite is missing\)$/);
    const garbage = join(parent, 'garbage');
    mkdirSync(garbage);
    writeFileSync(join(garbage, 'audit.sqlite'), 'this is not a database, just some bytes '.repeat(200));
    await expectCannotRun({ DATA_DIR: garbage }, /^audit-verify: cannot read .*garbage\/audit\.sqlite: file is not a database$/);
    const badState = fresh();
    writeFileSync(join(badState, 'integrity-state.json'), '{"version": 1');
    await expectCannotRun({ DATA_DIR: badState, INTEGRITY_KEY_FILE: keyFile }, /^audit-verify: the integrity state file .*integrity-state\.json is not valid JSON$/);
    await expectCannotRun({ AUDIT_BASE_URL: 'http://127.0.0.1:1' }, /^audit-verify: AUDIT_TOKEN is required/);
    await expectCannotRun({ DATA_DIR: base }, /^audit-verify: unknown argument "--jsno" \(try --help\)$/, ['--jsno']);
  });
});

describe('runFullAuditProcess', () => {
  test('resolves with the report of the child (findings or not), rejects with its error line when it cannot run', async () => {
    const clean = await runFullAuditProcess({ DATA_DIR: fresh() });
    expect(clean).toMatchObject({ ok: true, events: EVENTS });

    const dataDir = fresh();
    withDb(dataDir, (db) => {
      const text = db.prepare('SELECT envelope FROM events WHERE leaf_index = 0').pluck().get() as string;
      db.prepare('UPDATE events SET envelope = ? WHERE leaf_index = 0').run(text.replace('"actor":"user-0"', '"actor":"user-1"'));
    });
    const edited = await runFullAuditProcess({ DATA_DIR: dataDir });
    expect(edited.ok).toBe(false);
    expect(edited.findings[0]).toMatchObject({ kind: 'edited', leafIndex: 0 });

    const failure = await runFullAuditProcess({ DATA_DIR: join(parent, 'absent') }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(FullAuditRunError);
    expect((failure as Error).message).toMatch(/^the data directory .*absent does not exist$/);
  });

  test('an aborted signal stops the child and rejects with its reason', async () => {
    const controller = new AbortController();
    const running = runFullAuditProcess({ DATA_DIR: fresh() }, controller.signal);
    controller.abort(new Error('monitor stopping'));
    await expect(running).rejects.toThrow('monitor stopping');
  });
});

test('the service keeps logging in another process while the audit reads one snapshot of its data directory', async () => {
  const dataDir = join(parent, 'live');
  const service = await startTestService({ dataDir, token: TOKEN });
  try {
    await fillService(service);
    let logging = true;
    let logged = EVENTS;
    const writer = (async () => {
      while (logging) {
        await logEvents(service, logged, BATCH);
        logged += BATCH;
        service.publishNow();
      }
    })();
    const report = await runFullAuditProcess({ DATA_DIR: dataDir });
    logging = false;
    await writer;
    expect(logged).toBeGreaterThan(EVENTS);
    expect(report.findings).toEqual([]);
    expect(report.events).toBeGreaterThanOrEqual(EVENTS);
    expect(report.events % BATCH).toBe(0);
    expect(report.publishedRootsChecked).toBeGreaterThanOrEqual(BATCHES);
  } finally {
    await service.close();
  }
});
