// The shape of a route module: each endpoint family (log, root, search, jobs, downloads, …) is one
// module built from the shared service parts; routes/index.ts lists them.
import type { AuditLog } from '../audit-log.js';
import type { LocalAuditOptions } from '../service.js';
import type { ActionHandler, ActionResult, RawResponse } from '../http/router.js';

/** A group of routes with the state they need; the service merges every module's routes. */
export interface RouteModule {
  actions?: Record<string, ActionHandler>;
  poll?: (requestId: string) => ActionResult | undefined;
  publicGet?: (path: string) => RawResponse | undefined;
  close?: () => void | Promise<void>;
}

export interface ServiceParts {
  log: AuditLog;
  options: Required<Pick<LocalAuditOptions, 'resultTtlMs' | 'maxBodyBytes' | 'prefilterMinEvents'>>;
  publicUrl: () => string;
  onError: (err: unknown) => void;
}

export type RouteModuleFactory = (parts: ServiceParts) => RouteModule;

