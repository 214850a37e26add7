// `npm run local-audit`: the local audit service on its own, configured from the environment.
import { startLocalAudit } from './service.js';
import { tokenPath } from './token.js';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`local-audit: ${name} must be a non-negative integer, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

function isWarmRequest(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'warm-search-workers';
}

async function main(): Promise<void> {
  const service = await startLocalAudit({
    port: intFromEnv('LOCAL_AUDIT_PORT', 4001),
    host: process.env.LOCAL_AUDIT_HOST || '127.0.0.1',
    publicUrl: process.env.LOCAL_AUDIT_PUBLIC_URL || undefined,
    dataDir: process.env.DATA_DIR || './data',
    token: process.env.AUDIT_TOKEN || undefined,
    publishIntervalMs: intFromEnv('LOCAL_AUDIT_PUBLISH_INTERVAL_MS', 2000),
    schema: process.env.LOCAL_AUDIT_SCHEMA_FILE || undefined,
  });
  // The token itself is never printed: logs are read and kept by more people than the file.
  if (service.tokenGenerated) console.log(`local-audit: generated a bearer token, stored in ${tokenPath(service.dataDir)} (mode 0600)`);
  console.log(`local-audit: listening on ${service.url} (data in ${service.dataDir}, ${service.log.size} events)`);
  if (service.publicUrl !== service.url) console.log(`local-audit: links in answers use ${service.publicUrl}`);
  // Started by the gateway (src/gateway/embedded-process.ts): it learns the address (the port may
  // have been 0) from this message. The callback keeps a channel that is already gone from
  // becoming an uncaught 'error'; the disconnect handler below deals with a gateway that went away.
  process.send?.({ type: 'listening', url: service.url }, undefined, {}, () => undefined);
  // A service process is there to be searched, and its first searches should not wait for the
  // search threads to start. On its own it starts them now; started by the gateway, once the
  // gateway says it is up (`{ type: 'warm-search-workers' }`), so that they do not compete with
  // the gateway's own start.
  const warm = (): void => {
    const started = service.warmSearchWorkers();
    if (started > 0) console.log(`local-audit: started ${started} search thread${started === 1 ? '' : 's'}`);
  };
  if (process.connected) process.on('message', (message: unknown) => isWarmRequest(message) && warm());
  else warm();
  let stopping = false;
  const stop = (signal: string, exitCode = 0): void => {
    if (stopping) return;
    stopping = true;
    console.log(`local-audit: ${signal}${signal.startsWith('SIG') ? ' received' : ''}, shutting down`);
    service.close().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        console.error('local-audit: error while shutting down:', err);
        process.exit(1);
      },
    );
  };
  // A damaged database is not served from: the service stops, and the gateway that embeds it
  // sees it exit with the reason instead of a service that answers from a broken file.
  void service.integrity.then((outcome) => {
    // A check cut short by a shutdown found nothing wrong.
    if (outcome.ok || stopping) return;
    console.error(`local-audit: refusing to run: ${outcome.reason}`);
    stop('the integrity check failed', 1);
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Started by the gateway (src/gateway/embedded-process.ts): its IPC channel closes when the
  // gateway exits, however it exits, and the service must not outlive it.
  if (process.connected) process.on('disconnect', () => stop('the gateway that started it is gone'));
}

main().catch((err: unknown) => {
  console.error(`local-audit: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
