// Shared by the fuzz suites: fast-check settings with a fixed, printable seed (FUZZ_SEED) so a failure
// reproduces, a run-count multiplier (FUZZ_SCALE), and a time cap per property so a slow machine
// stays within budget (an interrupted property still passes: it ran what it could); the generators
// both suites draw from (odd unicode, odd numbers, any JSON value); and JSON equality.
import fc from 'fast-check';
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

/** Strings of any unicode, including lone surrogates, NUL, bidi controls and characters that are
 * special to JSON, SQL LIKE patterns or search syntax. */
export const unicodeString = (maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\ude00', '\u202e\u2066', 'e\u0301', '\uffff', '\ufeff', '𝔘𝔫𝔦', '\\', '"', "'", '%', '_', '*'),
  );

/** Numbers at the edges: beyond 2^53 and 32-bit ranges, negative zero, fractions, limits' neighbours. */
export const oddNumber = fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -(2 ** 31) - 1, 2 ** 31, Number.MAX_SAFE_INTEGER, -0, 0.1, 0.5, 1000, 10_000, 10_001);

/** Any JSON value, with odd unicode, odd numbers, nesting and prototype-named keys. */
export const oddJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    unicodeString(20),
    fc.integer(),
    oddNumber,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(unicodeString(8), fc.constantFrom('__proto__', 'constructor', 'toString', 'prototype', 'hasOwnProperty', '')), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Structural equality of JSON values, own keys only (so "__proto__" members count). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b) || a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object).sort();
  const kb = Object.keys(b as object).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => sameJson(Object.getOwnPropertyDescriptor(a, k)?.value, Object.getOwnPropertyDescriptor(b, k)?.value));
}
