// `npm start`: the gateway, with the local audit service embedded unless an upstream is set.
import { ConfigError, loadConfig } from './config.js';
import { startGateway } from './gateway/start.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const running = await startGateway(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`audit-gateway: ${signal} received, finishing in-flight requests`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    running.close().then(
      () => process.exit(0),
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
