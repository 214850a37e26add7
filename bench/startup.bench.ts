// Start-up time to a 200 from /health (`npm run bench:startup [-- runs]`): the gateway with the
// embedded local audit service in its child process, from spawn until /health answers, started
//  - from source as `npm start` runs it (npm -> sh -> tsx's CLI -> node with tsx's loader),
//  - from source without npm and tsx's CLI (`node --import tsx src/main.ts`),
//  - compiled as the Docker image runs it (`node dist/main.js`; the service from dist/ too).
// Each run gets a fresh DATA_DIR (so every start creates the token and the SQLite file) and is
// stopped with SIGTERM before the next. Variants take turns run by run, so a slower stretch of
// the machine is shared. The first round is a warm-up (disk cache, tsx's transform cache) and is
// printed apart. The compiled tree is emitted with tsc (tsconfig.build.json) into a temporary
// directory inside the repository, where it resolves node_modules as dist/ does.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './support/measure.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const RUNS = Number(process.argv[2] ?? 5);
const HEALTH_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

interface Variant {
  name: string;
  command: string;
  args: string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

/** Milliseconds from spawn to the first 200 from /health; the process is stopped afterwards. */
async function startOnce(variant: Variant): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: join(dir, 'data'),
    INTEGRITY_KEY_FILE: join(dir, 'integrity-key'),
    LOCAL_AUDIT_PORT: '0',
  };
  const started = performance.now();
  // A process group of its own: should SIGTERM not stop it, the whole group is killed.
  const child = spawn(variant.command, variant.args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    while (true) {
      if (child.exitCode !== null) throw new Error(`${variant.name} exited (${child.exitCode}) before /health answered:\n${stderr}`);
      if (performance.now() - started > HEALTH_TIMEOUT_MS) throw new Error(`${variant.name}: no /health within ${HEALTH_TIMEOUT_MS} ms:\n${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ok) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), STOP_TIMEOUT_MS);
    const code = await exitOf(child);
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
    if (code !== 0) console.error(`${variant.name}: exit status ${code} after SIGTERM\n${stderr}`);
  }
}

function compile(outDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // --noCheck: only the emitted JavaScript matters here; `npm run typecheck` checks the types.
    const child = spawn(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir, '--noCheck'], { cwd: ROOT, stdio: 'inherit' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc exited ${code}`))));
  });
}

async function main(): Promise<void> {
  mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
  const outDir = mkdtempSync(join(ROOT, 'test-artifacts', 'bench-startup-'));
  try {
    await compile(outDir);
    const variants: Variant[] = [
      { name: 'npm start (tsx, source)', command: 'npm', args: ['start', '--silent'] },
      { name: 'node --import tsx src/main.ts', command: process.execPath, args: ['--import', 'tsx', 'src/main.ts'] },
      { name: 'node dist/main.js (compiled)', command: process.execPath, args: [join(outDir, 'main.js')] },
    ];
    const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const warmup = new Map<string, number>();
    for (let round = 0; round <= RUNS; round++) {
      for (const variant of variants) {
        const ms = await startOnce(variant);
        if (round === 0) warmup.set(variant.name, ms);
        else times.get(variant.name)!.push(ms);
      }
    }
    console.log(`start-up to /health (ms), ${RUNS} runs each after one warm-up, fresh DATA_DIR per run, node ${process.version}`);
    const width = Math.max(...variants.map((v) => v.name.length));
    for (const variant of variants) {
      const runs = times.get(variant.name)!;
      const fmt = (n: number) => n.toFixed(0);
      console.log(
        `  ${variant.name.padEnd(width)}  median ${fmt(median(runs)).padStart(5)}  min ${fmt(Math.min(...runs)).padStart(5)}  max ${fmt(Math.max(...runs)).padStart(5)}  warm-up ${fmt(warmup.get(variant.name)!).padStart(5)}  runs ${runs.map(fmt).join(' ')}`,
      );
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

await main();
