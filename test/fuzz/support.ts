// Shared by the fuzz suites: fast-check settings with a fixed, printable seed (FUZZ_SEED) so a failure
// reproduces, a run-count multiplier (FUZZ_SCALE), and a time cap per property so a slow machine
// stays within budget (an interrupted property still passes: it ran what it could).
import type fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const SEED = Number(process.env.FUZZ_SEED ?? 20_250_725);
export const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
export const PROPERTY_TIME_LIMIT_MS = 4000;

export function runs(n: number): fc.Parameters<unknown> {
  return {
    seed: SEED,
    numRuns: Math.max(1, Math.round(n * SCALE)),
    interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS * SCALE,
    markInterruptAsFailure: false,
    // Shrinking makes hundreds of HTTP calls; cap it so a failure still reports within budget.
    timeout: 10_000,
  };
}

/** Heap in use after a full collection (V8's gc exposed for this process), in bytes. */
export function settledHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
