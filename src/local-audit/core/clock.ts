// The service's clock: microsecond RFC 3339 timestamps that strictly increase within the process
// (received_at, request and response times, expiry times).

/** RFC 3339 UTC with exactly six fractional digits, e.g. 2024-07-25T00:51:46.340938Z. */
export function microTimestamp(epochMicros: bigint = nowMicros()): string {
  const millis = Number(epochMicros / 1000n);
  const micros = Number(epochMicros % 1000n);
  return `${millisecondPrefix(millis)}${String(micros).padStart(3, '0')}Z`;
}

// A batch of a thousand events is stamped within a millisecond or two: the date part is formatted
// once per millisecond rather than once per event.
let prefixMillis = Number.NaN;
let prefix = '';

/** `YYYY-MM-DDTHH:MM:SS.mmm` of `millis`. */
function millisecondPrefix(millis: number): string {
  if (millis !== prefixMillis) {
    prefix = new Date(millis).toISOString().slice(0, 23);
    prefixMillis = millis;
  }
  return prefix;
}

let lastMicros = 0n;

/**
 * Makes every later timestamp of this process later than `timestamp` (an RFC 3339 time such as
 * microTimestamp writes): the service calls it at start-up with the last stored received_at, so
 * a clock set back between two runs cannot stamp an event earlier than the one before it.
 */
export function keepClockAfter(timestamp: string): void {
  const match = /^(.*\.\d{3})(\d{3})Z$/.exec(timestamp);
  const millis = match ? Date.parse(`${match[1]}Z`) : Number.NaN;
  if (!match || Number.isNaN(millis)) return;
  const micros = BigInt(millis) * 1000n + BigInt(match[2]!);
  if (micros > lastMicros) lastMicros = micros;
}

/** Wall-clock microseconds, strictly increasing within the process. */
function nowMicros(): bigint {
  const wall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  lastMicros = wall > lastMicros ? wall : lastMicros + 1n;
  return lastMicros;
}
