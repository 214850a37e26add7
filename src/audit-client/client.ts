// AuditClient: the gateway's only way to reach the audit service (cloud or local). One typed
// method per endpoint; every upstream failure comes out as one of the classes in errors.ts.
import type { Dispatcher } from 'undici';
import { downloadOnce, type DownloadDestination, type DownloadedFile, type DownloadOptions } from './download.js';
import { parseEnvelope } from './envelope.js';
import { AuditClientError } from './errors.js';
import { abortError, apiError, bodyError, foreignPollAnswerError, type ResponseContext } from './error-mapping.js';
import { prepareItem, type EventInput, type EventItemInput, type EventSigner, type PreparedItem } from './event.js';
import { DEFAULT_COALESCING_POLICY, LogCoalescer, resultCount, unlistedResults, type CoalescingPolicy } from './log-coalescer.js';
import { DEFAULT_POLLING_POLICY, pollUntilDone, type PollingPolicy } from './polling.js';
import { Redactor } from './redact.js';
import { acceptedRequest, successResponse, type AcceptedRequest, type AuditResponse } from './response.js';
import { DEFAULT_RETRY_POLICY, retryDelay, sleep, type CallKind, type RetryPolicy } from './retry.js';
import { DEFAULT_TIMEOUTS, Transport, type Timeouts } from './transport.js';
import type {
  DownloadRequest,
  DownloadResult,
  EndpointPath,
  ExportRequest,
  ExportResult,
  LogBulkRequest,
  LogBulkResult,
  LogRequest,
  LogResult,
  LogStreamRequest,
  LogStreamResult,
  ResultsRequest,
  ResultsResult,
  RootRequest,
  RootResult,
  SchemaRequest,
  SchemaResult,
  SearchRequest,
  SearchResult,
} from '../wire/index.js';

export interface AuditClientOptions {
  /** The service base, e.g. `http://127.0.0.1:4000` or `https://audit.aws.us.pangea.cloud`. Exclusive with `domain`. */
  baseUrl?: string;
  /** Cloud domain: the base becomes `https://audit.<domain>`. Exclusive with `baseUrl`. */
  domain?: string;
  /** Bearer token. Never appears in any error, message or log the client produces. */
  token: string;
  /** Injected as `config_id` into every request body that has none. */
  configId?: string;
  /** Set as `tenant_id` on logged events that have none. */
  tenantId?: string;
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetryPolicy>;
  polling?: Partial<PollingPolicy>;
  userAgent?: string;
  /** Signs every logged event that carries no signature (after tenant defaulting). */
  signer?: EventSigner;
  /**
   * Plain `log` calls (not verbose, no prev_root, no polling options) made in the same event-loop
   * turn go upstream as one `v2/log` call; each still gets its own hash (log-coalescer.ts).
   * `true` for the default policy. Off by default.
   */
  coalesceLogs?: boolean | Partial<CoalescingPolicy>;
  /** Dispatch through this undici Dispatcher instead of the client's own Agent (not closed by close()). */
  dispatcher?: Dispatcher;
  /** Connections per origin for the client's own Agent (default unlimited). */
  connections?: number;
  /** Largest response body accepted (default 64 MiB). */
  maxResponseBytes?: number;
  /**
   * Told of every HTTP exchange (each retry and poll too): the endpoint (`request` for polls),
   * `ok`, `accepted` or the error's class name, and its milliseconds. Must not throw.
   */
  onCall?: (endpoint: string, outcome: string, ms: number) => void;
}

export interface CallOptions {
  /** Cancels the call (and its retries and polling), e.g. when the GraphQL request is cancelled. */
  signal?: AbortSignal;
}

export interface PollOptions extends CallOptions {
  /**
   * On a 202: true polls GET /request/<id> until the result or the deadline (then
   * AcceptedTimeoutError; a poll that fails is AcceptedResultUnavailableError, see polling.ts);
   * false returns the AcceptedRequest. Defaults: false for logBulkAsync and
   * export, true for everything else.
   */
  poll?: boolean;
  /** Polling deadline, counted from the start of the call (default: the client's polling policy). */
  deadlineMs?: number;
}

export interface LogOptions extends PollOptions {
  /** Overrides the client's signer for this call; false sends unsigned. */
  sign?: EventSigner | false;
}

/**
 * What a method returns for options of type O: the result, or also an AcceptedRequest when the
 * call may end in an un-polled 202.
 */
export type Outcome<R, O extends PollOptions, PollByDefault extends boolean> = 'poll' extends keyof O
  ? [O['poll']] extends [true]
    ? AuditResponse<R>
    : [O['poll']] extends [undefined]
      ? Default<R, PollByDefault>
      : AuditResponse<R> | AcceptedRequest
  : Default<R, PollByDefault>;
/** Options of type O with no keys beyond those of Allowed (generic parameters skip excess-property checks). */
type Only<O, Allowed> = O & Record<Exclude<keyof O, keyof Allowed>, never>;
type Default<R, PollByDefault extends boolean> = PollByDefault extends true ? AuditResponse<R> : AuditResponse<R> | AcceptedRequest;

/** `v1/log` input: the wire request with an event that may still hold objects or Dates. */
export type LogInput = Omit<LogRequest, 'event'> & { event: EventInput };
/** `v2/log` / `v2/log_async` input. */
export type LogBulkInput = Omit<LogBulkRequest, 'events'> & { events: EventItemInput[] };

const DEFAULT_USER_AGENT = 'audit-gateway-client/0.1 (undici)';
/**
 * The default cap on one answer: a guard against a runaway upstream, not a bound on legitimate
 * answers, which have none. A v1/search or v1/results page holds up to 1000 events (the API's
 * largest `limit`), and one standard-schema event may carry 3 × 32,766 characters of message, old
 * and new, ~0.6 KB of short fields, ~0.4 KB of received_at, signature and public key, and ~2.7 KB
 * of membership proof (40 levels of 67 characters): ~102 KB of ASCII JSON, so a full page of such
 * events is ~97 MiB, three times that in non-ASCII text, and more under a custom schema whose text
 * fields have no size. A page of typical events (~3 KB each with the proof) is ~3 MB. 64 MiB reads
 * any full page whose events average up to ~65 KB; a lower default would make pages of large
 * events fail for good (RESPONSE_TOO_LARGE is not transient) with no gateway setting to raise it.
 * How much memory concurrent answers take is bounded by how many are in flight, not by this.
 */
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

interface Exchange {
  method: 'GET' | 'POST';
  url: URL;
  endpoint: string;
  body?: string;
  /**
   * A poll of an accepted request (pollUntilDone): a Success or Accepted answer must be about it,
   * or it is refused (MalformedEnvelopeError, code FOREIGN_POLL_ANSWER).
   */
  polledId?: string;
}

/** Endpoint URLs a client keeps parsed (see url()). */
const MAX_CACHED_URLS = 32;

export class AuditClient {
  /** The service base, without a trailing slash. */
  readonly baseUrl: string;
  // A true private field: util.inspect(client) and JSON.stringify(client) cannot show it.
  readonly #token: string;
  private readonly configId: string | undefined;
  private readonly tenantId: string | undefined;
  private readonly signer: EventSigner | undefined;
  private readonly userAgent: string;
  private readonly retryPolicy: RetryPolicy;
  private readonly pollingPolicy: PollingPolicy;
  private readonly redactor: Redactor;
  private readonly transport: Transport;
  private readonly onCall: AuditClientOptions['onCall'];
  private readonly urls = new Map<string, URL>();
  private readonly coalescer: LogCoalescer | undefined;

  constructor(options: AuditClientOptions) {
    if (typeof options.token !== 'string' || options.token === '') throw new TypeError('AuditClient needs a token');
    this.#token = options.token;
    this.baseUrl = resolveBase(options);
    this.configId = options.configId;
    this.tenantId = options.tenantId;
    this.signer = options.signer;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.pollingPolicy = { ...DEFAULT_POLLING_POLICY, ...options.polling };
    this.redactor = new Redactor([options.token]);
    this.onCall = options.onCall;
    this.transport = new Transport({
      timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
      redactor: this.redactor,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      ...(options.connections !== undefined ? { connections: options.connections } : {}),
    });
    const coalescing = options.coalesceLogs;
    this.coalescer = coalescing
      ? new LogCoalescer(
          {
            one: (item, signal) => this.call<LogResult>('v1/log', item, 'write', { signal }, true) as Promise<AuditResponse<LogResult>>,
            many: (items, signal) => this.call<LogBulkResult>('v2/log', { events: items }, 'write', { signal }, true) as Promise<AuditResponse<LogBulkResult>>,
            aborted: (reason) => abortError(Transport.target('POST', this.url('v1/log')), reason, this.redactor),
            target: Transport.target('POST', this.url('v2/log')),
          },
          { ...DEFAULT_COALESCING_POLICY, ...(coalescing === true ? {} : coalescing) },
        )
      : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Writes: never retried unless the request provably never reached the server (see retry.ts).

  /** `v1/log`: one event. */
  log<O extends LogOptions = {}>(request: LogInput, options?: Only<O, LogOptions>): Promise<Outcome<LogResult, O, true>> {
    return this.guard(() => {
      const { event, signature, public_key, ...rest } = request;
      const item = this.prepare({ event, ...(signature !== undefined ? { signature } : {}), ...(public_key !== undefined ? { public_key } : {}) }, options);
      if (this.coalescer && isPlainLog(rest, options)) return this.coalescer.log(item, options?.signal);
      const body: LogRequest = { ...rest, ...item };
      return this.call('v1/log', body, 'write', options, true);
    }) as Promise<Outcome<LogResult, O, true>>;
  }

  /** `v2/log`: 1..1000 events; results in input order. */
  logBulk<O extends LogOptions = {}>(request: LogBulkInput, options?: Only<O, LogOptions>): Promise<Outcome<LogBulkResult, O, true>> {
    return this.guard(async () => {
      const body = this.bulkBody(request, options);
      const outcome = await this.call<LogBulkResult>('v2/log', body, 'write', options, true);
      if (outcome.status === 'Success') this.checkBulkResults(outcome, body.events.length);
      return outcome;
    }) as Promise<Outcome<LogBulkResult, O, true>>;
  }

  /** `v2/log_async`: answered 202; by default returns the AcceptedRequest (pass `poll: true` to wait). */
  logBulkAsync<O extends LogOptions = {}>(request: LogBulkInput, options?: Only<O, LogOptions>): Promise<Outcome<LogBulkResult, O, false>> {
    return this.guard(() => this.call('v2/log_async', this.bulkBody(request, options), 'write', options, false)) as Promise<
      Outcome<LogBulkResult, O, false>
    >;
  }

  /** `v1/log_stream`: a vendor payload (e.g. Auth0 `{logs: [...]}`), sent as given. */
  logStream<O extends PollOptions = {}>(request: LogStreamRequest, options?: Only<O, PollOptions>): Promise<Outcome<LogStreamResult, O, true>> {
    return this.guard(() => this.call('v1/log_stream', request, 'write', options, true)) as Promise<Outcome<LogStreamResult, O, true>>;
  }

  /** `v1/export`: answered 202; by default returns the AcceptedRequest. Download with `{request_id}` when done. */
  export<O extends PollOptions = {}>(request: ExportRequest = {}, options?: Only<O, PollOptions>): Promise<Outcome<ExportResult, O, false>> {
    return this.guard(() => this.call('v1/export', request, 'write', options, false)) as Promise<Outcome<ExportResult, O, false>>;
  }

  // -------------------------------------------------------------------------------------------
  // Reads: idempotent, retried on connection errors, 5xx and 429.

  /** `v1/search`: the first page and the result-set id. */
  search<O extends PollOptions = {}>(request: SearchRequest, options?: Only<O, PollOptions>): Promise<Outcome<SearchResult, O, true>> {
    return this.guard(() => this.call('v1/search', request, 'read', options, true)) as Promise<Outcome<SearchResult, O, true>>;
  }

  /** `v1/results`: another page of a result set; an offset past the end is BadOffsetError. */
  results<O extends PollOptions = {}>(request: ResultsRequest, options?: Only<O, PollOptions>): Promise<Outcome<ResultsResult, O, true>> {
    return this.guard(() => this.call('v1/results', request, 'read', options, true)) as Promise<Outcome<ResultsResult, O, true>>;
  }

  /** `v1/root`: a published root (default the latest) with its consistency proof from size-1. */
  root<O extends PollOptions = {}>(request: RootRequest = {}, options?: Only<O, PollOptions>): Promise<Outcome<RootResult, O, true>> {
    return this.guard(() => this.call('v1/root', request, 'read', options, true)) as Promise<Outcome<RootResult, O, true>>;
  }

  /** `v1/download_results`: a dest_url for a search result set or a finished export. */
  downloadResults<O extends PollOptions = {}>(request: DownloadRequest, options?: Only<O, PollOptions>): Promise<Outcome<DownloadResult, O, true>> {
    return this.guard(() => this.call('v1/download_results', request, 'read', options, true)) as Promise<Outcome<DownloadResult, O, true>>;
  }

  /** `v1/schema`: the configuration's event schema. */
  schema<O extends PollOptions = {}>(request: SchemaRequest = {}, options?: Only<O, PollOptions>): Promise<Outcome<SchemaResult, O, true>> {
    return this.guard(() => this.call('v1/schema', request, 'read', options, true)) as Promise<Outcome<SchemaResult, O, true>>;
  }

  /**
   * One `GET /request/<id>`: the result if the request is done, or its AcceptedRequest while it
   * is still running. The caller names the result type (it depends on the original endpoint).
   */
  pollResult<R = unknown>(requestId: string, options?: CallOptions): Promise<AuditResponse<R> | AcceptedRequest> {
    return this.guard(() => this.exchange<R>(this.pollExchange(requestId), 'read', options?.signal));
  }

  /**
   * Streams a result file (a `dest_url`) into a Writable (ended when done) or a file path (written
   * atomically). No Authorization header is sent: the URL needs none and may be another origin.
   * Retried like a read, except that once bytes have gone into a caller's Writable a failure is
   * final (a retry would write them twice).
   */
  downloadFile(url: string | URL, destination: DownloadDestination, options: DownloadOptions = {}): Promise<DownloadedFile> {
    return this.guard(async () => {
      const target = new URL(url);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TypeError(`cannot download from a ${target.protocol} URL`);
      const headers = { 'user-agent': this.userAgent, accept: '*/*' };
      const state = { deliveredToWritable: false };
      for (let attempt = 0; ; attempt++) {
        try {
          return await downloadOnce(this.transport, this.redactor, target, destination, headers, options, state);
        } catch (err) {
          const delay = state.deliveredToWritable ? null : retryDelay(err, 'read', attempt, this.retryPolicy);
          if (delay === null) throw err;
          await this.pause(delay, options.signal, Transport.target('GET', target));
        }
      }
    });
  }

  /** Closes the client's connections (an injected dispatcher is left to its owner). */
  close(): Promise<void> {
    return this.transport.close();
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /**
   * An event as `log` and `logBulk` would send it (normalised, default tenant added, signed), for a
   * caller that must later compare what the service stored with what was sent. Passed back to
   * `log`/`logBulk` unchanged, it is sent as it is: preparing a prepared item changes nothing.
   */
  prepareItem(item: EventItemInput, options?: Pick<LogOptions, 'sign'>): PreparedItem {
    return this.prepare(item, options);
  }

  private prepare(item: EventItemInput, options: Pick<LogOptions, 'sign'> | undefined): PreparedItem {
    const sign = options?.sign === false ? undefined : (options?.sign ?? this.signer);
    return prepareItem(item, { tenantId: this.tenantId, sign });
  }

  private bulkBody(request: LogBulkInput, options: LogOptions | undefined): LogBulkRequest {
    const { events, ...rest } = request;
    if (!Array.isArray(events)) throw new TypeError('events must be an array');
    return { ...rest, events: events.map((item) => this.prepare(item, options)) };
  }

  /**
   * `v2/log` answers one result per event, in input order. A list of any other length leaves
   * every event's fate unknown (the service took the request, so some may be stored): the caller
   * must not read it as the events logged.
   */
  private checkBulkResults(response: AuditResponse<LogBulkResult>, sent: number): void {
    const results = (response.result as { results?: unknown } | null)?.results;
    const target = Transport.target('POST', this.url('v2/log'));
    if (!Array.isArray(results) || results.length !== sent) throw unlistedResults(response, `${resultCount(results, sent)}: which events were stored is unknown`, target);
    // Each event's hash is what its caller is given (and what finds it again): one without it
    // leaves that event's fate unknown.
    const unhashed = results.findIndex((item) => typeof (item as { hash?: unknown } | null)?.hash !== 'string');
    if (unhashed >= 0) throw unlistedResults(response, `result ${unhashed} without a hash: whether that event was stored is unknown`, target);
  }

  /** One POST, its retries, and (if asked) the polling of a 202. */
  private async call<R>(
    endpoint: EndpointPath,
    body: object,
    kind: CallKind,
    options: PollOptions | undefined,
    pollByDefault: boolean,
  ): Promise<AuditResponse<R> | AcceptedRequest> {
    const startedAt = Date.now();
    const payload: Record<string, unknown> = { ...body };
    if (this.configId !== undefined && payload.config_id === undefined) payload.config_id = this.configId;
    const exchange: Exchange = { method: 'POST', url: this.url(endpoint), endpoint, body: JSON.stringify(payload) };
    const outcome = await this.exchange<R>(exchange, kind, options?.signal);
    if (outcome.status === 'Success' || !(options?.poll ?? pollByDefault)) return outcome;
    const deadlineMs = options?.deadlineMs ?? this.pollingPolicy.deadlineMs;
    const poll = { ...this.pollExchange(outcome.requestId), polledId: outcome.requestId };
    return pollUntilDone<R>(outcome, (signal) => this.exchange<R>(poll, 'read', signal), {
      policy: this.pollingPolicy,
      deadlineAt: startedAt + deadlineMs,
      deadlineMs,
      endpoint,
      aborted: (reason) => abortError(Transport.target(exchange.method, exchange.url), reason, this.redactor),
      redactor: this.redactor,
      signal: options?.signal,
    });
  }

  /**
   * Polls by request id against our own base, never by following `location`: a location on
   * another host would receive the bearer token.
   */
  private pollExchange(requestId: string): Exchange {
    const endpoint = `request/${encodeURIComponent(requestId)}`;
    return { method: 'GET', url: this.url(endpoint), endpoint };
  }

  /** Sends with retries per the policy and the call kind. */
  private async exchange<R>(exchange: Exchange, kind: CallKind, signal: AbortSignal | undefined): Promise<AuditResponse<R> | AcceptedRequest> {
    // Request ids of failed attempts, sent on retries so the service can correlate them.
    const retriedIds: string[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        return await (this.onCall ? this.observedOnce<R>(exchange, retriedIds, signal, this.onCall) : this.once<R>(exchange, retriedIds, signal));
      } catch (err) {
        const delay = retryDelay(err, kind, attempt, this.retryPolicy);
        if (delay === null) throw err;
        const id = (err as { requestId?: unknown }).requestId;
        if (typeof id === 'string') retriedIds.push(id);
        await this.pause(delay, signal, Transport.target(exchange.method, exchange.url));
      }
    }
  }

  private async observedOnce<R>(
    exchange: Exchange,
    retriedIds: readonly string[],
    signal: AbortSignal | undefined,
    onCall: NonNullable<AuditClientOptions['onCall']>,
  ): Promise<AuditResponse<R> | AcceptedRequest> {
    // Poll endpoints carry a request id: one name for all of them keeps the set of names fixed.
    const endpoint = exchange.method === 'GET' ? 'request' : exchange.endpoint;
    const startedAt = performance.now();
    try {
      const outcome = await this.once<R>(exchange, retriedIds, signal);
      onCall(endpoint, outcome.status === 'Success' ? 'ok' : 'accepted', performance.now() - startedAt);
      return outcome;
    } catch (err) {
      onCall(endpoint, err instanceof AuditClientError ? err.name : 'error', performance.now() - startedAt);
      throw err;
    }
  }

  /** One HTTP exchange, its envelope read and judged by `status`. */
  private async once<R>(exchange: Exchange, retriedIds: readonly string[], signal: AbortSignal | undefined): Promise<AuditResponse<R> | AcceptedRequest> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: 'application/json',
      'user-agent': this.userAgent,
    };
    if (exchange.body !== undefined) headers['content-type'] = 'application/json';
    if (retriedIds.length > 0) headers['x-pangea-retried-request-ids'] = retriedIds.join(',');
    const response = await this.transport.send({
      method: exchange.method,
      url: exchange.url,
      headers,
      body: exchange.body,
      signal,
    });
    const ctx: ResponseContext = {
      redactor: this.redactor,
      target: Transport.target(exchange.method, exchange.url),
      endpoint: exchange.endpoint,
      httpStatus: response.statusCode,
      headers: response.headers,
    };
    const parsed = parseEnvelope(response.text);
    if (!parsed.ok) throw bodyError(parsed, response.text, ctx);
    const { envelope } = parsed;
    if (exchange.polledId !== undefined && envelope.request_id !== exchange.polledId && (envelope.status === 'Success' || envelope.status === 'Accepted')) {
      throw foreignPollAnswerError(envelope.request_id, exchange.polledId, ctx);
    }
    if (envelope.status === 'Success') return successResponse<R>(envelope, response.statusCode);
    if (envelope.status === 'Accepted') return acceptedRequest(envelope);
    throw apiError(envelope, ctx);
  }

  /** Backoff sleep that turns the caller's abort into AuditAbortError. */
  private async pause(ms: number, signal: AbortSignal | undefined, target: string): Promise<void> {
    try {
      await sleep(ms, signal);
    } catch (reason) {
      throw abortError(target, reason, this.redactor);
    }
  }

  private url(endpoint: string): URL {
    // Parsed once per endpoint: a client calls a handful of them, over and over. Polling paths
    // carry a request id, so the cache stops growing at a bound and those are parsed each time.
    // The URL objects are only read (transport.ts), never changed.
    let url = this.urls.get(endpoint);
    if (url === undefined) {
      url = new URL(`${this.baseUrl}/${endpoint}`);
      if (this.urls.size < MAX_CACHED_URLS) this.urls.set(endpoint, url);
    }
    return url;
  }

  /**
   * Runs a call so that whatever escapes is either one of our errors (already scrubbed) or is
   * scrubbed here: a bug or a caller's bad input must not carry the token out either.
   */
  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof AuditClientError) throw err;
      throw this.redactor.inPlace(err);
    }
  }
}

/**
 * A log whose whole answer is the event's hash, sent with nothing a `v2/log` group could not carry
 * for it: no verbose, no prev_root, no config_id of its own, the default polling.
 */
function isPlainLog(rest: Omit<LogInput, 'event' | 'signature' | 'public_key'>, options: LogOptions | undefined): boolean {
  if (options?.poll !== undefined || options?.deadlineMs !== undefined) return false;
  for (const key in rest) {
    const value = (rest as Record<string, unknown>)[key];
    if (value === undefined || (key === 'verbose' && value === false)) continue;
    return false;
  }
  return true;
}

function resolveBase(options: AuditClientOptions): string {
  if ((options.baseUrl === undefined) === (options.domain === undefined)) {
    throw new TypeError('AuditClient needs exactly one of baseUrl or domain');
  }
  const raw = options.baseUrl ?? `https://audit.${options.domain}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError('the audit service URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`the audit service URL must be http(s), not ${url.protocol}`);
  if (url.username || url.password) throw new TypeError('the audit service URL must not carry credentials; pass the token separately');
  if (url.search || url.hash) throw new TypeError('the audit service URL must not have a query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
