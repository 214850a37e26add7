// Starting a worker thread on a module of this folder, from source or compiled alike. From source
// (tsx, Jest) the module is TypeScript; compiled (dist/) it is JavaScript next to its caller,
// which node runs as it is.
//
// The service's helper threads (searches, the trigram indexer) give way to the main thread, which
// commits the appends, when they compete for a CPU: each is made nicer before it does anything
// else. Loading its modules is most of what a new thread does (from source about 0.4 s of CPU:
// tsx's loader starts a thread of its own, which inherits the niceness, and compiles the modules),
// so lowering the priority only once the module runs would leave all of that competing with the
// service (or the gateway beside it) while they start. Linux keeps a niceness per thread, and
// /proc/thread-self names this thread's id; elsewhere, or without /proc, the thread keeps the
// process's priority. That part of the boot is plain JavaScript, as it runs before tsx is there.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * The V8 limits of every helper thread of the service. Each thread is an isolate of its own, and
 * Node 24's V8 sizes each isolate's young generation by the machine's memory (192 MB on a machine
 * with 24 GB, where Node 20 and 22 give 48 MB): a few busy helper threads then held about as much
 * memory again as the rest of the service. 48 MB (16 MB semi-spaces, Node 20's default)
 * bounds them alike on every Node version; only the young generation is set, the old one keeps
 * V8's default.
 */
export const HELPER_THREAD_LIMITS = Object.freeze({ maxYoungGenerationSizeMb: 48 });

/** The worker module `name` (without extension) beside the module at `importMetaUrl`. */
export function workerModule(importMetaUrl: string, name: string): URL {
  return new URL(`./${name}.${importMetaUrl.endsWith('.ts') ? 'ts' : 'js'}`, importMetaUrl);
}

/** The boot's first statements: make this thread `niceness` steps nicer (up to 19), if it can. */
function lowerPrioritySource(niceness: number): string[] {
  return [
    `import { readlinkSync } from 'node:fs';`,
    `import { getPriority, setPriority } from 'node:os';`,
    `try {`,
    `  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());`,
    `  if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + ${JSON.stringify(niceness)}));`,
    `} catch {}`,
  ];
}

/**
 * A worker thread running `entry` (from workerModule) with `workerData`, `niceness` steps nicer
 * than the thread that starts it from its first statement on.
 */
export function startModuleWorker(entry: URL, workerData: unknown, niceness: number): Worker {
  if (!(Number.isSafeInteger(niceness) && niceness >= 0)) throw new Error(`niceness must be a non-negative integer, not ${niceness}`);
  const lines = lowerPrioritySource(niceness);
  if (entry.pathname.endsWith('.ts')) {
    // On Node 20 the loader hooks of the main thread (tsx's `--import`) do not reach a worker, and
    // Jest's transform never does: the worker registers tsx itself, then loads the TypeScript
    // modules. tsx's ESM API is index.mjs beside the index.cjs that require.resolve finds.
    const api = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
    if (!existsSync(api)) throw new Error(`a worker thread from source needs tsx's ESM API, not found at ${api}`);
    lines.push(`const { register } = await import(${JSON.stringify(pathToFileURL(api).href)});`, 'register();');
  }
  lines.push(`await import(${JSON.stringify(entry.href)});`);
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(lines.join('\n') + '\n')}`), { workerData, resourceLimits: HELPER_THREAD_LIMITS });
}
