// Full audit benchmark (`npm run bench:audit-verify`). Prints figures; exits non-zero only when the
// audit's answer is wrong (a finding on an honest log, or not every event read).
//  A 1M-event data directory (BENCH_EVENTS=n to change it), built in-process through
//  AuditLog.append in 10,000-event transactions, published every 100,000 events, with a signed
//  integrity state file holding the final root as verified (its key file beside the data
//  directory, not in it). It is kept under os.tmpdir() with a flag file, so later runs reuse it
//  (BENCH_REBUILD=1 builds it again); a reused state file that does not verify is signed again.
//  Then the real CLI (`node --import tsx src/full-audit/cli.ts --json`, what `npm run
//  audit:verify` runs) in a child process, 3 times: events/s end to end (process start to exit,
//  target >= 50,000) and the audit's own rate, and the child's peak RSS (target <= 300 MB), from
//  /usr/bin/time -v when present, else VmHWM polled from /proc/<pid>/status.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FullAuditReport } from '../src/full-audit/index.js';
import { microTimestamp } from '../src/local-audit/core/clock.js';
import { startLocalAudit, type LocalAudit } from '../src/local-audit/index.js';
import type { StoredEnvelope } from '../src/local-audit/store/event-store.js';
import { benchEvent } from './support/events.js';
import { loadOrCreateIntegrityKey, readStateFile, writeStateFile } from '../src/trust/state-file.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'src/full-audit/cli.ts');
const DATA_DIR = join(tmpdir(), `audit-verify-bench-${EVENTS}`);
/** Written last: a directory without it is a build that did not finish. */
const BUILT_FLAG = join(DATA_DIR, '.bench-built');
const STATE_FILE = join(DATA_DIR, 'integrity-state.json');
const KEY_FILE = join(tmpdir(), `audit-verify-bench-${EVENTS}.integrity-key`);
const TIME = '/usr/bin/time';

/** Events shaped like real ones: the benchmarks' standard fields, a client timestamp, now and then old/new values. */
function auditedEvent(i: number): Record<string, string> {
  const event: Record<string, string> = { ...benchEvent(i), timestamp: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() };
  if (i % 10 === 0) {
    event.old = JSON.stringify({ email: `old-${i}@example.com`, plan: 'basic' });
    event.new = JSON.stringify({ email: `new-${i}@example.com`, plan: 'pro' });
  }
  return event;
}

const dirBytes = (dir: string): number => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

async function build(): Promise<void> {
  rmSync(DATA_DIR, { recursive: true, force: true });
  mkdirSync(DATA_DIR, { recursive: true });
  console.log(`building a ${EVENTS.toLocaleString('en')}-event data directory in ${DATA_DIR} (AuditLog.append, 10,000 per transaction)`);
  const service = await startLocalAudit({ dataDir: DATA_DIR, port: 0, token: 'bench-token', publishIntervalMs: 0, onError: (e) => console.error(e) });
  const t0 = performance.now();
  for (let start = 0; start < EVENTS; start += 10_000) {
    const envelopes: StoredEnvelope[] = [];
    for (let i = start; i < Math.min(EVENTS, start + 10_000); i++) envelopes.push({ event: auditedEvent(i), received_at: microTimestamp() });
    service.log.append(envelopes);
    const done = start + envelopes.length;
    if (done % 100_000 === 0 || done === EVENTS) {
      service.log.publish();
      console.log(`  ${done.toLocaleString('en')} events, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  await writeState(service);
  await service.close();
  writeFileSync(BUILT_FLAG, JSON.stringify({ events: EVENTS, builtAt: new Date().toISOString() }) + '\n');
  console.log(`  built in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(dirBytes(DATA_DIR) / 2 ** 20).toFixed(0)} MiB`);
}

/** The state file the gateway's integrity monitor would have written after verifying the last root. */
async function writeState(service: LocalAudit): Promise<void> {
  const size = service.log.latestPublishedSize();
  const root = { size, rootHash: service.log.rootHash(size) };
  await writeStateFile(STATE_FILE, loadOrCreateIntegrityKey(KEY_FILE), {
    upstream: 'embedded',
    treeName: service.log.treeName,
    anchor: 'full-audit',
    first: root,
    latest: root,
    contradiction: null,
    savedAt: new Date().toISOString(),
  });
}

/** A reused directory's state file, signed again when it does not verify (an earlier unsigned one, or a lost key). */
async function ensureState(): Promise<void> {
  if (readStateFile(STATE_FILE, loadOrCreateIntegrityKey(KEY_FILE), 'embedded').kind === 'loaded') return;
  console.log(`  signing the integrity state file again under ${KEY_FILE}`);
  const service = await startLocalAudit({ dataDir: DATA_DIR, port: 0, token: 'bench-token', publishIntervalMs: 0, onError: (e) => console.error(e) });
  try {
    await writeState(service);
  } finally {
    await service.close();
  }
}

interface Run {
  report: FullAuditReport;
  wallMs: number;
  peakRssKb: number | undefined;
  rssFrom: string;
}

function vmHwmKb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** One run of the CLI as `npm run audit:verify -- --json` runs it, measured from outside. */
function runCli(): Promise<Run> {
  const useTime = existsSync(TIME);
  const node = [process.execPath, '--import', 'tsx', CLI, '--json'];
  const [cmd, ...args] = useTime ? [TIME, '-v', ...node] : node;
  const started = performance.now();
  const child = spawn(cmd!, args, { cwd: ROOT, env: { ...process.env, DATA_DIR, INTEGRITY_STATE_FILE: STATE_FILE, INTEGRITY_KEY_FILE: KEY_FILE }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  let polled: number | undefined;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        const kb = vmHwmKb(child.pid!);
        if (kb !== undefined) polled = Math.max(polled ?? 0, kb);
      }, 20);
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      const wallMs = performance.now() - started;
      if (poll) clearInterval(poll);
      if (code !== 0 && code !== 1) return reject(new Error(`audit:verify exited with ${code}: ${err.trim()}`));
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
      resolve({
        report: JSON.parse(Buffer.concat(out).toString('utf8')) as FullAuditReport,
        wallMs,
        peakRssKb: useTime ? (m ? Number(m[1]) : undefined) : polled,
        rssFrom: useTime ? '/usr/bin/time -v' : '/proc VmHWM, polled every 20 ms',
      });
    });
  });
}

const n = (v: number): string => Math.round(v).toLocaleString('en');
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  console.log(`audit:verify benchmark — node ${process.version}, ${EVENTS.toLocaleString('en')} events`);
  if (process.env.BENCH_REBUILD === '1' || !existsSync(BUILT_FLAG)) await build();
  else {
    console.log(`reusing the data directory ${DATA_DIR} (${(dirBytes(DATA_DIR) / 2 ** 20).toFixed(0)} MiB; BENCH_REBUILD=1 builds it again)`);
    await ensureState();
  }

  let wrong = 0;
  const rates: number[] = [];
  const rss: number[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const run = await runCli();
    const r = run.report;
    const endToEnd = r.events / (run.wallMs / 1000);
    rates.push(endToEnd);
    if (run.peakRssKb !== undefined) rss.push(run.peakRssKb / 1024);
    console.log(
      `run ${i}: ${n(r.events)} events, ${r.publishedRootsChecked} published + ${r.verifiedRootsChecked} verified roots compared, ` +
        `${r.findings.length + r.findingsOmitted} findings; process ${(run.wallMs / 1000).toFixed(2)} s = ${n(endToEnd)} events/s end to end ` +
        `(audit alone ${(r.durationMs / 1000).toFixed(2)} s = ${n(r.eventsPerSecond)} events/s); peak RSS ${run.peakRssKb !== undefined ? `${(run.peakRssKb / 1024).toFixed(0)} MB` : 'unknown'} (${run.rssFrom})`,
    );
    if (!r.ok || r.events !== EVENTS || r.verifiedRootsChecked !== 1) {
      wrong++;
      console.error(`  WRONG: expected a clean audit of ${EVENTS} events with 1 verified root: ${JSON.stringify(r.findings.slice(0, 3))}`);
    }
  }
  const rate = median(rates);
  const peak = rss.length > 0 ? Math.max(...rss) : Number.NaN;
  console.log(`median end to end: ${n(rate)} events/s (target >= 50,000: ${rate >= 50_000 ? 'met' : 'MISSED'})`);
  console.log(`peak RSS over the runs: ${Number.isFinite(peak) ? `${peak.toFixed(0)} MB` : 'unknown'} (target <= 300 MB: ${peak <= 300 ? 'met' : 'MISSED'})`);
  if (wrong > 0) process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
