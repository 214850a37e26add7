// Assembles the local audit service: database, audit log, publisher, routes and HTTP listener.
// `startLocalAudit` is the library entry point used by tests, the gateway and main.ts.
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { AuditLog } from './audit-log.js';
import { DownloadFiles } from './download-files.js';
import { loadSchemaFile, STANDARD_SCHEMA, type AuditSchema } from './audit-schema.js';
import { WriteHealth } from './core/write-health.js';
import { prepareDataDir } from './data-dir.js';
import { readinessAnswer, type Readiness } from './http/readiness.js';
import { createHttpServer } from './http/server.js';
import type { ActionContext, Routes } from './http/router.js';
import { JobRunner } from './jobs.js';
import { Publisher } from './publisher.js';
import { ROUTE_MODULES } from './routes/index.js';
import type { RouteModule, ServiceParts } from './routes/module.js';
import { fieldColumn, ftsFieldIds, openDatabase } from './store/database.js';
import { startIntegrityCheck, type IntegrityOutcome } from './store/integrity-check.js';
import { DownloadStore } from './store/download-store.js';
import { ExportQuery } from './store/export-query.js';
import { JobStore } from './store/job-store.js';
import { ResultSetStore } from './store/result-sets.js';
import { DEFAULT_SEARCH_DEADLINE_MS, SearchStore } from './store/search-store.js';
import { WalCheckpointer } from './store/wal-checkpointer.js';
import { TrigramIndexer } from './store/trigram-indexer.js';
import { sqliteTransactions } from './store/transactions.js';
import { loadOrCreateToken } from './token.js';

/** How long close() lets requests in flight finish before it cuts their connections (default). */
const CLOSE_GRACE_MS = 10_000;

export interface LocalAuditOptions {
  /** Directory of the SQLite file (and the generated token). Default ./data */
  dataDir?: string;
  /** Port to listen on; 0 picks a free one. Default 4001. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1 (loopback only). */
  host?: string;
  /**
   * The service's address as its clients reach it (e.g. `https://audit.example.com` behind a proxy),
   * used in the links its answers carry: download `dest_url`, the 202 `location` and published roots'
   * `url`. Default: the address it listens on, with a loopback address for a wildcard bind.
   */
  publicUrl?: string;
  /** Bearer token to accept; generated and stored in dataDir when absent. */
  token?: string;
  /** How often the current size is published, in ms (0 disables the timer). Default 2000. */
  publishIntervalMs?: number;
  /** Custom schema (object or path to a JSON file) instead of the standard audit schema. */
  schema?: AuditSchema | string;
  /** Largest accepted request body. Default 10 MiB. */
  maxBodyBytes?: number;
  /**
   * Most request body bytes buffered at once across all requests; past it requests are answered
   * 503 with Retry-After. Default 256 MiB (at least maxBodyBytes).
   */
  maxBodyBytesInFlight?: number;
  /** How long a search result set lives. Default 24 h. */
  resultTtlMs?: number;
  /**
   * Searches use the trigram index only once the log holds at least this many events; below it a
   * scan of the whole table is cheaper than the index lookup. Default 4096.
   */
  prefilterMinEvents?: number;
  /**
   * How long one search may run (ms) before it ends with "search too expensive: narrow it" (400).
   * Default: LOCAL_AUDIT_SEARCH_DEADLINE_MS, else 10000.
   */
  searchDeadlineMs?: number;
  /** Worker threads that run searches, off the thread that commits appends. Default 2. */
  searchWorkers?: number;
  /** Where unexpected errors go. Default: console.error. */
  onError?: (err: unknown) => void;
  /** Where warnings about the setup go (a data directory open to others). Default: console.warn. */
  onWarning?: (message: string) => void;
  /** How long close() lets requests in flight finish before it cuts their connections. Default 10 000 ms. */
  closeGraceMs?: number;
}

export interface LocalAudit {
  /** Where this machine reaches the service (a loopback address when it is bound to a wildcard). */
  url: string;
  /** The base of the links in its answers (LocalAuditOptions.publicUrl, else `url`). */
  publicUrl: string;
  token: string;
  /** True when the token was generated (and stored) by this start. */
  tokenGenerated: boolean;
  dataDir: string;
  log: AuditLog;
  /** The service's job runner (tests pause and resume it). */
  jobs: JobRunner;
  /** Publishes the current size now (tests use it instead of waiting for the timer). */
  publishNow(): void;
  /**
   * Resolves once the trigram index covers the first `size` leaves (default: the log's size now).
   * Searches find the same events before that, by looking at the ones not indexed yet.
   */
  trigramsIndexed(size?: number): Promise<void>;
  /**
   * Starts the search threads now instead of with the first searches, which would otherwise wait
   * for them: each loads its modules and opens its connections first (about 0.4 s of CPU from
   * source, 0.15 s compiled, and more when a burst of searches arrives on a busy machine). Not done
   * by the service itself: a process that starts it may still be starting (the gateway beside it)
   * or never search (a test, an import). Returns how many it started (none when all run already).
   */
  warmSearchWorkers(): number;
  /** Search worker threads running now. */
  searchWorkers(): number;
  /**
   * The integrity check of the database (PRAGMA quick_check, in a worker from the start on): not
   * ready until it passed; a failure is reported to onError and /ready says it.
   */
  integrity: Promise<IntegrityOutcome>;
  close(): Promise<void>;
}

function searchDeadlineFromEnv(): number {
  const raw = process.env.LOCAL_AUDIT_SEARCH_DEADLINE_MS;
  if (raw === undefined || raw === '') return DEFAULT_SEARCH_DEADLINE_MS;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`LOCAL_AUDIT_SEARCH_DEADLINE_MS must be a positive integer (ms), got "${raw}"`);
  return value;
}

/** A public URL without a trailing slash, or an error saying what is wrong with it. */
function normalizePublicUrl(text: string): string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new Error(`the public URL must be an absolute http(s) URL, got "${text}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`the public URL must be http or https, got "${text}"`);
  // Paths are appended to it: a query or fragment would end up in the middle of every link.
  if (parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw new Error(`the public URL must have no query, fragment or credentials, got "${text}"`);
  }
  return parsed.href.replace(/\/+$/, '');
}

function isWildcard(address: AddressInfo): boolean {
  return address.address === '0.0.0.0' || address.address === '::';
}

/**
 * Where this machine reaches a listener bound to `host`: a wildcard address (0.0.0.0, ::) is no
 * address to connect to, and no link to hand out, so its loopback stands in for it.
 */
function reachableUrl(host: string, address: AddressInfo): string {
  const name = isWildcard(address) ? (address.family === 'IPv6' ? '::1' : '127.0.0.1') : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${address.port}`;
}

export async function startLocalAudit(options: LocalAuditOptions = {}): Promise<LocalAudit> {
  const dataDir = resolve(options.dataDir ?? './data');
  const configuredPublicUrl = options.publicUrl === undefined || options.publicUrl === '' ? undefined : normalizePublicUrl(options.publicUrl);
  const searchDeadlineMs = options.searchDeadlineMs ?? searchDeadlineFromEnv();
  const onWarning = options.onWarning ?? ((message: string) => console.warn(`[local-audit] warning: ${message}`));
  for (const warning of prepareDataDir(dataDir)) onWarning(warning);
  const schema = typeof options.schema === 'string' ? loadSchemaFile(options.schema) : (options.schema ?? STANDARD_SCHEMA);
  const reportError = options.onError ?? ((err: unknown) => console.error('[local-audit]', err));
  // Every unexpected error passes here (from requests, jobs, the publisher): a storage failure
  // among them makes the service not ready until an append commits again (the log grows).
  const health = new WriteHealth(() => log.size);
  const onError = (err: unknown): void => {
    health.noteError(err);
    reportError(err);
  };
  const { token, generated } = loadOrCreateToken(dataDir, options.token);
  const db = openDatabase(join(dataDir, 'audit.sqlite'), schema);
  const checkpointer = new WalCheckpointer(db, onError);
  // The index only speeds searches up: its failures are reported, and do not make the service unready.
  const ftsColumns = ftsFieldIds(schema).map(fieldColumn);
  const trigrams = ftsColumns.length > 0 ? new TrigramIndexer(db, ftsColumns, reportError) : undefined;
  const check = startIntegrityCheck(join(dataDir, 'audit.sqlite'));
  let integrity: IntegrityOutcome | undefined;
  // A check ended by close() is no finding.
  let checkStopped = false;
  const integrityOutcome = check.outcome.then((outcome) => {
    integrity = outcome;
    if (!outcome.ok && !checkStopped) onError(new Error(outcome.reason));
    return outcome;
  });
  const log = new AuditLog(db, schema);
  // Every rolled-back job may have appended: resync as a failed append does.
  const jobs = new JobRunner(new JobStore(db), { onError, afterRollback: () => log.resync() });
  const downloads = new DownloadStore(db);
  let publicUrl = '';
  const parts: ServiceParts = {
    log,
    resultSets: new ResultSetStore(db),
    search: new SearchStore(db, schema, log.events, {
      prefilterMinEvents: options.prefilterMinEvents ?? 4096,
      indexPath: trigrams?.path,
      onError,
      deadlineMs: searchDeadlineMs,
      workers: options.searchWorkers,
    }),
    exports: new ExportQuery(db, schema),
    downloads,
    files: new DownloadFiles(join(dataDir, 'downloads'), downloads, onError),
    jobs,
    transactions: sqliteTransactions(db),
    options: {
      resultTtlMs: options.resultTtlMs ?? 24 * 3600_000,
      maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
    },
    publicUrl: () => publicUrl,
    onError,
  };
  const modules: RouteModule[] = ROUTE_MODULES.map((factory) => factory(parts));
  // Every module has registered its job kinds: jobs left pending by a previous run can resume.
  jobs.start();
  const actions = Object.assign({}, ...modules.map((m) => m.actions ?? {})) as Routes['actions'];
  const routes: Routes = {
    // Each request first picks up what another connection may have written (AuditLog.syncWithDisk).
    actions: Object.fromEntries(
      Object.entries(actions).map(([name, handler]) => [
        name,
        (ctx: ActionContext) => {
          log.syncWithDisk();
          return handler(ctx);
        },
      ]),
    ),
    poll: (id) => {
      log.syncWithDisk();
      for (const m of modules) {
        const out = m.poll?.(id);
        if (out) return out;
      }
      return undefined;
    },
    publicGet: (path) => {
      // Before syncWithDisk: readiness must answer even when reading the store fails.
      const probe = readinessAnswer(path, ready);
      if (probe) return probe;
      log.syncWithDisk();
      for (const m of modules) {
        const out = m.publicGet?.(path);
        if (out) return out;
      }
      return undefined;
    },
  };
  const ready = (): Readiness => {
    if (integrity === undefined) return { ok: false, detail: 'checking the integrity of the audit database (PRAGMA quick_check)' };
    if (!integrity.ok) return { ok: false, detail: integrity.reason };
    const state = health.state();
    return state.ok ? { ok: true, detail: `writes succeed; ${log.size} events` } : { ok: false, detail: `writes are failing since ${state.since}: ${state.reason}` };
  };
  const server = createHttpServer(routes, {
    token,
    maxBodyBytes: parts.options.maxBodyBytes,
    maxBodyBytesInFlight: Math.max(options.maxBodyBytesInFlight ?? 256 * 1024 * 1024, parts.options.maxBodyBytes),
    onError,
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4001, host, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const localUrl = reachableUrl(host, address);
  publicUrl = configuredPublicUrl ?? localUrl;
  if (configuredPublicUrl === undefined && isWildcard(address)) {
    onWarning(
      `listening on all interfaces (${host}) with no public URL: the links in answers (download dest_url, 202 location, root url) ` +
        `use ${localUrl}, which only this machine reaches; set the public URL (LOCAL_AUDIT_PUBLIC_URL) to the address clients use`,
    );
  }
  log.publicUrl = publicUrl;
  const publisher = new Publisher(log, options.publishIntervalMs ?? 2000, onError);
  publisher.start();

  let closed: Promise<void> | undefined;
  return {
    url: localUrl,
    publicUrl,
    token,
    tokenGenerated: generated,
    dataDir,
    log,
    jobs,
    publishNow: () => publisher.publishNow(),
    trigramsIndexed: (size = log.size) => trigrams?.whenIndexed(size) ?? Promise.resolve(),
    warmSearchWorkers: () => parts.search.warm(),
    searchWorkers: () => parts.search.workers,
    integrity: integrityOutcome,
    close: () =>
      (closed ??= (async () => {
        publisher.stop();
        checkStopped = true;
        await check.stop();
        await new Promise<void>((r) => {
          // server.close() waits for every connection with a request in it: a search starved of
          // CPU (search threads run at a low priority) or a client that never finishes its body
          // would hold the whole close. What is still open after the grace is cut.
          const cut = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? CLOSE_GRACE_MS).unref();
          server.close(() => {
            clearTimeout(cut);
            r();
          });
          server.closeIdleConnections();
        });
        for (const m of modules) await m.close?.();
        jobs.stop();
        // An export being written stops at its next page; the database is closed after it.
        await jobs.settled();
        await trigrams?.stop();
        await checkpointer.stop();
        db.close();
      })()),
  };
}
