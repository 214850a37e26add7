// One HTTP exchange over undici, with timeouts that fire when configured and failures mapped to
// the client's transport errors. Knows nothing about envelopes or retries.
//
// Why our own timers: undici's headersTimeout/bodyTimeout run on its coarse "fast timers" and may
// fire up to a second late, and they only apply to its own dispatchers. The client promises that
// a silent server is abandoned within `headersMs`, so each exchange arms a native timer that
// aborts the request (send(): through the abort undici hands its handler; open(): through an
// AbortSignal), and undici's own timeouts stay set as a backstop.
//
// Those two bound silence, not length: a server that sends a byte of body every bodyMs/2 would
// hold a call open forever. An API answer is read whole before anyone can use it, so send() also
// bounds the whole exchange (totalMs). A file download (open()) is not bounded that way: a large
// file on a slow link may rightly take long, and its bytes are handed on as they arrive.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, request, util as undiciUtil, type Dispatcher } from 'undici';
import { AuditTransportError, type AuditAbortError, type TimeoutPhase } from './errors.js';
import { abortError, headerValue, networkError, tooLargeError } from './error-mapping.js';
import type { Redactor } from './redact.js';

export interface Timeouts {
  /** TCP (and TLS) connect. Applies to the client's own Agent, not to an injected dispatcher. */
  connectMs: number;
  /** From dispatching the request (connecting included) until the response headers arrive. 0 = none. */
  headersMs: number;
  /** Longest silence between two chunks of the response body. 0 = none. */
  bodyMs: number;
  /**
   * Longest an API call's exchange may take, from dispatch to its last body byte, however steadily
   * the body arrives (file downloads are not bounded by it). 0 = none. Default: headersMs + 2 ×
   * bodyMs (90 s with the defaults), or none if either of those is 0. Derived rather than fixed so
   * that raising headersMs or bodyMs does not leave a total that cuts calls short of them: the
   * server keeps its headersMs to think, and the body gets two idle periods' worth of time, which
   * at the defaults carries the largest answer the client accepts (64 MiB) at about 9 Mbit/s.
   */
  totalMs?: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 5_000, headersMs: 30_000, bodyMs: 30_000 };

/** The total deadline in effect for these timeouts (see Timeouts.totalMs). */
export function totalTimeoutMs(timeouts: Timeouts): number {
  if (timeouts.totalMs !== undefined) return Math.max(0, timeouts.totalMs);
  return timeouts.headersMs > 0 && timeouts.bodyMs > 0 ? timeouts.headersMs + 2 * timeouts.bodyMs : 0;
}

interface TransportOptions {
  timeouts: Timeouts;
  redactor: Redactor;
  /** Responses larger than this are abandoned (a guard against a runaway upstream). */
  maxResponseBytes: number;
  /** Use this dispatcher instead of the client's own Agent (the caller keeps ownership). */
  dispatcher?: Dispatcher;
  /** Connections per origin for the client's own Agent (default: unlimited). */
  connections?: number;
}

interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** The options with the total deadline worked out once (see totalTimeoutMs). */
type ResolvedOptions = TransportOptions & { totalMs: number };

/** A response whose body the caller streams; errors from `body` should go through `fail`. */
interface OpenResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** The response body; it errors if the body timer fires or the caller's signal aborts. */
  body: Readable;
  /** Restarts the body timer: call on every chunk. */
  touch(): void;
  /** Maps a failure of `body` to a transport error (or AuditAbortError). */
  fail(err: unknown, receivedBytes: number): AuditTransportError | AuditAbortError;
  /** Ends the exchange's timer and signal link; call when done with the body. */
  finish(): void;
}

export class Transport {
  readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly options: ResolvedOptions;

  constructor(options: TransportOptions) {
    const { timeouts } = options;
    this.options = { ...options, totalMs: totalTimeoutMs(timeouts) };
    this.ownsDispatcher = options.dispatcher === undefined;
    // An Agent keeps one keep-alive Pool per origin: the API origin and any download origin.
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connect: { timeout: timeouts.connectMs },
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.bodyMs,
        ...(options.connections !== undefined ? { connections: options.connections } : {}),
      });
  }

  /** `POST http://host/v1/log`: origin and path only, never userinfo or a query string. */
  static target(method: string, url: URL): string {
    return `${method} ${url.origin}${url.pathname}`;
  }

  /**
   * Sends the request and reads the whole body as UTF-8 text. It talks to the dispatcher's handler
   * interface directly: the chunks go straight into one buffer, where `open()`'s readable stream
   * and its async iterator cost a gateway about 20 µs of CPU on every upstream call.
   */
  send(req: HttpRequest): Promise<HttpResponse> {
    const { timeouts } = this.options;
    const target = Transport.target(req.method, req.url);
    if (req.signal?.aborted) {
      // Never dispatched: say so without touching the network.
      return Promise.reject(abortError(target, req.signal.reason, this.options.redactor));
    }
    return new Promise<HttpResponse>((resolve, reject) => {
      const exchange = new BufferedExchange(this.options, target, req.signal, resolve, reject);
      try {
        this.dispatcher.dispatch(
          {
            origin: req.url.origin,
            path: `${req.url.pathname}${req.url.search}`,
            method: req.method,
            headers: req.headers,
            body: req.body ?? null,
            headersTimeout: timeouts.headersMs,
            bodyTimeout: timeouts.bodyMs,
          },
          exchange,
        );
      } catch (err) {
        // Refused by undici's argument checks before dispatch.
        exchange.onError(err as Error);
      }
    });
  }

  /**
   * Sends the request and returns once the response headers are in. The caller consumes `body`,
   * calls `touch()` on every chunk (the body timer measures silence), and `finish()` at the end.
   */
  async open(req: HttpRequest): Promise<OpenResponse> {
    const { timeouts, redactor } = this.options;
    const target = Transport.target(req.method, req.url);
    if (req.signal?.aborted) {
      // Never dispatched: say so without touching the network.
      throw abortError(target, req.signal.reason, redactor);
    }
    const controller = new AbortController();
    const watch = new Watch(req.signal, { stop: (reason) => controller.abort(reason) });
    const fail = (err: unknown, phase: 'headers' | 'body', extra: FailureDetail = {}) => exchangeFailure(this.options, err, target, watch, req.signal, phase, extra);

    watch.arm('headers', timeouts.headersMs);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(req.url, {
        dispatcher: this.dispatcher,
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        signal: controller.signal,
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.bodyMs,
      });
    } catch (err) {
      watch.dispose();
      throw fail(err, 'headers');
    }

    const { statusCode, headers } = response;
    const requestId = headerValue(headers, 'x-request-id');
    watch.arm('body', timeouts.bodyMs);
    return {
      statusCode,
      headers,
      body: response.body,
      touch: () => watch.touch(),
      fail: (err, receivedBytes) => fail(err, 'body', { httpStatus: statusCode, receivedBytes, requestId }),
      finish: () => watch.dispose(),
    };
  }

  /** Closes the client's own Agent (an injected dispatcher belongs to the caller). */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

type FailureDetail = { httpStatus?: number; requestId?: string; receivedBytes?: number };

/** A failure of an exchange as the client's transport error (or AuditAbortError). */
function exchangeFailure(
  options: TransportOptions,
  err: unknown,
  target: string,
  watch: Watch,
  callerSignal: AbortSignal | undefined,
  phase: 'headers' | 'body',
  extra: FailureDetail = {},
): AuditTransportError | AuditAbortError {
  const { timeouts, redactor } = options;
  return networkError(err, {
    redactor,
    target,
    phase,
    timedOut: watch.timedOut,
    callerSignal,
    connectTimeoutMs: timeouts.connectMs,
    headersTimeoutMs: timeouts.headersMs,
    bodyTimeoutMs: timeouts.bodyMs,
    ...extra,
  });
}

/**
 * One send(): undici's handler for the exchange, which collects the body into one buffer and
 * settles the promise once. A class rather than closures: an upstream call on the gateway's hot
 * path then allocates one object, not a closure per callback.
 */
class BufferedExchange implements Dispatcher.DispatchHandler, Stoppable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private statusCode = 0;
  private headers: IncomingHttpHeaders = {};
  private phase: 'headers' | 'body' = 'headers';
  private abortExchange: ((reason: Error) => void) | undefined;
  /** Why the exchange was stopped before undici handed over its abort (see onConnect). */
  private stoppedEarly: Error | undefined;
  private settled = false;
  /** The caller's signal, or one of our timers, ends the exchange. */
  private readonly watch: Watch;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly target: string,
    private readonly callerSignal: AbortSignal | undefined,
    private readonly resolve: (response: HttpResponse) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.watch = new Watch(callerSignal, this);
    this.watch.arm('headers', options.timeouts.headersMs);
    this.watch.armTotal(options.totalMs);
  }

  stop(reason: unknown): void {
    const error = reason instanceof Error ? reason : new Error(String(reason));
    if (this.abortExchange) this.abortExchange(error);
    else this.stoppedEarly = error;
  }

  onConnect(abort: (reason: Error) => void): void {
    this.abortExchange = abort;
    if (this.stoppedEarly) abort(this.stoppedEarly);
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    // An informational answer (1xx): the final one follows.
    if (status < 200) return true;
    this.statusCode = status;
    this.headers = undiciUtil.parseHeaders(rawHeaders);
    this.phase = 'body';
    this.watch.arm('body', this.options.timeouts.bodyMs);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.watch.touch();
    this.size += chunk.length;
    const { maxResponseBytes } = this.options;
    if (this.size > maxResponseBytes) {
      this.abortExchange?.(tooLargeError(this.target, maxResponseBytes, this.statusCode, this.headers, this.options.redactor));
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settle()) this.resolve({ statusCode: this.statusCode, headers: this.headers, text: Buffer.concat(this.chunks, this.size).toString('utf8') });
  }

  onError(err: Error): void {
    if (!this.settle()) return;
    if (err instanceof AuditTransportError) this.reject(err);
    else if (this.phase === 'headers') this.reject(exchangeFailure(this.options, err, this.target, this.watch, this.callerSignal, 'headers'));
    else {
      const detail = { httpStatus: this.statusCode, receivedBytes: this.size, requestId: headerValue(this.headers, 'x-request-id') };
      this.reject(exchangeFailure(this.options, err, this.target, this.watch, this.callerSignal, 'body', detail));
    }
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.watch.dispose();
    return true;
  }
}

/** What a Watch stops: told the reason when the caller's signal aborts or a timer fires, at most once. */
interface Stoppable {
  stop(reason: unknown): void;
}

/** The per-exchange timers and the caller's signal. */
class Watch {
  timedOut: { phase: TimeoutPhase; ms: number; total?: boolean } | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The deadline on the whole exchange: never restarted. */
  private totalTimer: NodeJS.Timeout | undefined;
  private totalMs = 0;
  /** What the running timer measures, and its length. */
  private timerPhase: TimeoutPhase = 'headers';
  private timerMs = 0;
  private stopped = false;

  // The Watch is itself the signal's listener (handleEvent) and the timer's argument, so an
  // exchange allocates no closures for them.
  constructor(
    private readonly callerSignal: AbortSignal | undefined,
    private onStop: Stoppable | undefined,
  ) {
    if (!callerSignal) return;
    if (callerSignal.aborted) this.stopWith(callerSignal.reason);
    else callerSignal.addEventListener('abort', this, { once: true });
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    this.stopWith(this.callerSignal!.reason);
  }

  arm(phase: TimeoutPhase, ms: number): void {
    // Kept even with no timer to run: the total deadline reports the phase it interrupted.
    this.timerPhase = phase;
    if (ms <= 0) {
      this.clearTimer();
      return;
    }
    // A timer of the same length is restarted rather than replaced.
    if (this.timer !== undefined && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    this.clearTimer();
    this.timerMs = ms;
    this.timer = setTimeout(timerFired, ms, this);
  }

  /** Starts the deadline on the whole exchange (none for 0). */
  armTotal(ms: number): void {
    if (ms <= 0 || this.stopped) return;
    this.totalMs = ms;
    this.totalTimer = setTimeout(totalTimerFired, ms, this);
  }

  touch(): void {
    this.timer?.refresh();
  }

  /** The running timer fired. */
  fired(): void {
    // Already stopped (the caller's abort, the other timer): that is the reason, not this.
    if (this.stopped) return;
    const phase = this.timerPhase;
    const ms = this.timerMs;
    this.timedOut = { phase, ms };
    this.stopWith(new Error(`${phase} timeout after ${ms} ms`));
  }

  /** The total deadline passed. */
  totalFired(): void {
    if (this.stopped) return;
    this.timedOut = { phase: this.timerPhase, ms: this.totalMs, total: true };
    this.stopWith(new Error(`total timeout after ${this.totalMs} ms`));
  }

  /** The exchange is over: no more timer, no more listening to the caller's signal. */
  dispose(): void {
    this.clearTimer();
    if (this.totalTimer !== undefined) clearTimeout(this.totalTimer);
    this.totalTimer = undefined;
    this.callerSignal?.removeEventListener('abort', this);
    // On Node 20 a Watch that has listened on an AbortSignal stays reachable after it stops
    // listening, for as long as the signal, which young collections never free. Holding the
    // exchange, it kept the response body too: every page's 20 KB answer was copied into the old
    // generation and waited there for a full collection.
    this.onStop = undefined;
  }

  private stopWith(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.onStop?.stop(reason);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function timerFired(watch: Watch): void {
  watch.fired();
}

function totalTimerFired(watch: Watch): void {
  watch.totalFired();
}
