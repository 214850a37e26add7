// Plain single-event logs (no verbose, no prev_root) that reach the client in the same event-loop
// turn go upstream together as one `v2/log` call. The answer a plain `v1/log` gives is only the
// event's hash, which `v2/log` returns per event in input order, so each caller gets what it would
// have got, while the gateway and the service pay one HTTP exchange, one envelope and one commit
// for the group instead of one per event. A lone log is sent as `v1/log`, exactly as without this.
//
// A ValidationError for the group means the service stored none of it (it validates every event
// before it appends any), so sending again cannot duplicate. When every field error points into an
// event of the group (`/events/<i>/…`), those events fail with their own errors, pointed into their
// own item as `v1/log` points them, and the rest go again as one group (after MAX_GROUP_ROUNDS
// refusals, one by one). When any points elsewhere, each event goes again on its own as `v1/log`
// and gets its own answer.
//
// Any other failure is every member's: the request as a whole met it, and it may have been applied,
// so it is never sent again. The members may be different callers and tenants, and the service's
// words about a request of several events may quote any of them, so each member gets the failure
// with those words left out. A member whose caller aborts is answered at once; the group's request
// is cancelled only when every member has gone.
import type { LogBulkResult, LogResult, ValidationErrorItem } from '../wire/index.js';
import { AbortSource } from './abort-source.js';
import {
  AcceptedResultUnavailableError,
  AuditApiError,
  BadOffsetError,
  InternalServerError,
  MalformedEnvelopeError,
  NonJsonBodyError,
  NotFoundError,
  RateLimitedError,
  ServiceNotEnabledError,
  ServiceUnavailableError,
  TreeNotFoundError,
  UnauthorizedError,
  ValidationError,
  type ApiErrorInit,
} from './errors.js';
import type { PreparedItem } from './event.js';
import type { AuditResponse } from './response.js';

export interface CoalescingPolicy {
  /** Most events in one `v2/log` call (the API allows 1000). */
  maxEvents: number;
  /** Most characters of field values in one call: keeps a group's body far below any body limit. */
  maxChars: number;
}

export const DEFAULT_COALESCING_POLICY: CoalescingPolicy = { maxEvents: 100, maxChars: 256 * 1024 };

/** How the coalescer reaches the service: the client's own calls, each with its error mapping. */
export interface CoalescedSends {
  /** `v1/log` for one event. */
  one(item: PreparedItem, signal: AbortSignal | undefined): Promise<AuditResponse<LogResult>>;
  /** `v2/log` for several, not verbose. */
  many(items: PreparedItem[], signal: AbortSignal): Promise<AuditResponse<LogBulkResult>>;
  /** The error a caller gets when its own signal fires. */
  aborted(reason: unknown): Error;
  /** Where the group went, for an error about its answer. */
  target: string;
}

/**
 * One queued log. It is its own listener on the caller's signal (an EventListener object): a
 * closure kept on the member that captures the member made V8's young collections keep every
 * member, with its event, until a full collection (docs/performance.md: What a `log` left behind, and why).
 */
class Member {
  /** Where the member is: waiting for the flush, sent in a group, or sent on its own. */
  stage: 'queued' | GroupSend | 'alone' = 'queued';
  /** Answered; until then it listens on the caller's signal (when there is one). */
  settled = false;

  constructor(
    private readonly coalescer: LogCoalescer,
    /** Prepared (normalised, tenant added, signed) when it was queued: a bad event fails alone. */
    readonly item: PreparedItem,
    readonly chars: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (response: AuditResponse<LogResult>) => void,
    readonly reject: (err: unknown) => void,
  ) {}

  /** The caller's signal fired. */
  handleEvent(): void {
    this.coalescer.abandon(this, this.signal?.reason);
  }
}

/** A group's request, cancelled once no member waits for it. */
interface GroupSend {
  controller: AbortSource;
  waiting: number;
}

/** An event hash as v2/log lists it for each event. */
const HASH = /^[0-9a-f]{64}$/;

/**
 * How many times one batch of events may be refused before its events go one by one: a service
 * that names only some of the faulty events per answer needs a round for each of them.
 */
const MAX_GROUP_ROUNDS = 3;

export class LogCoalescer {
  private queue: Member[] = [];
  private flushScheduled = false;

  constructor(
    private readonly sends: CoalescedSends,
    private readonly policy: CoalescingPolicy = DEFAULT_COALESCING_POLICY,
  ) {
    if (!Number.isInteger(policy.maxEvents) || policy.maxEvents < 1 || policy.maxEvents > 1000) throw new TypeError('coalesceLogs.maxEvents must be an integer from 1 to 1000');
    if (!(policy.maxChars > 0)) throw new TypeError('coalesceLogs.maxChars must be a positive number');
  }

  log(item: PreparedItem, signal: AbortSignal | undefined): Promise<AuditResponse<LogResult>> {
    if (signal?.aborted) return Promise.reject(this.sends.aborted(signal.reason));
    return new Promise((resolve, reject) => {
      const member = new Member(this, item, valueChars(item), signal, resolve, reject);
      this.queue.push(member);
      if (signal) {
        signal.addEventListener('abort', member, { once: true });
      }
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const queue = this.queue;
    this.queue = [];
    let group: Member[] = [];
    let chars = 0;
    for (const member of queue) {
      if (group.length > 0 && (group.length >= this.policy.maxEvents || chars + member.chars > this.policy.maxChars)) {
        this.send(group);
        group = [];
        chars = 0;
      }
      group.push(member);
      chars += member.chars;
    }
    if (group.length > 0) this.send(group);
  }

  /** `round`: how many times these events were already refused as a group. */
  private send(group: Member[], round = 0): void {
    if (group.length === 1) {
      this.sendAlone(group[0]!);
      return;
    }
    const send: GroupSend = { controller: new AbortSource(), waiting: group.length };
    for (const member of group) member.stage = send;
    this.sends
      .many(
        group.map((member) => member.item),
        send.controller.signal,
      )
      .then(
        (response) => this.deliver(group, response),
        (err: unknown) => {
          if (err instanceof ValidationError) {
            this.refused(group, err, round + 1);
            return;
          }
          const shared = withoutUpstreamText(err);
          for (const member of group) this.settle(member, () => member.reject(shared));
        },
      );
  }

  /** The service refused the group's request (so it stored none of it). */
  private refused(group: Member[], err: ValidationError, rounds: number): void {
    const faults = faultsByEvent(err.errors, group.length);
    const rest: Member[] = [];
    group.forEach((member, index) => {
      const own = faults?.get(index);
      if (own) this.settle(member, () => member.reject(ownRefusal(err, own)));
      else if (!member.settled) rest.push(member);
    });
    if (faults === undefined || rounds >= MAX_GROUP_ROUNDS) {
      for (const member of rest) this.sendAlone(member);
    } else if (rest.length > 0) {
      this.send(rest, rounds);
    }
  }

  private sendAlone(member: Member): void {
    // Its own call watches the caller's signal from here on, and answers an abort itself.
    member.stage = 'alone';
    this.sends.one(member.item, member.signal).then(
      (response) => this.settle(member, () => member.resolve(response)),
      (err: unknown) => this.settle(member, () => member.reject(err)),
    );
  }

  private deliver(group: Member[], response: AuditResponse<LogBulkResult>): void {
    const results = (response.result as { results?: unknown } | null)?.results;
    // One result per event, in input order, or the list says nothing about any of them.
    const listed = Array.isArray(results) && results.length === group.length ? results : undefined;
    group.forEach((member, index) => {
      const hash = (listed?.[index] as { hash?: unknown } | null | undefined)?.hash;
      if (typeof hash === 'string' && HASH.test(hash)) {
        this.settle(member, () => member.resolve({ ...response, result: { hash } }));
        return;
      }
      const counted = resultCount(results, group.length);
      const what = listed ? `${counted} (event ${index} has no valid hash)` : counted;
      const err = unlistedResults(response, `${what}: whether this event was stored is unknown`, this.sends.target);
      this.settle(member, () => member.reject(err));
    });
  }

  /**
   * The caller's signal fired: a queued member leaves the queue, a grouped one is answered at once
   * and its group's request cancelled when it was the last one waiting, and one sent on its own is
   * answered by its own call.
   */
  abandon(member: Member, reason: unknown): void {
    const stage = member.stage;
    if (stage === 'alone') return;
    if (stage === 'queued') {
      const at = this.queue.indexOf(member);
      if (at >= 0) this.queue.splice(at, 1);
    }
    this.settle(member, () => member.reject(this.sends.aborted(reason)));
    if (stage !== 'queued' && --stage.waiting === 0) stage.controller.abort(reason);
  }

  /** Answers a member once: a late group answer after its caller's abort changes nothing. */
  private settle(member: Member, answer: () => void): void {
    if (member.settled) return;
    member.settled = true;
    member.signal?.removeEventListener('abort', member);
    answer();
  }
}

/** A group member's event, and the rest of a field error's pointer below it. */
const EVENT_POINTER = /^\/events\/(0|[1-9][0-9]*)(?=\/|$)/;
const EVENT_PATH = /^events\.(0|[1-9][0-9]*)(?:\.|$)/;

/**
 * A group's field errors by the index of the event each points into, re-pointed into that event's
 * own item (`/events/3/event/actor` → `/event/actor`, as `v1/log` names it). Undefined when any of
 * them points elsewhere (the request as a whole, or an event the group does not have).
 */
function faultsByEvent(errors: readonly ValidationErrorItem[], size: number): Map<number, ValidationErrorItem[]> | undefined {
  if (errors.length === 0) return undefined;
  const faults = new Map<number, ValidationErrorItem[]>();
  for (const item of errors) {
    const found = EVENT_POINTER.exec(item.source);
    const index = Number(found?.[1]);
    if (!found || index >= size) return undefined;
    const own: ValidationErrorItem = { code: item.code, detail: item.detail, source: item.source.slice(found[0].length) };
    // The dotted form, when the service adds one, must agree with the pointer or it is left out.
    const path = item.path === undefined ? undefined : EVENT_PATH.exec(item.path);
    if (path && Number(path[1]) === index) own.path = item.path!.slice(path[0].length);
    const list = faults.get(index);
    if (list) list.push(own);
    else faults.set(index, [own]);
  }
  return faults;
}

/** The group's refusal as one faulty member sees it: only its own field errors, and nothing else the service said. */
function ownRefusal(err: ValidationError, errors: ValidationErrorItem[]): ValidationError {
  const summary = errors.length === 1 ? errors[0]!.detail : `There were ${errors.length} errors validating the event`;
  return new ValidationError(
    { status: err.status, summary, requestId: err.requestId, httpStatus: err.httpStatus, endpoint: err.endpoint, result: { errors } },
    errors,
  );
}

/** The classes of envelope errors whose constructor takes the envelope's facts and nothing else. */
const INIT_ONLY: ReadonlyArray<new (init: ApiErrorInit) => AuditApiError> = [
  UnauthorizedError,
  ServiceNotEnabledError,
  NotFoundError,
  BadOffsetError,
  TreeNotFoundError,
  ServiceUnavailableError,
  InternalServerError,
];

/**
 * A group's failure as every member may see it. Only what the service wrote can hold another
 * member's event: an envelope's summary and result, or a body that is not JSON (its excerpt), also
 * when a poll of the accepted batch met them. Those are left out; the class and every fact a caller
 * handles it by (status, HTTP status, request id, transient, Retry-After, whether the request
 * reached the service, the accepted request to poll) stay. Other errors are the client's own words
 * and pass as they are.
 */
function withoutUpstreamText(err: unknown): unknown {
  if (err instanceof AuditApiError) {
    const init: ApiErrorInit = {
      status: err.status,
      summary: `the batch holding this event failed with ${err.status}`,
      requestId: err.requestId,
      httpStatus: err.httpStatus,
      endpoint: err.endpoint,
    };
    if (err instanceof RateLimitedError) return new RateLimitedError(init, err.retryAfterMs);
    const Same = INIT_ONLY.find((cls) => err.constructor === cls);
    return Same ? new Same(init) : new AuditApiError(init, { transient: err.transient });
  }
  if (err instanceof AcceptedResultUnavailableError) {
    // Its message repeats its cause's: a poll's failure, in the service's words about the batch.
    return new AcceptedResultUnavailableError({ requestId: err.requestId, location: err.location, endpoint: 'v2/log', cause: withoutUpstreamText(err.cause) });
  }
  if (err instanceof NonJsonBodyError && err.bodyExcerpt.trim() !== '') {
    const status = err.httpStatus === undefined ? '' : `HTTP ${err.httpStatus}: `;
    return new NonJsonBodyError(`${status}the body is not JSON`, {
      target: err.target,
      code: err.code,
      neverReachedServer: err.neverReachedServer,
      transient: err.transient,
      httpStatus: err.httpStatus,
      requestId: err.requestId,
      contentType: err.contentType,
      bodyExcerpt: '',
    });
  }
  return err;
}

/** Characters of an event's field values: a cheap bound on its share of the group's body. */
function valueChars(item: PreparedItem): number {
  let chars = 64 + (item.signature?.length ?? 0) + (item.public_key?.length ?? 0);
  const event = item.event as Record<string, unknown>;
  for (const key in event) {
    const value = event[key];
    chars += key.length + (typeof value === 'string' ? value.length : 24);
  }
  return chars;
}

/** How a v2/log answer's results compare with the events sent, for an error about them. */
export function resultCount(results: unknown, sent: number): string {
  return Array.isArray(results) ? `${results.length} results for ${sent} events` : 'without results';
}

/**
 * A v2/log answer that does not list one result per event sent. The service took the request, so
 * events may be stored; nothing in the answer can say which.
 */
export function unlistedResults(response: AuditResponse<unknown>, what: string, target: string): MalformedEnvelopeError {
  return new MalformedEnvelopeError(`v2/log answered ${what}`, {
    target,
    code: 'MALFORMED_RESULT',
    neverReachedServer: false,
    transient: false,
    requestId: response.requestId,
    httpStatus: response.httpStatus,
  });
}
