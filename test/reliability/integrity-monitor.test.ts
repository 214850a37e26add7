// The integrity monitor end to end: a real gateway with the embedded local service on a temp data
// dir. An honest log stays OK across publishes and gateway restarts (the history is anchored at the
// empty log and continues from the signed, persisted state); then the service's SQLite file is rewritten the
// way an insider would (an early event changed, every tree node above it and every published root
// recomputed, so the rewritten tree is internally consistent) and the monitor must say FAILED, in
// Query.integrity, in /ready and loudly in the log — and again after a restart. Also: a forged
// intermediate root breaks the chain at that step, a rolled-back log is caught, the per-check step
// cap walks a long chain in bounded pieces, checks run on their own timer, a corrupt or rewritten
// state file is refused, a non-empty log without state is UNANCHORED (also after the log was cut
// and the state deleted), a contradiction found by a search turns the monitor FAILED, and tampering evidence outlives restarts.
import { jest } from '@jest/globals';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type GatewayConfig } from '../../src/config.js';
import { IntegrityMonitor, type IntegrityStatus } from '../../src/gateway/integrity-monitor.js';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import { refusedPort, tempDir, type Json } from '../support/gateway.js';
import { rewriteHistory } from '../support/tamper.js';

const STATUS = `{ integrity { state lastVerifiedSize lastVerifiedRootHash lastCheckedAt lastSuccessfulCheckAt latestPublishedSize failure checkError } }`;

interface Gw {
  running: RunningGateway;
  lines: string[];
  gql(query: string, variables?: Record<string, unknown>): Promise<Json>;
  ready(): Promise<{ status: number; body: Json }>;
  /** Logs `n` events (one logBulk) and publishes the new size. */
  logAndPublish(n: number, tag: string): Promise<void>;
  check(): Promise<IntegrityStatus>;
}

function gatewayConfig(dataDir: string, extra: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    upstream: { kind: 'embedded', dataDir, token: undefined, localPort: 0, publishIntervalMs: 0, schemaFile: undefined },
    signingKeyFile: undefined,
    cursorSecret: 'integrity-test',
    maxBodyBytes: 1024 * 1024,
    graphiql: false,
    // Long enough that only the start-up check and the test's own checks run.
    integrityCheckIntervalMs: 600_000,
    // The state file's key, apart from the data dir as in production.
    integrityKeyFile: join(dataDir, '..', 'integrity-key'),
    ...extra,
  };
}

/** `settle`: wait for the monitor's start-up check (default), so a later check() is not joined to it. */
async function startGw(dataDir: string, extra: Partial<GatewayConfig> = {}, settle = true): Promise<Gw> {
  const lines: string[] = [];
  const running = await startGateway(gatewayConfig(dataDir, extra), (line) => lines.push(line));
  const origin = new URL(running.url).origin;
  const gql = async (query: string, variables?: Record<string, unknown>): Promise<Json> => {
    const res = await fetch(running.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as Json;
    if (res.status !== 200 || body.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
    return body.data;
  };
  const gw: Gw = {
    running,
    lines,
    gql,
    ready: async () => {
      const res = await fetch(`${origin}/ready`);
      return { status: res.status, body: await res.json() };
    },
    logAndPublish: async (n, tag) => {
      const events = Array.from({ length: n }, (_, i) => ({ message: `${tag} ${i}`, actor: 'integrity' }));
      const data = await gql(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { count } } }`, { e: events });
      expect(data.logBulk).toEqual({ __typename: 'LogBulkResult', count: n });
      running.local!.publishNow();
    },
    check: () => running.integrity!.checkNow(),
  };
  // Settle the start-up check, so a later check() is not joined to one that began earlier.
  if (settle) await running.integrity?.checkNow();
  return gw;
}

describe('integrity monitor', () => {
  const dirs: string[] = [];
  const open: Gw[] = [];
  let errorSpy: jest.SpiedFunction<typeof console.error>;

  beforeEach(() => {
    errorSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    for (const gw of open.splice(0)) await gw.running.close();
    errorSpy.mockRestore();
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const newDataDir = (): string => {
    const dir = tempDir('integrity-test-');
    dirs.push(dir);
    return join(dir, 'data');
  };
  const start = async (dataDir: string, extra?: Partial<GatewayConfig>, settle?: boolean): Promise<Gw> => {
    const gw = await startGw(dataDir, extra, settle);
    open.push(gw);
    return gw;
  };
  const stop = async (gw: Gw): Promise<void> => {
    open.splice(open.indexOf(gw), 1);
    await gw.running.close();
  };
  const alarms = (): string[] => errorSpy.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('INTEGRITY FAILURE'));

  test('honest log: OK across publishes and restarts; then a rewritten history is FAILED (Query.integrity, /ready, log), also after a restart', async () => {
    const dataDir = newDataDir();
    const stateFile = join(dataDir, 'integrity-state.json');
    let gw = await start(dataDir);
    // Nothing published yet: nothing to verify, and the history is anchored at the empty log.
    expect(gw.running.integrity!.status()).toMatchObject({ state: 'UNKNOWN', lastVerifiedSize: null, latestPublishedSize: 0, failure: null, anchor: 'empty-log' });
    expect((await gw.gql(STATUS)).integrity.state).toBe('UNKNOWN');

    await gw.logAndPublish(10, 'first');
    expect(await gw.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 10, latestPublishedSize: 10, failure: null, checkError: null });
    expect(gw.lines.some((l) => l.includes('anchored at an empty log'))).toBe(true);
    expect(gw.lines.some((l) => l.includes('trust on first use'))).toBe(false);
    // Several publishes between two checks: proven with membership paths in one step.
    for (let i = 0; i < 5; i++) await gw.logAndPublish(1, `single ${i}`);
    await gw.logAndPublish(7, 'second');
    const ok = await gw.check();
    expect(ok).toMatchObject({ state: 'OK', lastVerifiedSize: 22, latestPublishedSize: 22 });
    const root22 = (await gw.gql(`{ root { ... on PublishedRoot { size rootHash } } }`)).root;
    expect(root22.size).toBe(22);
    const shown = (await gw.gql(STATUS)).integrity;
    const { state, lastVerifiedSize, lastCheckedAt, lastSuccessfulCheckAt, latestPublishedSize, failure, checkError } = ok;
    expect(lastSuccessfulCheckAt).toBe(lastCheckedAt);
    expect(shown).toEqual({ state, lastVerifiedSize, lastCheckedAt, lastSuccessfulCheckAt, latestPublishedSize, failure, checkError, lastVerifiedRootHash: root22.rootHash });
    expect(Date.parse(shown.lastCheckedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await gw.ready()).toEqual({ status: 200, body: { status: 'ready', detail: 'audit service reachable' } });
    // Persisted atomically and signed: the file says what was verified, no temporary file is left behind.
    const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
    expect(saved).toMatchObject({ version: 2, upstream: 'embedded', anchor: 'empty-log', latest: { size: 22, rootHash: root22.rootHash }, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(readdirSync(dataDir).filter((f) => f.includes('.tmp'))).toEqual([]);

    // Restart: the chain continues from the saved root (no second trust on first use).
    await stop(gw);
    gw = await start(dataDir);
    expect(gw.running.integrity!.status()).toMatchObject({ state: 'OK', lastVerifiedSize: 22, lastVerifiedRootHash: root22.rootHash });
    expect(gw.lines.some((l) => l.includes('anchored') || l.includes('trust on first use'))).toBe(false);
    await gw.logAndPublish(30, 'third');
    expect(await gw.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 52, latestPublishedSize: 52 });
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).latest.size).toBe(52);
    await gw.logAndPublish(3, 'fourth'); // published (55) but not yet checked
    expect(alarms()).toEqual([]);

    // An insider rewrites event 3 and recomputes the tree and every published root.
    const db = new Database(join(dataDir, 'audit.sqlite'));
    try {
      db.pragma('busy_timeout = 5000');
      rewriteHistory(db, 3);
    } finally {
      db.close();
    }
    // The rewritten tree is consistent with itself: one-step proofs alone cannot tell.
    const root55 = (await gw.gql(`{ root(treeSize: 55) { ... on PublishedRoot { consistency } } }`)).root;
    expect(root55.consistency).toBe('PASS');

    const failed = await gw.check();
    expect(failed.state).toBe('FAILED');
    expect(failed.failure).toMatch(/root\(52\) is now [0-9a-f]{64}, but [0-9a-f]{64} was verified before: the history up to size 52 was rewritten/);
    expect(failed.lastVerifiedSize).toBe(52);
    expect(alarms()).toHaveLength(1);
    expect(alarms()[0]).toContain(failed.failure);
    const shownFailed = (await gw.gql(STATUS)).integrity;
    expect(shownFailed).toMatchObject({ state: 'FAILED', failure: failed.failure, lastVerifiedSize: 52 });
    const ready = await gw.ready();
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'not ready', detail: `integrity check failed: ${failed.failure}` });
    // Sticky: the next check repeats the alarm and stays FAILED.
    expect((await gw.check()).state).toBe('FAILED');
    expect(alarms()).toHaveLength(2);

    // A restart does not forget: the saved root(52) is checked again and the rewrite is found again.
    await stop(gw);
    gw = await start(dataDir);
    expect(gw.running.integrity!.status()).toMatchObject({ state: 'FAILED', lastVerifiedSize: 52 });
    expect(gw.running.integrity!.status().failure).toMatch(/the history up to size 52 was rewritten/);
    expect((await gw.ready()).status).toBe(503);
  });

  test('a forged intermediate root breaks a one-step chain at that step, and fails the events that use it; a rolled-back log is caught', async () => {
    const dataDir = newDataDir();
    const gw = await start(dataDir);
    await gw.logAndPublish(10, 'base');
    expect(await gw.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 10 });
    // Monitors over the same client chaining one-step proofs (as against the cloud), state in
    // memory only, anchored by trust on first use at 10.
    const chainWatch = (): IntegrityMonitor =>
      new IntegrityMonitor({ client: gw.running.client, intervalMs: 60_000, upstreamId: 'embedded', trustOnFirstUse: true, log: () => undefined, error: () => undefined });
    const rollbackWatch = chainWatch();
    const forgeryWatch = chainWatch();
    expect(await forgeryWatch.checkNow()).toMatchObject({ state: 'OK', lastVerifiedSize: 10, anchor: 'trust-on-first-use' });
    for (let i = 0; i < 3; i++) await gw.logAndPublish(1, `step ${i}`);
    expect(await rollbackWatch.checkNow()).toMatchObject({ state: 'OK', lastVerifiedSize: 13 });

    const db = new Database(join(dataDir, 'audit.sqlite'));
    try {
      db.pragma('busy_timeout = 5000');
      // Roll back: the publications after 11 disappear.
      const later = db.prepare('SELECT size, root_hash, published_at FROM published_roots WHERE size > 11').all() as Array<{ size: number; root_hash: string; published_at: string }>;
      expect(later.map((r) => r.size)).toEqual([12, 13]);
      db.prepare('DELETE FROM published_roots WHERE size > 11').run();
      const rolled = await rollbackWatch.checkNow();
      expect(rolled.state).toBe('FAILED');
      expect(rolled.failure).toBe('the latest published size is 11, smaller than the verified size 13: the log was rolled back');
      await rollbackWatch.stop();
      const restore = db.prepare('INSERT INTO published_roots (size, root_hash, published_at) VALUES (?, ?, ?)');
      for (const r of later) restore.run(r.size, r.root_hash, r.published_at);

      // Forge root(12): 10 → 11 verifies, 11 → 12 does not; progress up to 11 is kept.
      expect(db.prepare('UPDATE published_roots SET root_hash = ? WHERE size = 12').run('ab'.repeat(32)).changes).toBe(1);
    } finally {
      db.close();
    }
    const failed = await forgeryWatch.checkNow();
    expect(failed).toMatchObject({ state: 'FAILED', lastVerifiedSize: 11, latestPublishedSize: 13 });
    expect(failed.failure).toMatch(new RegExp(`^root\\(11\\) [0-9a-f]{64} → root\\(12\\) ${'ab'.repeat(32)}: consistency proof does not hold: `));
    await forgeryWatch.stop();
    // The gateway's own monitor proves 13 from 10 with membership paths, which never read root(12);
    // a search uses it for leaf 11, and that event fails: root(12) is not the prefix its path makes.
    expect(await gw.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 13 });
    const page = (await gw.gql(`{ search(query: "message:step", order: ASC) { ... on AuditEventConnection { edges { node { leafIndex verification { consistency verdict failures } } } } } }`)).search;
    const leaf11 = page.edges.find((e: Json) => e.node.leafIndex === 11).node.verification;
    expect(leaf11).toMatchObject({ consistency: 'FAIL', verdict: 'FAILED' });
    expect(leaf11.failures[0]).toMatch(/^consistency: (published root\(12\) (ab)+ is not the first 12 leaves of the page's root|published root\(11\) → root\(12\): consistency item 0 does not lead to the new root)/);
  });

  test('the step cap walks a long chain in bounded pieces, reporting the lag', async () => {
    const gw = await start(newDataDir());
    await gw.logAndPublish(5, 'base');
    const lines: string[] = [];
    const capped = new IntegrityMonitor({ client: gw.running.client, intervalMs: 60_000, upstreamId: 'embedded', trustOnFirstUse: true, maxStepsPerCheck: 4, log: (l) => lines.push(l), error: (l) => lines.push(l) });
    try {
      expect(await capped.checkNow()).toMatchObject({ state: 'OK', lastVerifiedSize: 5 });
      for (let i = 0; i < 10; i++) await gw.logAndPublish(1, `one ${i}`);
      // Each capped check ends behind but without an error: catching up is no check error, and
      // never makes check errors persist.
      const caughtUpTo = async (size: number): Promise<void> => {
        const status = await capped.checkNow();
        expect(status).toMatchObject({ state: 'OK', lastVerifiedSize: size, latestPublishedSize: 15, checkError: null, checkErrors: 0, checkErrorSince: null, persistentCheckError: null });
        expect(status.lastSuccessfulCheckAt).toBe(status.lastCheckedAt);
      };
      await caughtUpTo(9);
      expect(lines.at(-1)).toBe('audit-gateway: integrity verified up to size 9 of 15 (at most 4 steps per check); continuing next check');
      await caughtUpTo(13);
      const done = await capped.checkNow();
      expect(done).toMatchObject({ state: 'OK', lastVerifiedSize: 15, latestPublishedSize: 15 });
      expect(done.lastVerifiedRootHash).toBe((await gw.gql(`{ root { ... on PublishedRoot { rootHash } } }`)).root.rootHash);
    } finally {
      await capped.stop();
    }
  });

  test('behind the latest root, the next check comes after the catch-up delay, not the interval', async () => {
    const gw = await start(newDataDir());
    await gw.logAndPublish(5, 'base');
    for (let i = 0; i < 10; i++) await gw.logAndPublish(1, `one ${i}`);
    const catchingUp = new IntegrityMonitor({ client: gw.running.client, intervalMs: 60_000, catchUpDelayMs: 20, upstreamId: 'embedded', trustOnFirstUse: true, maxStepsPerCheck: 4, log: () => undefined });
    try {
      catchingUp.start();
      // Trust on first use takes the latest (15); then 12 more events need 3 capped checks.
      const deadline = Date.now() + 10_000;
      while (catchingUp.status().lastVerifiedSize !== 15 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(catchingUp.status()).toMatchObject({ state: 'OK', lastVerifiedSize: 15 });
      for (let i = 0; i < 12; i++) await gw.logAndPublish(1, `more ${i}`);
      // The interval is a minute: only catch-up checks can get there within the deadline. The next
      // regular check is what notices the new roots, so run that one by hand.
      await catchingUp.checkNow();
      while (catchingUp.status().lastVerifiedSize !== 27 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(catchingUp.status()).toMatchObject({ state: 'OK', lastVerifiedSize: 27, latestPublishedSize: 27 });
    } finally {
      await catchingUp.stop();
    }
  });

  test('checks run by themselves on the interval, and an unreachable upstream is a check error, not a failure', async () => {
    const gw = await start(newDataDir(), { integrityCheckIntervalMs: 100 });
    await gw.logAndPublish(4, 'timer');
    const deadline = Date.now() + 10_000;
    let status = gw.running.integrity!.status();
    while (status.lastVerifiedSize !== 4 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      status = gw.running.integrity!.status();
    }
    expect(status).toMatchObject({ state: 'OK', lastVerifiedSize: 4 });

    // A monitor whose upstream refuses connections keeps its state and says why it could not check.
    const refused = new IntegrityMonitor({
      client: { root: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { name: 'ConnectionRefusedError' })) },
      intervalMs: 60_000,
      upstreamId: 'embedded',
      log: () => undefined,
      error: () => undefined,
    });
    const after = await refused.checkNow();
    expect(after).toMatchObject({
      state: 'UNKNOWN',
      failure: null,
      checkError: 'the integrity check could not finish: ConnectionRefusedError: connect ECONNREFUSED',
      lastSuccessfulCheckAt: null,
      checkErrors: 1,
      checkErrorSince: after.lastCheckedAt,
      persistentCheckError: null,
    });
    expect(after.lastCheckedAt).not.toBeNull();
  });

  test('check errors persist (for /ready) only after 3 checks in a row over more than 3 intervals: neither one old error nor a burst of checks counts', async () => {
    const refusingClient = { root: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { name: 'ConnectionRefusedError' })) };
    const watch = (intervalMs: number): IntegrityMonitor => new IntegrityMonitor({ client: refusingClient, intervalMs, upstreamId: 'embedded', log: () => undefined, error: () => undefined });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    const slow = watch(50);
    const first = await slow.checkNow();
    await sleep(200);
    // One error, four intervals old: not yet persistent.
    expect(slow.status()).toMatchObject({ checkErrors: 1, checkErrorSince: first.lastCheckedAt, persistentCheckError: null });
    await slow.checkNow();
    const third = await slow.checkNow();
    expect(third).toMatchObject({ state: 'UNKNOWN', checkErrors: 3, checkErrorSince: first.lastCheckedAt, lastSuccessfulCheckAt: null });
    expect(third.persistentCheckError).toBe(
      `3 integrity checks in a row could not finish, since ${first.lastCheckedAt} (last successful check: none); nothing is verified. Last: the integrity check could not finish: ConnectionRefusedError: connect ECONNREFUSED`,
    );

    // Many checks within one interval: not persistent either.
    const burst = watch(60_000);
    for (let i = 0; i < 5; i++) await burst.checkNow();
    expect(burst.status()).toMatchObject({ checkErrors: 5, persistentCheckError: null });
  });

  test('no monitor without a token of its own (pass-through to a remote upstream) or with the interval 0: Query.integrity is null', async () => {
    const port = await refusedPort();
    const passthrough = await start(newDataDir(), {
      upstream: { kind: 'remote', baseUrl: `http://127.0.0.1:${port}`, token: '', configId: undefined, tenantId: undefined },
      auth: { kind: 'passthrough' },
      integrityCheckIntervalMs: 1000,
    });
    expect(passthrough.running.integrity).toBeUndefined();
    const res = await fetch(passthrough.running.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer some-caller-upstream-token' },
      body: JSON.stringify({ query: '{ integrity { state } }' }),
    });
    expect(await res.json()).toEqual({ data: { integrity: null } });

    const off = await start(newDataDir(), { integrityCheckIntervalMs: 0 });
    expect(off.running.integrity).toBeUndefined();
    expect(await off.gql('{ integrity { state } }')).toEqual({ integrity: null });
    // From the environment: 30 s by default, 0 switches it off, anything else is refused.
    expect(loadConfig({}).integrityCheckIntervalMs).toBe(30_000);
    expect(loadConfig({ INTEGRITY_CHECK_INTERVAL_MS: '0', INTEGRITY_STATE_FILE: '/var/lib/gw/integrity.json' })).toMatchObject({
      integrityCheckIntervalMs: 0,
      integrityStateFile: '/var/lib/gw/integrity.json',
    });
    expect(() => loadConfig({ INTEGRITY_CHECK_INTERVAL_MS: 'soon' })).toThrow('INTEGRITY_CHECK_INTERVAL_MS must be an integer');
  });

  test('a corrupt or rewritten state file is refused (FAILED) rather than trusting the upstream again', async () => {
    const dataDir = newDataDir();
    let gw = await start(dataDir);
    await gw.logAndPublish(3, 'x');
    expect((await gw.check()).state).toBe('OK');
    await stop(gw);
    const stateFile = join(dataDir, 'integrity-state.json');
    expect(existsSync(stateFile)).toBe(true);
    writeFileSync(stateFile, '{"version":1,"size":');
    gw = await start(dataDir);
    expect(gw.running.integrity!.status()).toMatchObject({
      state: 'FAILED',
      failure: `the integrity state file ${stateFile} is not valid JSON; run npm run audit:verify and remove it to anchor the history again`,
    });
    expect((await gw.ready()).status).toBe(503);
    expect((await gw.gql(STATUS)).integrity.state).toBe('FAILED');
    await stop(gw);

    // A well-formed file rewritten to claim a smaller verified size (after a truncation): its
    // signature no longer holds under the key kept outside the data dir.
    rmSync(stateFile);
    gw = await start(dataDir, { integrityTrustOnFirstUse: true });
    expect((await gw.check()).state).toBe('OK');
    await stop(gw);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
    writeFileSync(stateFile, JSON.stringify({ ...saved, latest: { ...saved.latest, size: 1 } }));
    gw = await start(dataDir);
    expect(gw.running.integrity!.status().state).toBe('FAILED');
    expect(gw.running.integrity!.status().failure).toMatch(/does not carry a valid signature under the integrity key: it was rewritten/);
  });

  test('an earlier copy of the state file, put back after the log was rewritten past it, is refused (FAILED), not an anchor to prove the rewrite from', async () => {
    const dataDir = newDataDir();
    const stateFile = join(dataDir, 'integrity-state.json');
    let gw = await start(dataDir);
    await gw.logAndPublish(5, 'early');
    expect(await gw.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 5 });
    const early = readFileSync(stateFile, 'utf8');
    for (const tag of ['middle', 'late']) {
      await gw.logAndPublish(5, tag);
      await gw.check();
    }
    expect(gw.running.integrity!.status()).toMatchObject({ state: 'OK', lastVerifiedSize: 15 });
    await stop(gw);

    // An insider rewrites event 7 (past the early copy's size 5, so that copy's root still holds),
    // recomputes the tree and the published roots, and puts the early state file back.
    const db = new Database(join(dataDir, 'audit.sqlite'));
    try {
      db.pragma('busy_timeout = 5000');
      rewriteHistory(db, 7);
    } finally {
      db.close();
    }
    writeFileSync(stateFile, early);
    gw = await start(dataDir);
    expect(gw.running.integrity!.status().state).toBe('FAILED');
    expect(gw.running.integrity!.status().failure).toMatch(/is not the last one the gateway saved there .*: an earlier copy was put back; run npm run audit:verify/);
    expect((await gw.ready()).status).toBe(503);
  });

  test('a non-empty log without integrity state is UNANCHORED (not OK): events are PENDING, /ready is 503; trust on first use anchors it', async () => {
    const dataDir = newDataDir();
    let gw = await start(dataDir);
    await gw.logAndPublish(5, 'acknowledged');
    expect((await gw.check()).state).toBe('OK');
    await stop(gw);
    // Truncate the log and delete the anchor: the events are gone, and the gateway must not call
    // what is left OK on its own word.
    const db = new Database(join(dataDir, 'audit.sqlite'));
    try {
      db.prepare('DELETE FROM events WHERE leaf_index >= 3').run();
      db.prepare('DELETE FROM published_roots').run();
    } finally {
      db.close();
    }
    rmSync(join(dataDir, 'integrity-state.json'));
    gw = await start(dataDir);
    await gw.logAndPublish(2, 'after');
    const status = await gw.check();
    expect(status).toMatchObject({ state: 'UNANCHORED', lastVerifiedSize: null, anchor: null });
    expect(status.failure).toMatch(/no verified history for it \(no integrity state\): run npm run audit:verify to anchor it, or set INTEGRITY_TRUST_ON_FIRST_USE=true/);
    expect((await gw.gql(STATUS)).integrity.state).toBe('UNANCHORED');
    const ready = await gw.ready();
    expect(ready.status).toBe(503);
    expect(ready.body.detail).toMatch(/^integrity unanchored: /);
    const page = (await gw.gql(`{ search(query: "actor:integrity") { ... on AuditEventConnection { edges { node { published verification { verdict verdictReason verified } } } } } }`)).search;
    expect(page.edges.length).toBeGreaterThan(0);
    for (const { node } of page.edges) {
      expect(node.verification).toMatchObject({ verdict: 'PENDING', verified: false });
      if (node.published) expect(node.verification.verdictReason).toMatch(/integrity UNANCHORED/);
    }
    await stop(gw);
    gw = await start(dataDir, { integrityTrustOnFirstUse: true });
    expect(gw.running.integrity!.status()).toMatchObject({ state: 'OK', anchor: 'trust-on-first-use' });
  });

  test('the full audit: an unanchored log is anchored by a clean audit; a deleted or re-tenanted event is an integrity failure (Query.integrity, /ready)', async () => {
    const dataDir = newDataDir();
    let gw = await start(dataDir);
    await gw.logAndPublish(9, 'audited');
    expect((await gw.check()).state).toBe('OK');
    await stop(gw);
    rmSync(join(dataDir, 'integrity-state.json'));
    // No state over a non-empty log: UNANCHORED, and the monitor runs a full audit at once.
    gw = await start(dataDir, { fullAuditIntervalMs: 600_000 });
    expect(gw.running.integrity!.status().state).toBe('UNANCHORED');
    const audit = await gw.running.integrity!.auditNow();
    expect(audit).toMatchObject({ ok: true, events: 9, treeSize: 9, findings: 0, error: null });
    const anchored = await gw.check();
    expect(anchored).toMatchObject({ state: 'OK', anchor: 'full-audit', lastVerifiedSize: 9 });
    expect(gw.lines.some((l) => l.includes('a full audit of 9 events passed: verified history anchored at root(9)'))).toBe(true);
    const shown = (await gw.gql(`{ integrity { state anchor fullAudit { ok events treeSize findings firstFindings error } } }`)).integrity;
    expect(shown).toEqual({ state: 'OK', anchor: 'full-audit', fullAudit: { ok: true, events: 9, treeSize: 9, findings: 0, firstFindings: [], error: null } });
    expect((await gw.ready()).body.detail).toMatch(/^audit service reachable; last full audit \S+: 9 events, clean$/);

    // At rest: an event's tenant column changed (it would move to another tenant's searches) and
    // another event deleted. The next audit finds both; the monitor fails.
    const db = new Database(join(dataDir, 'audit.sqlite'));
    try {
      db.pragma('busy_timeout = 5000');
      expect(db.prepare("UPDATE events SET f_tenant_id = 'tenant-b' WHERE leaf_index = 2").run().changes).toBe(1);
      expect(db.prepare('DELETE FROM events WHERE leaf_index = 6').run().changes).toBe(1);
    } finally {
      db.close();
    }
    const found = await gw.running.integrity!.auditNow();
    expect(found).toMatchObject({ ok: false, error: null });
    expect(found!.findings).toBeGreaterThanOrEqual(2);
    expect(found!.firstFindings.join('\n')).toMatch(/2/);
    const status = gw.running.integrity!.status();
    expect(status.state).toBe('FAILED');
    expect(status.failure).toMatch(/^the full audit found \d+ problem\(s\) in the stored log: /);
    expect((await gw.ready()).status).toBe(503);
  });

  test('problems the full audit found in an unanchored log are kept across a restart (in the mark beside the key), before any new audit', async () => {
    const dataDir = newDataDir();
    let gw = await start(dataDir);
    await gw.logAndPublish(6, 'kept');
    expect((await gw.check()).state).toBe('OK');
    await stop(gw);
    rmSync(join(dataDir, 'integrity-state.json'));
    const db = new Database(join(dataDir, 'audit.sqlite'));
    try {
      db.pragma('busy_timeout = 5000');
      expect(db.prepare("UPDATE events SET f_tenant_id = 'tenant-b' WHERE leaf_index = 2").run().changes).toBe(1);
    } finally {
      db.close();
    }
    gw = await start(dataDir, { fullAuditIntervalMs: 600_000 });
    expect(gw.running.integrity!.status().state).toBe('UNANCHORED');
    expect(await gw.running.integrity!.auditNow()).toMatchObject({ ok: false });
    const failure = gw.running.integrity!.status().failure!;
    expect(failure).toMatch(/^the full audit found \d+ problem\(s\) in the stored log: /);
    await stop(gw);

    // Restarted, it is FAILED at once (no audit has run yet), and no audit can anchor it.
    gw = await start(dataDir, { fullAuditIntervalMs: 600_000, integrityTrustOnFirstUse: true });
    const status = gw.running.integrity!.status();
    expect(status.state).toBe('FAILED');
    expect(status.failure).toContain(failure);
    expect(status.failure).toMatch(/found before the history was anchored, and kept in .*state-marks.*: remove that mark once resolved/);
    expect(existsSync(join(dataDir, 'integrity-state.json'))).toBe(false);
    expect((await gw.ready()).status).toBe(503);
  });

  test('a fresh data directory is anchored at its empty log before the gateway listens: events logged at once are VERIFIED once published', async () => {
    const dataDir = newDataDir();
    // Not settled: the first request goes out the moment startGateway resolves.
    const gw = await start(dataDir, {}, false);
    expect(gw.running.integrity!.status()).toMatchObject({ state: 'UNKNOWN', anchor: 'empty-log', failure: null });
    await gw.logAndPublish(6, 'at-once');
    expect(await gw.check()).toMatchObject({ state: 'OK', anchor: 'empty-log', lastVerifiedSize: 6 });
    const page = (await gw.gql(`{ search(query: "actor:integrity", first: 10) { ... on AuditEventConnection { edges { node { verification { verdict } } } } } }`)).search;
    expect(page.edges.map((e: Json) => e.node.verification.verdict)).toEqual(Array(6).fill('VERIFIED'));
  });

  test('a clean full audit that found nothing published runs again once a root is, and anchors the history there', async () => {
    const dataDir = newDataDir();
    let gw = await start(dataDir);
    const events = Array.from({ length: 5 }, (_, i) => ({ message: `unpublished ${i}`, actor: 'integrity' }));
    await gw.gql(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename } }`, { e: events });
    await stop(gw);
    rmSync(join(dataDir, 'integrity-state.json'));
    // Events, no published root, no state: UNANCHORED; the audit that runs at once cannot anchor.
    gw = await start(dataDir, { fullAuditIntervalMs: 600_000 });
    const first = await gw.running.integrity!.auditNow();
    expect(first).toMatchObject({ ok: true, events: 5, findings: 0, error: null });
    expect((await gw.check()).state).toBe('UNANCHORED');
    gw.running.local!.publishNow();
    // The check sees the published root and starts the audit again by itself (nothing here asks
    // for it); that audit anchors the history.
    expect((await gw.check()).latestPublishedSize).toBe(5);
    const monitor = gw.running.integrity!;
    const deadline = Date.now() + 30_000;
    while (monitor.status().anchor !== 'full-audit' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(monitor.status().fullAudit).toMatchObject({ ok: true, events: 5, treeSize: 5, findings: 0, error: null });
    expect(monitor.status().fullAudit!.ranAt >= first!.ranAt).toBe(true);
    expect(await gw.check()).toMatchObject({ state: 'OK', anchor: 'full-audit', lastVerifiedSize: 5 });
    expect(gw.lines.some((l) => l.includes('a full audit of 5 events passed: verified history anchored at root(5)'))).toBe(true);
  });

  test('events deleted under a result set are tampering evidence in Query.integrity, with the page still paging past them', async () => {
    const dataDir = newDataDir();
    let gw = await start(dataDir);
    await gw.logAndPublish(8, 'evidence');
    expect((await gw.check()).state).toBe('OK');
    const first = (await gw.gql(`{ search(query: "actor:integrity", order: ASC, first: 2) { ... on AuditEventConnection { resultId } } }`)).search;
    const db = new Database(join(dataDir, 'audit.sqlite'));
    try {
      db.pragma('busy_timeout = 5000');
      expect(db.prepare('DELETE FROM events WHERE leaf_index = 5').run().changes).toBe(1);
    } finally {
      db.close();
    }
    const page = (await gw.gql(`query R($id: ID!) { results(resultId: $id, first: 8) { ... on AuditEventConnection { missingEvents edges { node { leafIndex } } } } }`, { id: first.resultId })).results;
    expect(page.missingEvents).toBe(1);
    const TAMPERING = `{ integrity { tamperingEvidence lastTamperingEvidence lastTamperingEvidenceAt } }`;
    const status = (await gw.gql(TAMPERING)).integrity;
    expect(status.tamperingEvidence).toBe(1);
    expect(status.lastTamperingEvidence).toMatch(new RegExp(`1 event\\(s\\) that result set ${first.resultId} lists at offsets 0\\.\\.7 are gone`));
    expect(Date.now() - Date.parse(status.lastTamperingEvidenceAt)).toBeLessThan(60_000);
    expect(errorSpy.mock.calls.some((c) => String(c[0]).includes('TAMPERING EVIDENCE'))).toBe(true);

    // The evidence outlives the process: kept beside the integrity key, not in the data directory.
    const stateFile = join(dataDir, 'integrity-state.json');
    const savedState = readFileSync(stateFile);
    await stop(gw);
    gw = await start(dataDir);
    expect((await gw.gql(TAMPERING)).integrity).toEqual(status);

    // A flood of reports (each page read again shows the gone event) loses none, written as it comes.
    await Promise.all(Array.from({ length: 12 }, () => gw.gql(`query R($id: ID!) { results(resultId: $id, first: 8) { ... on AuditEventConnection { missingEvents } } }`, { id: first.resultId })));
    expect((await gw.gql(TAMPERING)).integrity.tamperingEvidence).toBe(13);
    await stop(gw);
    // Neither an earlier state file put back, nor a data directory wiped, clears it.
    writeFileSync(stateFile, savedState);
    gw = await start(dataDir);
    expect((await gw.gql(TAMPERING)).integrity.tamperingEvidence).toBe(13);
    await stop(gw);
    rmSync(dataDir, { recursive: true, force: true });
    gw = await start(dataDir);
    expect((await gw.gql(TAMPERING)).integrity).toMatchObject({ tamperingEvidence: 13, lastTamperingEvidence: status.lastTamperingEvidence });
  });

  test('a contradiction found by a search (the page root of a verified size differs) turns the monitor FAILED at once, and it is persisted', async () => {
    const dataDir = newDataDir();
    let gw = await start(dataDir);
    await gw.logAndPublish(12, 'seen');
    expect((await gw.check()).state).toBe('OK');
    const db = new Database(join(dataDir, 'audit.sqlite'));
    try {
      db.pragma('busy_timeout = 5000');
      rewriteHistory(db, 4);
    } finally {
      db.close();
    }
    const page = (await gw.gql(`{ search(query: "actor:integrity") { ... on AuditEventConnection { root { size history } edges { node { verification { consistency verdict } } } } } }`)).search;
    expect(page.root).toEqual({ size: 12, history: 'FAIL' });
    expect(page.edges.every((e: Json) => e.node.verification.verdict === 'FAILED')).toBe(true);
    expect(gw.running.integrity!.status()).toMatchObject({ state: 'FAILED', failure: expect.stringMatching(/root\(12\) is [0-9a-f]{64}, but the gateway verified [0-9a-f]{64} for that size/) });
    expect(alarms().length).toBeGreaterThan(0);
    expect((await gw.ready()).status).toBe(503);
    await stop(gw);
    gw = await start(dataDir);
    expect(gw.running.integrity!.status().state).toBe('FAILED');
  });
});
