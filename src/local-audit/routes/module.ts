// The shape of a route module: each endpoint family (log, root, search, jobs, downloads, …) is one
// module built from the shared service parts; routes/index.ts lists them.
import type { AuditLog } from '../audit-log.js';
import type { DownloadFiles } from '../download-files.js';
import type { ActionHandler, ActionResult, RawResponse } from '../http/router.js';
import type { JobRunner } from '../jobs.js';
import type { DownloadStore } from '../store/download-store.js';
import type { ExportQuery } from '../store/export-query.js';
import type { ResultSetStore } from '../store/result-sets.js';
import type { SearchStore } from '../store/search-store.js';
import type { Transactions } from '../store/transactions.js';

/** A group of routes with the state they need; the service merges every module's routes. */
export interface RouteModule {
  actions?: Record<string, ActionHandler>;
  poll?: (requestId: string) => ActionResult | undefined;
  publicGet?: (path: string) => RawResponse | undefined;
  close?: () => void | Promise<void>;
}

interface RouteOptions {
  /** How long a search result set lives. */
  resultTtlMs: number;
  maxBodyBytes: number;
}

/** What the service builds once and every route module shares. */
export interface ServiceParts {
  log: AuditLog;
  resultSets: ResultSetStore;
  search: SearchStore;
  exports: ExportQuery;
  downloads: DownloadStore;
  /** The downloads folder: the files the `downloads` rows describe. */
  files: DownloadFiles;
  /** The one job runner: modules register their kinds on it while the service is assembled. */
  jobs: JobRunner;
  transactions: Transactions;
  options: RouteOptions;
  publicUrl: () => string;
  onError: (err: unknown) => void;
}

export type RouteModuleFactory = (parts: ServiceParts) => RouteModule;
