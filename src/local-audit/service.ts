// Assembles the local audit service: database, audit log, publisher, routes and HTTP listener.
// `startLocalAudit` is the library entry point used by tests, the gateway and main.ts.
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { AuditLog } from './audit-log.js';
import { loadSchemaFile, STANDARD_SCHEMA, type AuditSchema } from './audit-schema.js';
import { createHttpServer } from './http/server.js';
import type { ActionContext, Routes } from './http/router.js';
import { JobRunner } from './jobs.js';
import { Publisher } from './publisher.js';
import { ROUTE_MODULES } from './routes/index.js';
import type { RouteModule, ServiceParts } from './routes/module.js';
import { openDatabase } from './store/database.js';
import { DownloadStore } from './store/download-store.js';
import { ExportQuery } from './store/export-query.js';
import { JobStore } from './store/job-store.js';
import { ResultSetStore } from './store/result-sets.js';
import { SearchStore } from './store/search-store.js';
import { sqliteTransactions } from './store/transactions.js';
import { loadOrCreateToken } from './token.js';

export interface LocalAuditOptions {
  /** Directory of the SQLite file (and the generated token). Default ./data */
  dataDir?: string;
  /** Port to listen on; 0 picks a free one. Default 4001. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Bearer token to accept; generated and stored in dataDir when absent. */
  token?: string;
  /** How often the current size is published, in ms (0 disables the timer). Default 2000. */
  publishIntervalMs?: number;
  /** Custom schema (object or path to a JSON file) instead of the standard audit schema. */
  schema?: AuditSchema | string;
  /** Largest accepted request body. Default 10 MiB. */
  maxBodyBytes?: number;
  /** How long a search result set lives. Default 24 h. */
  resultTtlMs?: number;
  /**
   * Searches use the trigram index only once the log holds at least this many events; below it a
   * scan of the whole table is cheaper than the index lookup. Default 4096.
   */
  prefilterMinEvents?: number;
  /** Where unexpected errors go. Default: console.error. */
  onError?: (err: unknown) => void;
}

export interface LocalAudit {
  url: string;
  token: string;
  /** True when the token was generated (and stored) by this start. */
  tokenGenerated: boolean;
  dataDir: string;
  log: AuditLog;
  /** The service's job runner (tests pause and resume it). */
  jobs: JobRunner;
  /** Publishes the current size now (tests use it instead of waiting for the timer). */
  publishNow(): void;
  close(): Promise<void>;
}

export async function startLocalAudit(options: LocalAuditOptions = {}): Promise<LocalAudit> {
  const dataDir = resolve(options.dataDir ?? './data');
  mkdirSync(dataDir, { recursive: true });
  const schema = typeof options.schema === 'string' ? loadSchemaFile(options.schema) : (options.schema ?? STANDARD_SCHEMA);
  const onError = options.onError ?? ((err: unknown) => console.error('[local-audit]', err));
  const { token, generated } = loadOrCreateToken(dataDir, options.token);
  const db = openDatabase(join(dataDir, 'audit.sqlite'), schema);
  const log = new AuditLog(db, schema);
  // Every rolled-back job may have appended: resync as a failed append does.
  const jobs = new JobRunner(new JobStore(db), { onError, afterRollback: () => log.resync() });
  let url = '';
  const parts: ServiceParts = {
    log,
    resultSets: new ResultSetStore(db),
    search: new SearchStore(db, schema, log.events, { prefilterMinEvents: options.prefilterMinEvents ?? 4096, onError }),
    exports: new ExportQuery(db, schema),
    downloads: new DownloadStore(db),
    jobs,
    transactions: sqliteTransactions(db),
    options: {
      resultTtlMs: options.resultTtlMs ?? 24 * 3600_000,
      maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
    },
    publicUrl: () => url,
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
      log.syncWithDisk();
      for (const m of modules) {
        const out = m.publicGet?.(path);
        if (out) return out;
      }
      return undefined;
    },
  };
  const server = createHttpServer(routes, { token, maxBodyBytes: parts.options.maxBodyBytes, onError });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4001, host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.publicUrl = url;
  const publisher = new Publisher(log, options.publishIntervalMs ?? 2000, onError);
  publisher.start();

  let closed: Promise<void> | undefined;
  return {
    url,
    token,
    tokenGenerated: generated,
    dataDir,
    log,
    jobs,
    publishNow: () => publisher.publishNow(),
    close: () =>
      (closed ??= (async () => {
        publisher.stop();
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeIdleConnections();
        });
        for (const m of modules) await m.close?.();
        jobs.stop();
        db.close();
      })()),
  };
}
