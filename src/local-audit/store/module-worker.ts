// Starting a worker thread on a module of this folder, from source or compiled alike. From source
// (tsx, Jest) the module is TypeScript; compiled (dist/) it is JavaScript next to its caller,
// which node runs as it is.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The worker module `name` (without extension) beside the module at `importMetaUrl`. */
export function workerModule(importMetaUrl: string, name: string): URL {
  return new URL(`./${name}.${importMetaUrl.endsWith('.ts') ? 'ts' : 'js'}`, importMetaUrl);
}

/** A worker thread running `entry` (from workerModule) with `workerData`. */
export function startModuleWorker(entry: URL, workerData: unknown): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  // On Node 20 the loader hooks of the main thread (tsx's `--import`) do not reach a worker, and
  // Jest's transform never does: the worker registers tsx itself, then loads the TypeScript entry.
  // tsx's ESM API is index.mjs beside the index.cjs that require.resolve finds.
  const api = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  if (!existsSync(api)) throw new Error(`a worker thread from source needs tsx's ESM API, not found at ${api}`);
  const boot = `import { register } from ${JSON.stringify(pathToFileURL(api).href)};\nregister();\nawait import(${JSON.stringify(entry.href)});\n`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData });
}
