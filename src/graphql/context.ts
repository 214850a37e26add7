// The per-request GraphQL context. The gateway builds one for every request (buildContext); loaders
// live here (not in module scope) so batching and per-request caching never leak between callers.
import type { AuditClient, EventSigner } from '../audit-client/index.js';
import type { Loaders } from './loaders.js';
import type { UpstreamState } from './upstream-state.js';
import type { Caller } from '../auth/caller.js';
import type { CursorCodec } from './cursor.js';
import type { IntegrityWatch } from '../trust/integrity-status.js';
import type { JobHandles } from '../auth/job-handles.js';

/** The URLs the gateway hands out, all under its public address (PUBLIC_URL), never the upstream's. */
export interface GatewayUrls {
  /** A gateway link to an upstream result file, bound to `caller` and expiring with the file. */
  download(file: { upstreamUrl: string; expiresAt: string; format: string; caller: Caller }): { url: string; expiresAt: string };
  /** Where a client polls an accepted request through the gateway. */
  poll(requestId: string): string;
}

/** The checks of an event's verification, as the API names them, with the verdict over them. */
export const VERIFICATION_CHECKS = ['hash', 'membership', 'consistency', 'signature', 'witness', 'verdict'] as const;
export type VerificationCheck = (typeof VERIFICATION_CHECKS)[number];

/** Told of every check of a verification the gateway resolves for a caller (its metrics). */
export interface VerificationTally {
  count(check: VerificationCheck, status: string): void;
}

export interface GraphQLContext {
  /** The REST client for this request's upstream (pass-through callers get their own token's). */
  client: AuditClient;
  /** Per-request DataLoaders (published roots), backed by a cross-request cache. */
  loaders: Loaders;
  /** Facts about the upstream that outlive requests: last verified root, one-event-per-leaf. */
  upstream: UpstreamState;
  /** Who is calling, with scopes and an optional tenant binding. */
  caller: Caller;
  /** Signs events for `signLocal`, when a signing key is configured. */
  signer: EventSigner | undefined;
  /** Signs and checks connection cursors. */
  cursors: CursorCodec;
  /** Aborted when the HTTP request goes away, so REST calls stop too. */
  signal: AbortSignal;
  /** The gateway's watch over the upstream log (absent when no monitor runs, e.g. pass-through). */
  integrity?: IntegrityWatch | undefined;
  /** Seals and opens the handles of accepted requests (who started them, and their kind). */
  jobs: JobHandles;
  /** Download and poll URLs under the gateway's public address. */
  urls: GatewayUrls;
  /** Milliseconds between a live-tail watcher's polls (LIVE_TAIL_INTERVAL_MS). */
  liveTailIntervalMs?: number | undefined;
  /** Counts the verification checks resolved for callers (absent when metrics are off). */
  verificationTally?: VerificationTally | undefined;
}
