// The gateway as `npm start` runs it, in a process of its own, for benchmarks that measure it from
// outside: `node --import tsx src/main.ts` (the entry point `npm start` execs, without tsx's CLI
// wrapper process, so the pid is the gateway's), a temp DATA_DIR and the default settings; the
// embedded local audit service runs in its child process. Also: CPU time of a process from /proc.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { profileFlags } from './processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface GatewayProcess {
  /** The GraphQL endpoint. */
  url: URL;
  /** The gateway's own process. */
  pid: number;
  /** The embedded local audit service's process (a child of the gateway's). */
  servicePid: number;
  /** The embedded service's base URL (loopback). */
  serviceUrl: string;
  /** The embedded service's bearer token (DATA_DIR/token). */
  serviceToken: string;
  /** Everything the gateway printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 20 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** The pids of a process's children (/proc/<pid>/task/<tid>/children, Linux). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

// USER_HZ: 100 on every Linux build Node supports.
const CLOCK_TICKS = 100;

/** CPU time (utime + stime, in ms) of a process, from /proc/<pid>/stat (Linux); NaN when unreadable. */
export function processCpuMs(pid: number): number {
  try {
    // The fields after the command name (which may hold spaces and parentheses): utime and stime
    // are the 14th and 15th of the line, the 12th and 13th after ") ".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts the gateway with the embedded service in `dataDir` (ports chosen by the OS, GraphiQL off,
 * every other setting its default) and waits until it serves GraphQL.
 */
export async function startGatewayProcess(dataDir: string, extraEnv: Record<string, string> = {}): Promise<GatewayProcess> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOCAL_AUDIT_PORT: '0', GRAPHIQL: 'false', ...extraEnv };
  const child = spawn(process.execPath, [...profileFlags(), '--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  let match: RegExpMatchArray | null = null;
  while (!(match = out.match(/GraphQL at (http:\/\/\S+\/graphql)/)) && Date.now() < deadline && child.exitCode === null) await sleep(50);
  const service = /embedded local audit service at (http:\/\/\S+) \(its own process, pid (\d+)\)/.exec(out);
  if (!match || !service) {
    child.kill('SIGKILL');
    throw new Error(`the gateway did not start (or not with its service in a child process):\n${out}`);
  }
  const pid = child.pid!;
  const servicePid = Number(service[2]);
  // The pid the gateway printed must be its child, so the CPU read is the service's own.
  if (!childPids(pid).includes(servicePid)) {
    child.kill('SIGKILL');
    throw new Error(`pid ${servicePid} (the embedded service, as the gateway says) is not a child of the gateway ${pid}: ${childPids(pid).join(', ')}`);
  }
  return {
    url: new URL(match[1]!),
    pid,
    servicePid,
    serviceUrl: service[1]!,
    serviceToken: readFileSync(join(dataDir, 'token'), 'utf8').trim(),
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
