// Export benchmark (`npm run bench:export`): a verbose JSON export of a 1M-event log (BENCH_EVENTS=n
// to change it), run by the local audit service in its own process (`npm run local-audit`, as
// deployed), then downloaded over HTTP. The export starts once the service is ready (GET /ready:
// its start-up integrity check has finished). Prints the export time (submit to done), the
// download time and size, the events counted in the file, and the service's peak RSS over the
// export and the download (VmHWM of the child, reset through /proc/<pid>/clear_refs once ready)
// against the target of <= 200 MB, with the start-up peak beside it. Exits non-zero only when
// the file is wrong (not the number of events exported).
//
// The data directory is a copy of the full-audit benchmark's (bench/audit-verify.bench.ts, same
// events) when that one is built with a compatible schema (the standard fields with the same ids,
// types, sizes and required flags; descriptions may have been reworded since, and the copy gets
// today's), so the two benchmarks share the building; otherwise it is built here the same way. The copy is kept under os.tmpdir() with a
// flag file (BENCH_REBUILD=1 makes it again), so the export never writes into the other one.
import Database from 'better-sqlite3';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { STANDARD_SCHEMA, type AuditSchema } from '../src/local-audit/audit-schema.js';
import { microTimestamp } from '../src/local-audit/core/clock.js';
import { startLocalAudit } from '../src/local-audit/index.js';
import type { StoredEnvelope } from '../src/local-audit/store/event-store.js';
import { benchEvent } from './support/events.js';
import { verdict } from './support/measure.js';
import { spawnLocalAudit } from './support/processes.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const TARGET_RSS_MB = 200;
const TOKEN = 'bench-token';
const DATA_DIR = join(tmpdir(), `export-bench-${EVENTS}`);
const BUILT_FLAG = join(DATA_DIR, '.bench-built');
/** The full-audit benchmark's directory, copied when it is complete. */
const SHARED_DIR = join(tmpdir(), `audit-verify-bench-${EVENTS}`);

type Json = Record<string, any>;

/** The full-audit benchmark's events: the standard fields, a client timestamp, now and then old/new. */
function auditedEvent(i: number): Record<string, string> {
  const event: Record<string, string> = { ...benchEvent(i), timestamp: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() };
  if (i % 10 === 0) {
    event.old = JSON.stringify({ email: `old-${i}@example.com`, plan: 'basic' });
    event.new = JSON.stringify({ email: `new-${i}@example.com`, plan: 'pro' });
  }
  return event;
}

/** What the events table is made of: field ids, types, sizes and required flags. */
const layout = (schema: AuditSchema): string => JSON.stringify(schema.fields.map((f) => [f.id, f.type, f.size ?? null, f.required ?? false]));

/** Whether the shared directory is built and its schema lays the events out as today's does. */
function sharedIsCompatible(): boolean {
  if (!existsSync(join(SHARED_DIR, '.bench-built')) || !existsSync(join(SHARED_DIR, 'audit.sqlite'))) return false;
  const db = new Database(join(SHARED_DIR, 'audit.sqlite'), { readonly: true });
  try {
    const stored = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get() as string | undefined;
    return stored !== undefined && layout(JSON.parse(stored) as AuditSchema) === layout(STANDARD_SCHEMA);
  } finally {
    db.close();
  }
}

async function prepare(): Promise<void> {
  if (process.env.BENCH_REBUILD !== '1' && existsSync(BUILT_FLAG)) return;
  rmSync(DATA_DIR, { recursive: true, force: true });
  if (sharedIsCompatible()) {
    console.log(`copying the ${EVENTS.toLocaleString('en')}-event data directory of bench:audit-verify (${SHARED_DIR})`);
    mkdirSync(DATA_DIR, { recursive: true, mode: 0o700 });
    // The database and its WAL: a copy taken while no process has it open is consistent.
    for (const name of ['audit.sqlite', 'audit.sqlite-wal']) {
      if (existsSync(join(SHARED_DIR, name))) cpSync(join(SHARED_DIR, name), join(DATA_DIR, name));
    }
    const db = new Database(join(DATA_DIR, 'audit.sqlite'));
    try {
      db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema'`).run(JSON.stringify(STANDARD_SCHEMA));
    } finally {
      db.close();
    }
  } else {
    console.log(`building a ${EVENTS.toLocaleString('en')}-event data directory in ${DATA_DIR} (AuditLog.append, 10,000 per transaction)`);
    mkdirSync(DATA_DIR, { recursive: true, mode: 0o700 });
    const service = await startLocalAudit({ dataDir: DATA_DIR, port: 0, token: TOKEN, publishIntervalMs: 0, onError: (e) => console.error(e) });
    try {
      for (let start = 0; start < EVENTS; start += 10_000) {
        const envelopes: StoredEnvelope[] = [];
        for (let i = start; i < Math.min(EVENTS, start + 10_000); i++) envelopes.push({ event: auditedEvent(i), received_at: microTimestamp() });
        service.log.append(envelopes);
        if ((start + envelopes.length) % 100_000 === 0 || start + envelopes.length === EVENTS) service.log.publish();
      }
    } finally {
      await service.close();
    }
  }
  writeFileSync(BUILT_FLAG, JSON.stringify({ events: EVENTS, builtAt: new Date().toISOString() }) + '\n');
}

function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  await prepare();
  const server = await spawnLocalAudit({ dataDir: DATA_DIR, token: TOKEN, publishIntervalMs: 0 });
  const pid = server.proc.pid!;
  const post = async (path: string, body: unknown): Promise<{ http: number; body: Json }> => {
    const res = await fetch(`${server.url}/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { http: res.status, body: (await res.json()) as Json };
  };
  let failed = false;
  try {
    // Ready: the integrity check (a worker reading the whole file) is over. 404: a service
    // without the probe.
    for (;;) {
      const res = await fetch(`${server.url}/ready`);
      await res.arrayBuffer();
      if (res.status !== 503) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const startupPeakMb = (procStatusKb(pid, 'VmHWM') ?? Number.NaN) / 1024;
    // "5" resets the peak RSS to the current RSS (Linux >= 4.0).
    let peakFrom = 'VmHWM, reset once ready';
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      peakFrom = 'VmHWM, start-up included: /proc/<pid>/clear_refs is not writable';
    }
    const idleMb = (procStatusKb(pid, 'VmRSS') ?? 0) / 1024;
    const t0 = performance.now();
    const submitted = await post('v1/export', { format: 'json', verbose: true });
    if (submitted.http !== 202) throw new Error(`v1/export answered ${submitted.http}: ${JSON.stringify(submitted.body)}`);
    const id = submitted.body.request_id as string;
    let done: Json;
    for (;;) {
      const res = await fetch(`${server.url}/request/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await res.json()) as Json;
      if (res.status !== 202) {
        done = body;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const exportMs = performance.now() - t0;
    if (done.status !== 'Success') throw new Error(`the export failed: ${JSON.stringify(done)}`);

    const t1 = performance.now();
    const link = await post('v1/download_results', { request_id: id });
    if (link.body.status !== 'Success') throw new Error(`v1/download_results: ${JSON.stringify(link.body)}`);
    const res = await fetch(link.body.result.dest_url as string);
    if (res.status !== 200 || !res.body) throw new Error(`the download answered ${res.status}`);
    let gzipBytes = 0;
    let textBytes = 0;
    let events = 0;
    // Counted as it streams: each event opens with {"envelope":, which nothing else in the file holds.
    let tail = '';
    const counted = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    counted.on('data', (chunk: Buffer) => (gzipBytes += chunk.length));
    await pipeline(
      counted,
      createGunzip(),
      new Writable({
        write(chunk: Buffer, _enc, callback) {
          textBytes += chunk.length;
          const text = tail + chunk.toString('latin1');
          events += text.split('{"envelope":').length - 1;
          // Shorter than the marker, so a marker is never counted twice.
          tail = text.slice(-11);
          callback();
        },
      }),
    );
    const downloadMs = performance.now() - t1;
    const peakMb = (procStatusKb(pid, 'VmHWM') ?? Number.NaN) / 1024;

    const n = (x: number): string => Math.round(x).toLocaleString('en');
    console.log(`export of ${n(done.result.count)} events (verbose JSON), service in its own process (pid ${pid}):`);
    console.log(`  export: ${(exportMs / 1000).toFixed(1)} s (submit to done) = ${n(done.result.count / (exportMs / 1000))} events/s`);
    console.log(`  download: ${(downloadMs / 1000).toFixed(1)} s, ${(gzipBytes / 2 ** 20).toFixed(0)} MiB gzip, ${(textBytes / 2 ** 20).toFixed(0)} MiB of JSON, ${n(events)} events in the file`);
    console.log(`  service RSS: peak ${startupPeakMb.toFixed(0)} MB starting up, ${idleMb.toFixed(0)} MB ready; peak ${peakMb.toFixed(0)} MB over the export and the download (${peakFrom})`);
    console.log(`  target peak RSS <= ${TARGET_RSS_MB} MB: ${verdict(peakMb <= TARGET_RSS_MB)}`);
    if (events !== done.result.count) {
      console.error(`the file holds ${events} events, the export ${done.result.count}`);
      failed = true;
    }
  } finally {
    await server.stop();
  }
  if (failed) process.exitCode = 1;
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
