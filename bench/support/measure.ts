// The benchmarks' measure loops: asynchronous calls kept in flight for a fixed time, asynchronous
// calls timed one after another, synchronous calls counted per second, and whole runs of a
// synchronous call timed.
import { percentile } from './stats.js';

export interface Measured {
  inFlight: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** Wall time of the measured part (after the warm-up), in ms. */
  elapsedMs: number;
  /** Every measured call's latency in ms, ascending. */
  latencies: number[];
  /** The sum of the measured calls' results that are numbers (e.g. events each call stored). */
  units: number;
}

export interface MeasureOptions {
  /** Calls kept going at once. */
  inFlight: number;
  seconds: number;
  /** Untimed calls first, in rounds of `inFlight` at once (connections opened, code compiled). */
  warmupRounds?: number;
  /** Instead of rounds: every worker calls back to back for this long, untimed. */
  warmupMs?: number;
  /** Runs before every call, warm-up included, outside the timed part. */
  before?: () => void;
  /** Runs once the warm-up is done, just before the timed part starts. */
  onStart?: () => void;
}

/**
 * Keeps `inFlight` calls going for `seconds` (after a warm-up); every call's latency is recorded.
 * `call` gets the worker's number and the worker's call count.
 */
export async function measure(call: (worker: number, n: number) => Promise<unknown>, options: MeasureOptions): Promise<Measured> {
  const { inFlight, seconds, warmupRounds = 1, warmupMs, before } = options;
  const counts = new Array<number>(inFlight).fill(0);
  const next = async (w: number): Promise<unknown> => {
    before?.();
    return call(w, counts[w]!++);
  };
  if (warmupMs !== undefined) {
    const warmEnd = performance.now() + warmupMs;
    await Promise.all(
      Array.from({ length: inFlight }, async (_, w) => {
        while (performance.now() < warmEnd) await next(w);
      }),
    );
  } else {
    for (let round = 0; round < warmupRounds; round++) await Promise.all(Array.from({ length: inFlight }, (_, w) => next(w)));
  }
  options.onStart?.();
  const latencies: number[] = [];
  let units = 0;
  const started = performance.now();
  const stopAt = started + seconds * 1000;
  const worker = async (w: number): Promise<void> => {
    while (performance.now() < stopAt) {
      before?.();
      const t0 = performance.now();
      const result = await call(w, counts[w]!++);
      latencies.push(performance.now() - t0);
      if (typeof result === 'number') units += result;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  return summarize(inFlight, latencies, performance.now() - started, units);
}

/** The figures of a loop's latencies (sorted here) over `elapsedMs` of measuring. */
function summarize(inFlight: number, latencies: number[], elapsedMs: number, units: number): Measured {
  latencies.sort((a, b) => a - b);
  return {
    inFlight,
    requests: latencies.length,
    perSecond: (latencies.length / elapsedMs) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    elapsedMs,
    latencies,
    units,
  };
}

export interface PairedMeasure {
  first: Measured;
  second: Measured;
  /** Per side: how much each of `sample`'s counters grew while that side ran (empty without `sample`). */
  counted: [number[], number[]];
}

export interface AlternatingMeasure {
  /** Per call, in the order given. */
  sides: Measured[];
  /** Per side: how much each of `sample`'s counters grew while that side ran (empty without `sample`). */
  counted: number[][];
}

export interface PairedOptions {
  /** Each side's total. */
  seconds: number;
  slices?: number;
  /** Untimed calls of each side first, per worker. */
  warmupCalls?: number;
  /** Calls kept going at once within a slice (default 1). */
  inFlight?: number;
  /**
   * Counters read before and after every slice (CPU time of the processes involved, say): the
   * growth during a side's slices is credited to that side.
   */
  sample?: () => number[];
}

type Call = (worker: number, n: number) => Promise<unknown>;

/**
 * Two calls compared, measured in alternating slices (first, second, second, first, first,
 * second, …) rather than one row after the other: whatever the machine does in the meantime
 * (other processes, frequency, the heap) falls on both alike, so their ratio reflects the calls,
 * not the minute each was measured in.
 */
export async function measurePaired(first: Call, second: Call, options: PairedOptions): Promise<PairedMeasure> {
  const { sides, counted } = await measureAlternating([first, second], options);
  return { first: sides[0]!, second: sides[1]!, counted: [counted[0]!, counted[1]!] };
}

/**
 * Any number of calls compared in alternating slices: each slice runs every call in turn, in the
 * given order and then in reverse (A B C, C B A, A B C, …), so a steady drift of the machine
 * during a pair of slices favours none of them. A slice keeps `inFlight` calls going and ends when
 * its time is up and its calls have returned. Calls get the worker's number and its call count.
 */
export async function measureAlternating(calls: readonly Call[], options: PairedOptions): Promise<AlternatingMeasure> {
  const slices = options.slices ?? 10;
  const inFlight = options.inFlight ?? 1;
  const sliceMs = (options.seconds * 1000) / slices;
  const sides = calls.map((call) => ({ call, counts: new Array<number>(inFlight).fill(0), latencies: [] as number[], elapsedMs: 0, counted: [] as number[] }));
  const run = (side: (typeof sides)[number], w: number) => side.call(w, side.counts[w]!++);
  for (let i = 0; i < (options.warmupCalls ?? 20); i++) {
    for (const side of sides) await Promise.all(Array.from({ length: inFlight }, (_, w) => run(side, w)));
  }
  const forward = sides.map((_, i) => i);
  const backward = [...forward].reverse();
  for (let slice = 0; slice < slices; slice++) {
    for (const index of slice % 2 === 0 ? forward : backward) {
      const side = sides[index]!;
      const before = options.sample?.() ?? [];
      const started = performance.now();
      const stopAt = started + sliceMs;
      await Promise.all(
        Array.from({ length: inFlight }, async (_, w) => {
          while (performance.now() < stopAt) {
            const t0 = performance.now();
            await run(side, w);
            side.latencies.push(performance.now() - t0);
          }
        }),
      );
      side.elapsedMs += performance.now() - started;
      const after = options.sample?.() ?? [];
      after.forEach((value, k) => (side.counted[k] = (side.counted[k] ?? 0) + value - before[k]!));
    }
  }
  return { sides: sides.map(({ latencies, elapsedMs }) => summarize(inFlight, latencies, elapsedMs, 0)), counted: sides.map((s) => s.counted) };
}

/** Times `runs` sequential calls (after `warmup` untimed ones, numbered -1, -2, ...); returns the ms of each. */
export async function timeEach(runs: number, fn: (i: number) => Promise<void>, warmup = 5): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

/** Calls fn in growing batches until at least `minMs` have passed; returns calls per second. */
export function rate(fn: () => void, minMs = 1000): number {
  for (let i = 0; i < 1000; i++) fn(); // warm-up
  let calls = 0;
  let batch = 1000;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    elapsed = performance.now() - start;
    if (elapsed < minMs / 10) batch *= 2;
  }
  return (calls / elapsed) * 1000;
}

/** Runs fn `runs` times (after `warmup` untimed runs) and returns each run's milliseconds. */
export function timings(fn: () => void, runs: number, warmup = 3): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    out.push(performance.now() - start);
  }
  return out;
}

/** p50 (nearest rank) of a list of timings, in ms. */
export function median(ms: readonly number[]): number {
  return percentile([...ms].sort((a, b) => a - b), 50);
}

/** "met" or "MISSED", for a target line. */
export function verdict(met: boolean): string {
  return met ? 'met' : 'MISSED';
}
