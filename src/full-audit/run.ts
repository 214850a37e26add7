// runFullAudit: the audit in this process, configured like the gateway (src/config.ts): the
// embedded service's data directory, or the remote service with its token; the verified roots from
// the integrity monitor's signed state file, where the gateway keeps it, under the gateway's key.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type UpstreamConfig } from '../config.js';
import { defaultIntegrityKeyFile, loadOrCreateIntegrityKey, stateMarksDir } from '../trust/state-file.js';
import { auditSource } from './core.js';
import { openEmbeddedSource } from './embedded-source.js';
import { openRemoteSource } from './remote-source.js';
import type { AuditProgress, AuditSource, FullAuditReport } from './types.js';
import { readVerifiedRoots, type VerifiedRoot } from './verified-roots.js';

export interface FullAuditOptions {
  /** Where the log is (loadConfig().upstream). */
  upstream: UpstreamConfig;
  /** The integrity monitor's state file; absent: no verified roots are compared. */
  integrityStateFile?: string | undefined;
  /**
   * The HMAC key file the state file is signed under (INTEGRITY_KEY_FILE); absent: the default
   * place (defaultIntegrityKeyFile). Read only when the state file exists.
   */
  integrityKeyFile?: string | undefined;
  /** Findings listed in the report (the rest are counted). Default 1000. */
  maxFindings?: number;
  signal?: AbortSignal;
  /** Called after each chunk of events. */
  onProgress?: (progress: AuditProgress) => void;
}

/** The audit's options from the environment `npm start` reads (throws ConfigError on a bad value). */
export function fullAuditOptionsFromEnv(env: Record<string, string | undefined> = process.env): FullAuditOptions {
  const config = loadConfig(env);
  // Where the gateway's monitor keeps its state (src/gateway/start.ts).
  const integrityStateFile =
    config.integrityStateFile ?? (config.upstream.kind === 'embedded' ? join(resolve(config.upstream.dataDir), 'integrity-state.json') : undefined);
  return { upstream: config.upstream, integrityStateFile, integrityKeyFile: config.integrityKeyFile ?? defaultIntegrityKeyFile(env) };
}

/** The upstream name the integrity monitor writes into its state file. */
function upstreamId(upstream: UpstreamConfig): string {
  return upstream.kind === 'embedded' ? 'embedded' : upstream.baseUrl;
}

/**
 * Runs the full audit in this process. Resolves with the report (findings or not); rejects when
 * the audit cannot run (no database, upstream unreachable, unreadable state file...). The work is
 * CPU-bound: it gives the event loop a turn every 50 ms, but a server should rather use
 * runFullAuditProcess, which runs it in a child process.
 */
export async function runFullAudit(options: FullAuditOptions): Promise<FullAuditReport> {
  const startedAt = performance.now();
  const upstream = options.upstream;
  const readVerified = (): VerifiedRoot[] => {
    const stateFile = options.integrityStateFile;
    // No state file, nothing to verify: an audit must not leave a new key behind for nothing.
    if (!stateFile || !existsSync(stateFile)) return [];
    const keyFile = options.integrityKeyFile ?? defaultIntegrityKeyFile();
    return readVerifiedRoots(stateFile, loadOrCreateIntegrityKey(keyFile), upstreamId(upstream), stateMarksDir(keyFile));
  };
  let source: AuditSource;
  let verifiedRoots: VerifiedRoot[];
  if (upstream.kind === 'embedded') {
    // The data directory first: a missing database says more than a state file beside it.
    source = openEmbeddedSource(upstream.dataDir);
    try {
      verifiedRoots = readVerified();
    } catch (err) {
      await source.close();
      throw err;
    }
  } else {
    if (!upstream.token) throw new Error('a full audit of a remote upstream needs AUDIT_TOKEN');
    // The verified sizes first: their published roots are fetched along with the others.
    verifiedRoots = readVerified();
    source = await openRemoteSource({
      baseUrl: upstream.baseUrl,
      token: upstream.token,
      configId: upstream.configId,
      verifiedSizes: verifiedRoots.map((r) => r.size),
      signal: options.signal,
    });
  }
  return auditSource(source, {
    startedAt,
    verifiedRoots,
    maxFindings: options.maxFindings,
    signal: options.signal,
    onProgress: options.onProgress,
  });
}
