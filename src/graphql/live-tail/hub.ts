// Shares one watcher among all subscribers of the same key (upstream client, query, effective
// restriction, resume position): the first subscriber starts it, the last one to leave stops it.
// Each subscriber has a bounded queue; one that falls too far behind is ended, not buffered forever.
// A watcher the upstream refuses (bad query or restriction, rejected token) ends every subscriber
// of it with that error; watchers of other keys go on.
import type { AuditClient } from '../../audit-client/index.js';
import type { SearchRestriction } from '../../wire/index.js';
import { LiveTailWatcher, type TailEvent, type TailPosition } from './watcher.js';

export type TailItem = TailEvent;

/** Thrown into a subscriber's stream when its queue overflows. */
export class SlowSubscriberError extends Error {
  override name = 'SlowSubscriberError';
}

/** Events a subscriber may have waiting before it is ended. */
export const MAX_QUEUED = 10_000;

interface Subscriber {
  queue: TailItem[];
  wake: (() => void) | undefined;
  /** Thrown into the stream once the events queued before it are taken. */
  failure: Error | undefined;
  /** The gateway is shutting down: the stream ends cleanly (clients resume with after:). */
  ended: boolean;
}

interface Shared {
  watcher: LiveTailWatcher;
  subscribers: Set<Subscriber>;
}

export interface TailRequest {
  key: string;
  query: string;
  restriction?: SearchRestriction;
  from?: TailPosition;
  intervalMs: number;
}

export class LiveTailHub {
  readonly #shared = new Map<string, Shared>();

  constructor(private readonly client: AuditClient) {}

  get watchers(): number {
    return this.#shared.size;
  }

  get subscribers(): number {
    let n = 0;
    for (const s of this.#shared.values()) n += s.subscribers.size;
    return n;
  }

  /** Events for one subscriber until it stops iterating or the signal aborts. */
  async *subscribe(request: TailRequest, signal: AbortSignal): AsyncGenerator<TailItem> {
    const me: Subscriber = { queue: [], wake: undefined, failure: undefined, ended: false };
    const shared = this.#join(request, me);
    totals.subscribers++;
    const onAbort = (): void => me.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted && !me.ended) {
        const item = me.queue.shift();
        if (item) {
          yield item;
          continue;
        }
        if (me.failure) throw me.failure;
        await new Promise<void>((resolve) => (me.wake = resolve));
        me.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      shared.subscribers.delete(me);
      totals.subscribers--;
      if (shared.subscribers.size === 0 && this.#shared.get(request.key) === shared) {
        shared.watcher.stop();
        this.#shared.delete(request.key);
        totals.watchers--;
      }
    }
  }

  /** Ends every subscription (graceful shutdown). */
  close(): void {
    for (const shared of this.#shared.values()) {
      shared.watcher.stop();
      for (const s of shared.subscribers) {
        s.ended = true;
        s.wake?.();
      }
    }
  }

  #join(request: TailRequest, me: Subscriber): Shared {
    let shared = this.#shared.get(request.key);
    if (!shared) {
      const subscribers = new Set<Subscriber>();
      const watcher = new LiveTailWatcher(this.client, {
        query: request.query,
        intervalMs: request.intervalMs,
        ...(request.restriction ? { restriction: request.restriction } : {}),
        ...(request.from ? { from: request.from } : {}),
        // Events queued before the refusal still reach their subscribers, then the error.
        onRefused: (err) => {
          for (const s of subscribers) {
            s.failure ??= err;
            s.wake?.();
          }
          if (this.#shared.get(request.key)?.watcher === watcher) {
            this.#shared.delete(request.key);
            totals.watchers--;
          }
        },
        onEvents: (items) => {
          for (const s of subscribers) {
            if (s.failure) continue;
            if (s.queue.length + items.length > MAX_QUEUED) {
              s.failure = new SlowSubscriberError(`more than ${MAX_QUEUED} events waited for this subscriber; resubscribe with after: set to the last cursor received`);
              s.queue.length = 0;
            } else s.queue.push(...items);
            s.wake?.();
          }
        },
      });
      shared = { watcher, subscribers };
      this.#shared.set(request.key, shared);
      totals.watchers++;
      watcher.start();
    }
    shared.subscribers.add(me);
    return shared;
  }
}

/** Live subscribers and watchers across every hub of the process (for /metrics). */
const totals = { subscribers: 0, watchers: 0 };

export function liveTailTotals(): { subscribers: number; watchers: number } {
  return { ...totals };
}

const hubs = new WeakMap<AuditClient, LiveTailHub>();

/** Ends the live tails served through this client (graceful shutdown, before the drain). */
export function closeLiveTails(client: AuditClient): void {
  hubs.get(client)?.close();
}

/** The hub of an upstream client: watchers are shared only among callers of the same client. */
export function hubFor(client: AuditClient): LiveTailHub {
  let hub = hubs.get(client);
  if (!hub) hubs.set(client, (hub = new LiveTailHub(client)));
  return hub;
}
