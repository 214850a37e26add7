// `npm start`: the gateway, with the local audit service embedded unless an upstream is set.
// First: the heap setting applies to everything the modules below allocate.
import './gateway/heap-settings.js';
import { ConfigError, loadConfig } from './config.js';
import { startGateway } from './gateway/start.js';

/** How long in-flight requests may take to finish after SIGTERM/SIGINT. */
const DRAIN_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const running = await startGateway(config);
  let stopping = false;
  const stop = (signal: string): void => {
    // A repeated signal (a terminal's Ctrl+C reaches both tsx and us) does not cut the drain short.
    if (stopping) return;
    stopping = true;
    // close() stops accepting synchronously: once this line is out, new connections are refused.
    const closed = running.close({ drainMs: DRAIN_MS });
    console.log(`audit-gateway: ${signal} received, finishing in-flight requests (at most ${DRAIN_MS / 1000} s)`);
    // Last resort if closing the pools or the embedded service hangs after the drain.
    const force = setTimeout(() => {
      console.error('audit-gateway: shutdown did not finish in time, exiting');
      process.exit(1);
    }, DRAIN_MS + 5_000);
    force.unref();
    closed.then(
      () => {
        console.log('audit-gateway: stopped');
        process.exit(0);
      },
      (err: unknown) => {
        console.error('audit-gateway: error while shutting down:', err instanceof Error ? err.message : err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  console.error(`audit-gateway: cannot start: ${message}`);
  process.exit(1);
});
