// The embedded local audit service in a process of its own (the default for `npm start`): the
// gateway and the service each get an event loop, so both cores work under load and a long
// SQLite statement in the service no longer holds up every other gateway request. The child runs
// exactly as `npm run local-audit` does, in its own process group (a terminal's Ctrl-C reaches
// only the gateway, which stops the service after draining), with an IPC channel whose loss makes
// it shut down (the gateway died) and over which it reports its address once it listens
// (`{ type: 'listening', url }`, sent by src/local-audit/main.ts). Once the gateway is up it asks
// the child to start its search threads (`{ type: 'warm-search-workers' }`), which a child started
// again later is asked as soon as it listens. If it exits on its own it is started again, on the
// same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface EmbeddedProcessOptions {
  dataDir: string;
  /** 0 picks a free port at the first start; restarts reuse the port it got. */
  port: number;
  token: string;
  publishIntervalMs: number;
  schemaFile?: string | undefined;
  log: (line: string) => void;
  /** How long a start may take before it counts as failed (default 60 s). */
  startTimeoutMs?: number;
}

export interface EmbeddedProcess {
  url: string;
  /** The running child's pid (undefined while it is being restarted). */
  pid(): number | undefined;
  /**
   * Asks the service to start its search threads (LocalAudit.warmSearchWorkers), now and in every
   * child started again later: called once the gateway's own start is over, which they would
   * otherwise slow down.
   */
  warmSearchWorkers(): void;
  /** Stops the service (SIGTERM, then SIGKILL after 15 s) and stops restarting it. */
  close(): Promise<void>;
}

// Compiled (dist/), this module is JavaScript next to the compiled service, which node runs as it
// is; from source (tsx, Jest) the child runs the TypeScript entry with tsx as its loader.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const MAIN = fileURLToPath(new URL(`../local-audit/main.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));
const CHILD_ARGS = FROM_SOURCE ? ['--import', 'tsx', MAIN] : [MAIN];
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A child that stayed up this long resets the restart delay. */
const STABLE_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

interface Started {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

function startChild(options: EmbeddedProcessOptions, port: number): Promise<Started> {
  const child = spawn(process.execPath, CHILD_ARGS, {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: options.dataDir,
      LOCAL_AUDIT_PORT: String(port),
      LOCAL_AUDIT_HOST: '127.0.0.1',
      AUDIT_TOKEN: options.token,
      LOCAL_AUDIT_PUBLISH_INTERVAL_MS: String(options.publishIntervalMs),
      LOCAL_AUDIT_SCHEMA_FILE: options.schemaFile ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stderr! }).on('line', (line) => console.error(line));
  return new Promise<Started>((resolve, reject) => {
    let listening = false;
    const timer = setTimeout(() => {
      if (listening) return;
      child.kill('SIGKILL');
      reject(new Error(`the local audit service did not start within ${options.startTimeoutMs ?? 60_000} ms`));
    }, options.startTimeoutMs ?? 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => options.log(line));
    child.on('message', (message: unknown) => {
      const url = listeningUrl(message);
      if (listening || url === undefined) return;
      listening = true;
      clearTimeout(timer);
      resolve({ child, url, exited });
    });
    void exited.then(() => {
      clearTimeout(timer);
      if (!listening) reject(new Error(`the local audit service exited before listening (code ${child.exitCode}, signal ${child.signalCode})`));
    });
  });
}

/** The URL of a `{ type: 'listening', url }` message from the child, else undefined. */
function listeningUrl(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, url } = message as { type?: unknown; url?: unknown };
  return type === 'listening' && typeof url === 'string' && URL.canParse(url) ? url : undefined;
}

export async function startEmbeddedProcess(options: EmbeddedProcessOptions): Promise<EmbeddedProcess> {
  let current: Started | undefined = await startChild(options, options.port);
  const url = current.url;
  const port = Number(new URL(url).port);
  let closing = false;
  let delay = RESTART_MIN_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let warm = false;
  const askToWarm = (started: Started): void => {
    // The callback keeps a channel that is already gone (the child exiting) from throwing.
    if (started.child.connected) started.child.send({ type: 'warm-search-workers' }, undefined, {}, () => undefined);
  };

  /** Starts the service again after the current delay (doubling up to RESTART_MAX_MS). */
  const restartLater = (): void => {
    const wait = delay;
    delay = Math.min(delay * 2, RESTART_MAX_MS);
    restartTimer = setTimeout(() => {
      startChild(options, port).then(
        (next) => {
          if (closing) {
            next.child.kill('SIGTERM');
            return;
          }
          current = next;
          watch(next);
          if (warm) askToWarm(next);
        },
        (err: unknown) => {
          if (closing) return;
          options.log(`audit-gateway: the local audit service did not start again (${err instanceof Error ? err.message : String(err)}); retrying in ${delay} ms`);
          restartLater();
        },
      );
    }, wait);
  };

  const watch = (started: Started): void => {
    const since = Date.now();
    void started.exited.then(() => {
      if (closing) return;
      current = undefined;
      if (Date.now() - since > STABLE_MS) delay = RESTART_MIN_MS;
      options.log(
        `audit-gateway: the local audit service exited (code ${started.child.exitCode}, signal ${started.child.signalCode}); starting it again in ${delay} ms`,
      );
      restartLater();
    });
  };
  watch(current);

  return {
    url,
    pid: () => current?.child.pid,
    warmSearchWorkers: () => {
      warm = true;
      if (current) askToWarm(current);
    },
    close: async () => {
      closing = true;
      if (restartTimer) clearTimeout(restartTimer);
      const running = current;
      if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
      running.child.kill('SIGTERM');
      const killer = setTimeout(() => running.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await running.exited;
      clearTimeout(killer);
    },
  };
}
