// An abort signal and what aborts it, for what is made per request or per upstream call: a
// GraphQL request's signal (aborted when its caller leaves), a group of coalesced logs, a shared
// root fetch.
//
// Why not an AbortController: on Node 20 a young collection never frees an AbortSignal, so each
// one, and whatever it references when a scavenge runs, was copied and then promoted to the old
// generation. An EventTarget with AbortSignal's members is freed young like any object. Every
// consumer these signals reach takes it: they read `aborted` and `reason` and use
// addEventListener/removeEventListener (undici, Node's timers/promises and
// events.addAbortListener, @whatwg-node's Request, @graphql-hive/signal's abortSignalAny, and this
// client's transport, coalescer and polling).
//
// Not Node's own AbortSignal.any: it links a composite through internal slots that only a native
// signal has, so a composite of this one would never abort. The lint rule on AbortSignal.any says
// so; linkedController (signals.ts) follows a parent with a listener instead.

class SourceSignal extends EventTarget implements AbortSignal {
  #aborted = false;
  #reason: unknown = undefined;
  onabort: ((this: AbortSignal, event: Event) => unknown) | null = null;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }

  get [Symbol.toStringTag](): string {
    return 'AbortSignal';
  }

  fire(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    const event = new Event('abort');
    this.dispatchEvent(event);
    this.onabort?.call(this, event);
  }
}

/**
 * What an AbortController is, with a signal young collections free (see above). A class with
 * methods, not closures made per call: tsx, which runs the sources, names every named closure
 * with Object.defineProperty as it is made.
 */
export class AbortSource {
  readonly #signal = new SourceSignal();

  /** `aborted`, `reason`, `onabort`, `throwIfAborted` and its 'abort' event. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Aborts the signal once (later calls do nothing); the reason defaults to an AbortError. */
  abort(reason?: unknown): void {
    this.#signal.fire(reason);
  }
}
