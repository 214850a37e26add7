// Watches one upstream query for newly received events. The audit API has no push, so this polls
// v1/search from the last delivered received_at (inclusive, ascending) and drops the events already
// delivered at that instant by key (see eventKey): a failed poll retried, or a watcher restarted
// from a position, neither skips nor repeats an event. A poll the service refuses outright (a bad
// query or restriction, a rejected token) stops the watcher: asking again cannot succeed.
import { createHash } from 'node:crypto';
import { AuditApiError, BadOffsetError, NotFoundError, type AuditClient } from '../../audit-client/index.js';
import { normalizeTimestamp } from '../../wire/timestamp.js';
import type { PublishedRoot, SearchEvent, SearchRequest, SearchRestriction, UnpublishedRoot } from '../../wire/index.js';

/** Where a watcher stands: the last delivered instant and the keys (eventKey) of the events delivered at it. */
export interface TailPosition {
  receivedAt: string;
  keys: string[];
}

/** Characters of an eventKey. */
export const EVENT_KEY_CHARS = 12;

/**
 * What tells apart the events delivered at one instant: 72 bits of a digest of the event's hash,
 * as 12 base64url characters, so that a resume cursor can carry dozens of them. Two events of the
 * same microsecond share a key by chance once in 2^72 pairs. A digest of the hash rather than a
 * slice of it: the upstream's hash is whatever string it sent.
 */
export function eventKey(hash: string): string {
  return createHash('sha256').update(hash).digest('base64url').slice(0, EVENT_KEY_CHARS);
}

/**
 * Whether the service refused the poll itself, so that repeating it cannot help: the query or
 * restriction is invalid, the token is rejected, the service is not enabled for it. Transient
 * failures (network, 5xx, 429) are retried, and so is a result set that expired or shrank between
 * the pages of one poll (NotFound, BadOffset from v1/results): the next poll searches afresh.
 */
export function isRefusal(err: unknown): err is AuditApiError {
  if (!(err instanceof AuditApiError) || err.transient) return false;
  return !((err instanceof NotFoundError || err instanceof BadOffsetError) && err.endpoint === 'v1/results');
}

/** One delivered event, with the roots of the page it came on (its proofs lead to them). */
export interface TailEvent {
  event: SearchEvent;
  position: TailPosition;
  root: PublishedRoot | undefined;
  unpublishedRoot: UnpublishedRoot | undefined;
}

export interface WatcherOptions {
  query: string;
  restriction?: SearchRestriction;
  intervalMs: number;
  /** Resume after this position; without it the watcher starts now (or after the upstream's newest matching event, when its clock is behind). */
  from?: TailPosition;
  /** Events delivered in received_at order, each once, with the position just after it. */
  onEvents: (events: TailEvent[]) => void;
  /** A poll that failed and will be retried from the same position. */
  onError?: (err: unknown) => void;
  /** The service refused a poll (see isRefusal): the watcher has stopped. */
  onRefused?: (err: AuditApiError) => void;
}

/** The service's page and result-set bounds. */
const PAGE = 1000;
const MAX_RESULTS = 10000;
/** Keys kept for one instant: more events than this in one microsecond would be delivered twice. */
const MAX_KEYS = 10000;

export class LiveTailWatcher {
  #since: string;
  #seen: Set<string>;
  #timer: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #stopped = false;
  #positioned: boolean;

  constructor(
    private readonly client: AuditClient,
    private readonly options: WatcherOptions,
  ) {
    // Without a position: from now (fixed-width microseconds, like the service's received_at, so
    // text order is time order), moved back by the first poll if the upstream's clock is behind.
    this.#since = options.from?.receivedAt ?? normalizeTimestamp(new Date().toISOString())!;
    this.#seen = new Set(options.from?.keys ?? []);
    this.#positioned = options.from !== undefined;
  }

  get position(): TailPosition {
    return { receivedAt: this.#since, keys: [...this.#seen] };
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.poll().then(
        (more) => this.#schedule(more ? 0 : this.options.intervalMs),
        (err: unknown) => {
          if (this.#stopped) return;
          if (isRefusal(err)) {
            this.stop();
            this.options.onRefused?.(err);
            return;
          }
          this.options.onError?.(err);
          this.#schedule(this.options.intervalMs);
        },
      );
    }, delay);
  }

  /**
   * Starts no later than just after the newest matching event the upstream holds: an upstream
   * whose clock is behind the gateway's stamps the next events before "now", and they must not
   * be skipped. (Events newer than "now" by the gateway's clock are delivered as they are.)
   */
  async #startAtNewest(signal: AbortSignal): Promise<void> {
    const newest = (
      await this.client.search(
        { query: this.options.query, order: 'desc', order_by: 'received_at', limit: 100, max_results: 100, ...(this.options.restriction ? { search_restriction: this.options.restriction } : {}) },
        { signal },
      )
    ).result.events;
    const at = newest[0]?.envelope.received_at;
    if (at !== undefined && at < this.#since) {
      this.#since = at;
      this.#seen = new Set(newest.filter((e) => e.envelope.received_at === at).map((e) => eventKey(e.hash)));
    }
    this.#positioned = true;
  }

  /** One poll: delivers what is new; true when the result set was capped and more may follow at once. */
  async poll(): Promise<boolean> {
    if (!this.#positioned) await this.#startAtNewest(this.#abort.signal);
    const request: SearchRequest = {
      query: this.options.query,
      start: this.#since,
      order: 'asc',
      order_by: 'received_at',
      verbose: true,
      limit: PAGE,
      max_results: MAX_RESULTS,
      ...(this.options.restriction ? { search_restriction: this.options.restriction } : {}),
    };
    const signal = this.#abort.signal;
    const first = (await this.client.search(request, { signal })).result;
    this.#deliver(first.events, first.root, first.unpublished_root);
    for (let offset = first.events.length; offset < first.count && !this.#stopped; ) {
      const page = (await this.client.results({ id: first.id, offset, limit: PAGE }, { signal })).result;
      if (page.events.length === 0) break;
      this.#deliver(page.events, page.root, page.unpublished_root);
      offset += page.events.length;
    }
    return first.count >= MAX_RESULTS;
  }

  #deliver(events: SearchEvent[], root: PublishedRoot | undefined, unpublishedRoot: UnpublishedRoot | undefined): void {
    const fresh: TailEvent[] = [];
    for (const event of events) {
      const at = event.envelope.received_at;
      if (at < this.#since) continue;
      const key = eventKey(event.hash);
      if (at === this.#since && this.#seen.has(key)) continue;
      if (at > this.#since) {
        this.#since = at;
        this.#seen.clear();
      }
      if (this.#seen.size < MAX_KEYS) this.#seen.add(key);
      fresh.push({ event, position: { receivedAt: at, keys: [...this.#seen] }, root, unpublishedRoot });
    }
    if (fresh.length > 0 && !this.#stopped) this.options.onEvents(fresh);
  }
}
