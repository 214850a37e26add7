// Shared by the full-audit tests: a real data directory written by the local service (events
// logged over HTTP, roots published), at-rest tampering of its SQLite file the way an insider with
// the file would do it, and the CLI run as `npm run audit:verify` runs it.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FullAuditReport, RootRecord } from '../../src/full-audit/index.js';
import { bytesToHex, canonicalJson, consistencyProof, formatConsistencyItem, hashPair, treeRoot, type NodeSource } from '../../src/merkle/index.js';
import { loadOrCreateIntegrityKey, writeStateFile, type SavedHistory } from '../../src/trust/state-file.js';
import { startTestService, type TestService } from '../support/local-audit.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src/full-audit/cli.ts');
export const TOKEN = 'test-token';

/** Events per batch and batches: a root is published after each (sizes 10, 20, 30). */
export const BATCH = 10;
export const BATCHES = 3;
export const EVENTS = BATCH * BATCHES;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Logs `count` events in one v2/log request, tenants alternating a/b. */
export async function logEvents(service: TestService, first: number, count: number): Promise<void> {
  const events = Array.from({ length: count }, (_, k) => ({
    event: { message: `event ${first + k}`, actor: `user-${(first + k) % 3}`, tenant_id: (first + k) % 2 ? 'tenant-b' : 'tenant-a', timestamp: '2025-03-01T10:00:00Z' },
  }));
  const answer = await service.post<{ results: unknown[] }>('v2/log', { events });
  if (answer.status !== 'Success' || answer.result.results.length !== count) throw new Error(`v2/log: ${answer.status} ${answer.summary}`);
}

/** Logs BATCHES batches of BATCH events through a running service, publishing after each. */
export async function fillService(service: TestService): Promise<void> {
  for (let b = 0; b < BATCHES; b++) {
    await logEvents(service, b * BATCH, BATCH);
    service.publishNow();
  }
}

/** A closed data directory holding EVENTS events and the published roots 10, 20, 30. */
export async function buildDataDir(dataDir: string): Promise<void> {
  const service = await startTestService({ dataDir, token: TOKEN });
  try {
    await fillService(service);
  } finally {
    await service.close();
  }
}

/** A copy of a built data directory, to tamper with. */
export function copyDataDir(from: string, parent: string, name: string): string {
  const to = join(parent, name);
  cpSync(from, to, { recursive: true });
  return to;
}

/** Opens the data directory's SQLite file for writing (the insider's view). */
export function openDb(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, 'audit.sqlite'));
  db.pragma('busy_timeout = 5000');
  return db;
}

export function withDb<T>(dataDir: string, fn: (db: Database.Database) => T): T {
  const db = openDb(dataDir);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The root of `size` as the data directory's published_roots table holds it. */
export function publishedRoot(dataDir: string, size: number): string {
  return withDb(dataDir, (db) => (db.prepare('SELECT root_hash FROM published_roots WHERE size = ?').pluck().get(size) as string));
}

/**
 * The integrity monitor's signed state file (version 2) at `path`, under the key in `keyFile`
 * (created there on first use): a verified history from `first` (default: `latest` itself) to
 * `latest`, for `upstream`.
 */
export async function writeSignedState(
  path: string,
  keyFile: string,
  latest: RootRecord,
  { first = latest, upstream = 'embedded' }: { first?: RootRecord; upstream?: string } = {},
): Promise<string> {
  const state: SavedHistory = { upstream, treeName: 'test-tree', anchor: 'full-audit', first, latest, contradiction: null, savedAt: new Date().toISOString() };
  await writeStateFile(path, loadOrCreateIntegrityKey(keyFile), state);
  return path;
}

/** The signed state file where the gateway keeps it by default (<DATA_DIR>/integrity-state.json), holding `rootHash` as verified for `size`. */
export function writeVerifiedState(dataDir: string, keyFile: string, size: number, rootHash: string, upstream = 'embedded'): Promise<string> {
  return writeSignedState(join(dataDir, 'integrity-state.json'), keyFile, { size, rootHash }, { upstream });
}

/** The unsigned state file of earlier versions (version 1), which anchors nothing. */
export function writeUnsignedState(path: string, size: number, rootHash: string, upstream = 'embedded'): string {
  writeFileSync(path, JSON.stringify({ version: 1, upstream, treeName: 'test-tree', size, rootHash, verifiedAt: new Date().toISOString() }, null, 2) + '\n');
  return path;
}

/** Rewrites a signed state file's JSON with `change` and leaves its signature as it was. */
export function tamperWithState(path: string, change: (state: SavedHistory & { version: number; mac: string }) => void): void {
  const state = JSON.parse(readFileSync(path, 'utf8')) as SavedHistory & { version: number; mac: string };
  change(state);
  writeFileSync(path, JSON.stringify(state, null, 2) + '\n');
}

function dbNodes(db: Database.Database): NodeSource {
  const select = db.prepare('SELECT hash FROM nodes WHERE level = ? AND idx = ?').pluck();
  return {
    node(level: number, idx: number): Uint8Array {
      const hash = select.get(level, idx) as Buffer | undefined;
      if (!hash) throw new Error(`no node (${level}, ${idx})`);
      return new Uint8Array(hash);
    },
  };
}

/**
 * Rewrites leaf `leaf` consistently, as an insider would: a new message in the envelope, its
 * search column and its hash, every stored tree node above it recomputed and, when
 * `publishedRoots`, every published root covering it (with its proof) recomputed too.
 */
export function rewriteEvent(db: Database.Database, leaf: number, publishedRoots: boolean): void {
  const envelope = JSON.parse(db.prepare('SELECT envelope FROM events WHERE leaf_index = ?').pluck().get(leaf) as string);
  envelope.event.message = 'this is not what was logged';
  const text = canonicalJson(envelope);
  const hash = createHash('sha256').update(text, 'utf8').digest();
  const nodes = dbNodes(db);
  const update = db.prepare('UPDATE nodes SET hash = ? WHERE level = ? AND idx = ?');
  db.transaction(() => {
    db.prepare('UPDATE events SET envelope = ?, hash = ?, f_message = ? WHERE leaf_index = ?').run(text, hash, envelope.event.message, leaf);
    update.run(hash, 0, leaf);
    for (let level = 1, idx = leaf >> 1; ; level++, idx >>= 1) {
      if (!db.prepare('SELECT 1 FROM nodes WHERE level = ? AND idx = ?').get(level, idx)) break;
      update.run(Buffer.from(hashPair(nodes.node(level - 1, 2 * idx), nodes.node(level - 1, 2 * idx + 1))), level, idx);
    }
    if (!publishedRoots) return;
    for (const size of db.prepare('SELECT size FROM published_roots').pluck().all() as number[]) {
      if (size <= leaf) continue;
      const proof = size > 1 ? JSON.stringify(consistencyProof(nodes, size - 1, size).map(formatConsistencyItem)) : null;
      db.prepare('UPDATE published_roots SET root_hash = ?, consistency_proof = ? WHERE size = ?').run(bytesToHex(treeRoot(nodes, size)), proof, size);
    }
  })();
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run audit:verify [-- args]` as a child process, with exactly `env` besides PATH. */
export function runCli(env: Record<string, string>, args: string[] = []): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function runCliJson(env: Record<string, string>): Promise<{ code: number | null; report: FullAuditReport; stderr: string }> {
  const run = await runCli(env, ['--json']);
  if (run.code !== 0 && run.code !== 1) throw new Error(`audit:verify exited ${run.code}: ${run.stderr}`);
  return { code: run.code, report: JSON.parse(run.stdout) as FullAuditReport, stderr: run.stderr };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
