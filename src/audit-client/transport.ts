// One HTTP exchange over undici, with timeouts that fire when configured and failures mapped to
// the client's transport errors. Knows nothing about envelopes or retries.
//
// Why our own timers: undici's headersTimeout/bodyTimeout run on its coarse "fast timers" and may
// fire up to a second late, and they only apply to its own dispatchers. The client promises that
// a silent server is abandoned within `headersMs`, so each exchange arms a native timer that
// aborts the request (send(): through the abort undici hands its handler; open(): through an
// AbortSignal), and undici's own timeouts stay set as a backstop.
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
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 5_000, headersMs: 30_000, bodyMs: 30_000 };

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

  constructor(private readonly options: TransportOptions) {
    const { timeouts } = options;
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
    const { timeouts, redactor, maxResponseBytes } = this.options;
    const target = Transport.target(req.method, req.url);
    if (req.signal?.aborted) {
      // Never dispatched: say so without touching the network.
      return Promise.reject(abortError(target, req.signal.reason, redactor));
    }
    return new Promise<HttpResponse>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let statusCode = 0;
      let headers: IncomingHttpHeaders = {};
      let phase: 'headers' | 'body' = 'headers';
      let abortExchange: ((reason: Error) => void) | undefined;
      // Why the exchange was stopped before undici handed over its abort (see onConnect).
      let stoppedEarly: Error | undefined;
      let settled = false;
      // The caller's signal, or one of our timers, ends the exchange.
      const watch = new Watch(req.signal, (reason) => {
        const error = reason instanceof Error ? reason : new Error(String(reason));
        if (abortExchange) abortExchange(error);
        else stoppedEarly = error;
      });
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        watch.dispose();
        return true;
      };
      const handler: Dispatcher.DispatchHandler = {
        onConnect: (abort) => {
          abortExchange = abort;
          if (stoppedEarly) abort(stoppedEarly);
        },
        onHeaders: (status, rawHeaders) => {
          // An informational answer (1xx): the final one follows.
          if (status < 200) return true;
          statusCode = status;
          headers = undiciUtil.parseHeaders(rawHeaders);
          phase = 'body';
          watch.arm('body', timeouts.bodyMs);
          return true;
        },
        onData: (chunk) => {
          watch.touch();
          size += chunk.length;
          if (size > maxResponseBytes) {
            abortExchange?.(tooLargeError(target, maxResponseBytes, statusCode, headers));
            return false;
          }
          chunks.push(chunk);
          return true;
        },
        onComplete: () => {
          if (settle()) resolve({ statusCode, headers, text: Buffer.concat(chunks, size).toString('utf8') });
        },
        onError: (err) => {
          if (!settle()) return;
          if (err instanceof AuditTransportError) reject(err);
          else if (phase === 'headers') reject(this.failure(err, target, watch, req.signal, 'headers'));
          else reject(this.failure(err, target, watch, req.signal, 'body', { httpStatus: statusCode, receivedBytes: size, requestId: headerValue(headers, 'x-request-id') }));
        },
      };
      watch.arm('headers', timeouts.headersMs);
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
          handler,
        );
      } catch (err) {
        // Refused by undici's argument checks before dispatch.
        if (settle()) reject(this.failure(err, target, watch, req.signal, 'headers'));
      }
    });
  }

  /** A failure of an exchange as the client's transport error (or AuditAbortError). */
  private failure(
    err: unknown,
    target: string,
    watch: Watch,
    callerSignal: AbortSignal | undefined,
    phase: 'headers' | 'body',
    extra: { httpStatus?: number; requestId?: string; receivedBytes?: number } = {},
  ): AuditTransportError | AuditAbortError {
    const { timeouts, redactor } = this.options;
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
    const watch = new Watch(req.signal, (reason) => controller.abort(reason));
    const fail = (err: unknown, phase: 'headers' | 'body', extra: { httpStatus?: number; requestId?: string; receivedBytes?: number } = {}) =>
      this.failure(err, target, watch, req.signal, phase, extra);

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

/**
 * The per-exchange timers and the caller's signal: `stop` is called with the reason when the
 * caller's signal aborts or the current phase's timer fires, at most once.
 */
class Watch {
  timedOut: { phase: TimeoutPhase; ms: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly onCallerAbort = (): void => this.stopWith(this.callerSignal!.reason);

  constructor(
    private readonly callerSignal: AbortSignal | undefined,
    private readonly stop: (reason: unknown) => void,
  ) {
    if (!callerSignal) return;
    if (callerSignal.aborted) this.stopWith(callerSignal.reason);
    else callerSignal.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  arm(phase: TimeoutPhase, ms: number): void {
    this.clearTimer();
    if (ms <= 0) return;
    this.timer = setTimeout(() => {
      this.timedOut = { phase, ms };
      this.stopWith(new Error(`${phase} timeout after ${ms} ms`));
    }, ms);
  }

  touch(): void {
    this.timer?.refresh();
  }

  /** The exchange is over: no more timer, no more listening to the caller's signal. */
  dispose(): void {
    this.clearTimer();
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }

  private stopWith(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stop(reason);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
