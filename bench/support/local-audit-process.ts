// The local audit service as `npm run local-audit` runs it, in its own process, for benchmarks
// that must not share a CPU (or an event loop) with the clients they measure.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/local-audit/main.ts', import.meta.url));

export interface ServiceProcess {
  url: string;
  proc: ChildProcess;
  /** From spawn to the "listening" line (includes node + tsx start-up). */
  readyMs: number;
  stop(): Promise<void>;
}

export function spawnLocalAudit(options: { dataDir: string; token: string; publishIntervalMs?: number }): Promise<ServiceProcess> {
  const started = performance.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: options.dataDir,
      LOCAL_AUDIT_PORT: '0',
      AUDIT_TOKEN: options.token,
      LOCAL_AUDIT_PUBLISH_INTERVAL_MS: String(options.publishIntervalMs ?? 2000),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      const m = / listening on (\S+) /.exec(line);
      if (!m) return;
      resolve({
        url: m[1]!,
        proc,
        readyMs: performance.now() - started,
        stop: async () => {
          proc.kill('SIGTERM');
          await exited;
        },
      });
    });
    void exited.then(() => reject(new Error('service exited before listening')));
  });
}
