// An independent witness for published roots. The audit service publishes every root it commits
// to; the cloud also writes a copy of each to Arweave, where neither the service nor anyone else
// can change it afterwards. A root the service shows us is only as good as its agreement with
// that copy, so the gateway looks each published root up there, the way the vendor SDKs do:
//
//   POST <base>/graphql  {"query": "{ transactions(tags: [{name: \"tree_size\", values: [...]},
//                                     {name: \"tree_name\", values: [...]}]) { edges { node { id tags { name value } } } } }"}
//   GET  <base>/<id>/    → the root JSON ({size, root_hash, published_at, consistency_proof, …}),
//                          or a body / status text "Pending" while the transaction is not mined.
//
// Where this differs from the SDKs, and why:
// - The query asks for `first: 100` and pages with `after`: an Arweave gateway answers 10
//   transactions per page unless told otherwise, and a copy we never see cannot be checked.
// - The SDKs keep whichever copy of a size they read last. Anyone can post a transaction carrying
//   these tags, so a forger who rewrote history could publish a copy of the forged root next to
//   the genuine one; the SDK rule might then pick the forgery. Here every mined copy of a size must
//   hold the same root_hash as the root being checked, and a single mined copy that disagrees (or
//   is not a root record at all) makes the check FAIL. The price is that junk posted under a
//   tree's tags raises a false alarm instead of a silent pass, which is the side to err on.
// - Edges are trusted only for what was asked: an edge whose tree_name tag is not the tree's, or
//   whose (first) tree_size tag is not a requested size, is ignored.
// - PASS needs every copy of the size: each one listed was read, is mined, and holds the claimed
//   root_hash, and the listing was complete. Copies that agree say nothing about a copy that was
//   not read (it may be the forger's, or the genuine one under a forger's), so while any copy is
//   unread or unresolved (not mined yet, 404, 5xx, timeout, an edge without its transaction, a
//   partial GraphQL answer) the verdict is PENDING, naming why, and is asked again later: an honest
//   but flaky gateway then settles to PASS by itself, and an error status, timeout or refused
//   connection is never a FAIL (only mined data that is not the claimed root is).
// - A listing longer than `maxPages` pages (anyone can post copies under a tree's tags, newest
//   first, to push older ones out of reach) is PENDING with that reason, not FAIL: the copies past
//   the last page are unknown rather than shown to disagree, and a pile of identical copies is not
//   itself evidence of forgery (the cloud may post a root twice). It is never PASS, and any copy
//   that was read and disagrees still makes it FAIL. Past-the-end copies could be of any size in the
//   query, so every size of that query is PENDING.
//
// What is final: a mined Arweave transaction never changes, so once every copy of a size has been
// read the verdict is kept (PASS or FAIL, per tree_name + size, in a bounded LRU). A FAIL caused by
// a mined copy is final at once. Everything else (no copy yet, a copy unread or unresolved, a
// listing not read to its end) is PENDING and remembered for `pendingRetryMs` only, so a busy
// gateway asks again now and then instead of on every request.
import { Agent, fetch, type Dispatcher } from 'undici';

export const ARWEAVE_BASE_URL = 'https://arweave.net';

export type WitnessConfig = { kind: 'none' } | { kind: 'arweave'; baseUrl: string };

/**
 * Reads ROOT_WITNESS: `arweave` (https://arweave.net), `none`, or the http(s) base URL of an
 * Arweave-compatible gateway (trailing slashes trimmed). Unset or empty gives `defaultKind`.
 * Anything else throws an Error whose message is one line naming the accepted values.
 */
export function parseRootWitness(value: string | undefined, defaultKind: 'arweave' | 'none'): WitnessConfig {
  const raw = value?.trim() ?? '';
  const kind = raw === '' ? defaultKind : raw.toLowerCase();
  if (kind === 'none') return { kind: 'none' };
  if (kind === 'arweave') return { kind: 'arweave', baseUrl: ARWEAVE_BASE_URL };
  const accepted = 'ROOT_WITNESS must be "arweave", "none" or the http(s) base URL of an Arweave-compatible gateway';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${accepted}, got ${quote(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${accepted}, got ${quote(raw)}`);
  // Echoing such a URL would print its password; the witness is public and needs none.
  if (url.username !== '' || url.password !== '') throw new Error(`${accepted}, got a URL with credentials (a witness needs none)`);
  // Paths are appended to the base, so a query or fragment would end up in the wrong place.
  if (url.search !== '' || url.hash !== '' || raw.includes('?') || raw.includes('#')) {
    throw new Error(`${accepted} without a query or fragment, got ${quote(raw)}`);
  }
  return { kind: 'arweave', baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

function quote(raw: string): string {
  return JSON.stringify(raw.length > 100 ? `${raw.slice(0, 100)}…` : raw);
}

/** The published root to check: its tree, its size and the root_hash the audit service gave. */
export interface WitnessRoot {
  tree_name: string;
  size: number;
  root_hash: string;
}

export type WitnessOutcome =
  | { status: 'PASS' }
  | { status: 'FAIL'; reason: string }
  | { status: 'PENDING'; reason: string }
  | { status: 'NONE'; reason: string };

export interface RootWitness {
  /** False for `none`: every check answers NONE without any request. */
  readonly enabled: boolean;
  /**
   * The witness's verdict on one published root. Never rejects for witness trouble (that is a
   * PENDING with a reason); rejects only with `signal.reason` when the caller's signal aborts,
   * which stops this caller's wait but not a lookup other callers share.
   */
  check(root: WitnessRoot, signal?: AbortSignal): Promise<WitnessOutcome>;
  /**
   * Verdicts for several roots, in input order. Sizes of one tree that are not cached are asked
   * in one GraphQL query (in chunks of `maxSizesPerQuery`); the same happens to separate `check`
   * calls made in the same event-loop turn.
   */
  checkMany(roots: readonly WitnessRoot[], signal?: AbortSignal): Promise<WitnessOutcome[]>;
  /** Aborts lookups in flight (their checks answer PENDING) and closes the witness's connections. */
  close(): Promise<void>;
}

export interface RootWitnessOptions {
  /** Longest time one HTTP exchange with the witness may take, body included. Default 5 000. */
  timeoutMs?: number;
  /** How long an unsettled answer (PENDING: no copy yet, or not every copy read) is reused. Default 30 000. */
  pendingRetryMs?: number;
  /** Requests to the witness in flight at once. Default 4. */
  maxInFlight?: number;
  /** Settled verdicts kept (and, separately, unsettled answers). Default 100 000. */
  maxCacheEntries?: number;
  /** Sizes asked in one GraphQL query. Default 50. */
  maxSizesPerQuery?: number;
  /** Pages of 100 transactions read for one query; a longer listing leaves its sizes PENDING. Default 10. */
  maxPages?: number;
  /** Largest answer accepted from the witness. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Dispatch through this undici Dispatcher (not closed by close()) instead of the witness's own Agent. */
  dispatcher?: Dispatcher;
}

const DEFAULT_WITNESS_OPTIONS = {
  timeoutMs: 5_000,
  pendingRetryMs: 30_000,
  maxInFlight: 4,
  maxCacheEntries: 100_000,
  maxSizesPerQuery: 50,
  maxPages: 10,
  maxResponseBytes: 1024 * 1024,
} as const satisfies Required<Omit<RootWitnessOptions, 'dispatcher'>>;

export function createRootWitness(config: WitnessConfig, options: RootWitnessOptions = {}): RootWitness {
  return config.kind === 'none' ? new NoWitness() : new ArweaveWitness(config.baseUrl, options);
}

// ---------------------------------------------------------------------------------------------

const NO_WITNESS: WitnessOutcome = { status: 'NONE', reason: 'no witness configured' };

class NoWitness implements RootWitness {
  readonly enabled = false;
  async check(_root: WitnessRoot, signal?: AbortSignal): Promise<WitnessOutcome> {
    signal?.throwIfAborted();
    return NO_WITNESS;
  }
  async checkMany(roots: readonly WitnessRoot[], signal?: AbortSignal): Promise<WitnessOutcome[]> {
    signal?.throwIfAborted();
    return roots.map(() => NO_WITNESS);
  }
  async close(): Promise<void> {}
}

/** What the witness holds for one tree_name + size. */
interface Holding {
  /** Distinct root_hash values (lowercase) of the mined, well-formed copies. */
  hashes: string[];
  /** How many mined, well-formed copies were read. */
  copies: number;
  /** Why each mined copy that is not a root record for this size was rejected. */
  malformed: string[];
  /** Why copies could not be read, or why there is none yet. */
  unresolved: string[];
}

/**
 * Nothing can change a verdict any more: a bad copy is mined, its copies disagree, or every copy
 * has been read (and they hold one root_hash). A holding with anything unresolved is never final
 * unless a mined copy already decides it.
 */
function settled(h: Holding): boolean {
  return h.malformed.length > 0 || h.hashes.length > 1 || (h.hashes.length === 1 && h.unresolved.length === 0);
}

/**
 * FAIL as soon as one mined copy is bad or disagrees (more copies cannot undo that); PASS only when
 * nothing is unresolved, i.e. every copy was read and agrees; PENDING otherwise, with the reasons.
 */
function verdict(h: Holding, root: WitnessRoot, claimed: string): WitnessOutcome {
  if (h.malformed.length > 0) return { status: 'FAIL', reason: h.malformed[0]! };
  const other = h.hashes.find((hash) => hash !== claimed);
  if (other !== undefined) {
    const conflict = h.hashes.length > 1 ? ` (its ${h.hashes.length} mined copies of that size disagree)` : '';
    return { status: 'FAIL', reason: `the witness holds root_hash ${other} for size ${root.size}${conflict}` };
  }
  const reasons = [...new Set(h.unresolved)];
  if (reasons.length === 0) {
    return h.hashes.length > 0 ? { status: 'PASS' } : { status: 'PENDING', reason: `the witness has no copy of size ${root.size} yet` };
  }
  const shown = reasons.length > 3 ? `${reasons.slice(0, 3).join('; ')}; and ${reasons.length - 3} more` : reasons.join('; ');
  if (h.hashes.length === 0) return { status: 'PENDING', reason: shown };
  const agree = h.copies === 1 ? 'one copy' : `${h.copies} copies`;
  return { status: 'PENDING', reason: `the witness's ${agree} of size ${root.size} read so far ${h.copies === 1 ? 'agrees' : 'agree'}, but not every copy could be read: ${shown}` };
}

/** A claim the witness need not be asked about: the verdict follows from the claim alone. */
function invalidClaim(root: WitnessRoot): string | undefined {
  if (typeof root.tree_name !== 'string' || root.tree_name === '') return 'the root has no tree_name';
  if (!Number.isSafeInteger(root.size) || root.size < 1) return `the root's size ${String(root.size)} is not a positive integer`;
  if (typeof root.root_hash !== 'string' || !HASH.test(root.root_hash)) return "the root's root_hash is not 64 hex characters";
  return undefined;
}

const HASH = /^[0-9a-fA-F]{64}$/;
// Arweave transaction ids are 43 base64url characters; anything else must not reach a URL path.
const TX_ID = /^[A-Za-z0-9_-]{16,128}$/;
const CANONICAL_SIZE = /^[1-9][0-9]{0,15}$/;

interface Deferred {
  promise: Promise<Holding>;
  resolve(h: Holding): void;
}

function deferred(): Deferred {
  let resolve!: (h: Holding) => void;
  const promise = new Promise<Holding>((r) => (resolve = r));
  return { promise, resolve };
}

type Exchange =
  | { ok: true; status: number; statusText: string; body: string }
  | { ok: false; reason: string; tooLarge?: boolean };

class ArweaveWitness implements RootWitness {
  readonly enabled = true;
  private readonly opts: Required<Omit<RootWitnessOptions, 'dispatcher'>>;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  /** Settled holdings, least recently used first. */
  private readonly settledCache = new Map<string, Holding>();
  /** Unsettled holdings and until when (performance.now()) they may be reused. */
  private readonly pendingCache = new Map<string, { holding: Holding; until: number }>();
  private readonly inFlight = new Map<string, Promise<Holding>>();
  /** Sizes waiting for this turn's GraphQL query, per tree_name. */
  private queued = new Map<string, Map<number, Deferred>>();
  private flushScheduled = false;
  private readonly slots: Array<() => void> = [];
  private active = 0;
  private readonly closing = new AbortController();

  constructor(
    private readonly baseUrl: string,
    options: RootWitnessOptions,
  ) {
    this.opts = { ...DEFAULT_WITNESS_OPTIONS, ...definedOnly(options) };
    for (const [name, min] of [['timeoutMs', 1], ['pendingRetryMs', 0], ['maxInFlight', 1], ['maxCacheEntries', 1], ['maxSizesPerQuery', 1], ['maxPages', 1], ['maxResponseBytes', 1]] as const) {
      const v = this.opts[name];
      if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`root witness option ${name} must be an integer >= ${min}, got ${String(v)}`);
    }
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ connect: { timeout: this.opts.timeoutMs }, connections: this.opts.maxInFlight });
  }

  check(root: WitnessRoot, signal?: AbortSignal): Promise<WitnessOutcome> {
    return this.checkMany([root], signal).then((outcomes) => outcomes[0]!);
  }

  async checkMany(roots: readonly WitnessRoot[], signal?: AbortSignal): Promise<WitnessOutcome[]> {
    signal?.throwIfAborted();
    const work = Promise.all(
      roots.map(async (root): Promise<WitnessOutcome> => {
        const invalid = invalidClaim(root);
        if (invalid !== undefined) return { status: 'FAIL', reason: invalid };
        const holding = await this.holding(root.tree_name, root.size);
        return verdict(holding, root, root.root_hash.toLowerCase());
      }),
    );
    if (!signal) return work;
    return new Promise<WitnessOutcome[]>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new Error('the root witness was closed'));
    // Lookups waiting for a slot would otherwise wait for ever.
    for (const wake of this.slots.splice(0)) wake();
    this.settledCache.clear();
    this.pendingCache.clear();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  // -------------------------------------------------------------------------------------------
  // Caches and sharing

  private holding(tree: string, size: number): Promise<Holding> {
    const key = `${tree}\n${size}`;
    const done = this.settledCache.get(key);
    if (done) {
      this.settledCache.delete(key);
      this.settledCache.set(key, done);
      return Promise.resolve(done);
    }
    const recent = this.pendingCache.get(key);
    if (recent && recent.until > performance.now()) return Promise.resolve(recent.holding);
    const shared = this.inFlight.get(key);
    if (shared) return shared;
    if (this.closing.signal.aborted) return Promise.resolve(unresolved('the root witness is closed'));

    const d = deferred();
    const promise = d.promise.then((h) => {
      this.inFlight.delete(key);
      this.remember(key, h);
      return h;
    });
    this.inFlight.set(key, promise);
    let sizes = this.queued.get(tree);
    if (!sizes) this.queued.set(tree, (sizes = new Map<number, Deferred>()));
    sizes.set(size, d);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate rather than a microtask: checks started from different promise callbacks
      // of the same turn (GraphQL resolvers, say) still land in one query.
      setImmediate(() => this.flush());
    }
    return promise;
  }

  private remember(key: string, h: Holding): void {
    if (this.closing.signal.aborted) return;
    if (settled(h)) {
      this.pendingCache.delete(key);
      this.settledCache.set(key, h);
      evictOldest(this.settledCache, this.opts.maxCacheEntries);
    } else if (this.opts.pendingRetryMs > 0) {
      this.pendingCache.delete(key);
      this.pendingCache.set(key, { holding: h, until: performance.now() + this.opts.pendingRetryMs });
      evictOldest(this.pendingCache, this.opts.maxCacheEntries);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const queued = this.queued;
    this.queued = new Map();
    for (const [tree, bySize] of queued) {
      const sizes = [...bySize.keys()].sort((a, b) => a - b);
      for (let i = 0; i < sizes.length; i += this.opts.maxSizesPerQuery) {
        const chunk = sizes.slice(i, i + this.opts.maxSizesPerQuery);
        void this.lookup(tree, chunk).then(
          (found) => chunk.forEach((size) => bySize.get(size)!.resolve(found.get(size)!)),
          // lookup reports every failure as a reason; this only guards against a bug there.
          (err: unknown) => chunk.forEach((size) => bySize.get(size)!.resolve(unresolved(`witness lookup failed: ${describe(err)}`))),
        );
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // The protocol

  /** What the witness holds for each of `sizes` of `tree`. */
  private async lookup(tree: string, sizes: number[]): Promise<Map<number, Holding>> {
    const wanted = new Set(sizes);
    const found = new Map<number, Holding>(sizes.map((s) => [s, { hashes: [], copies: 0, malformed: [], unresolved: [] }]));
    const everySize = (reason: string): void => found.forEach((h) => h.unresolved.push(reason));
    const listed = await this.listTransactions(tree, sizes);
    if (!listed.ok) {
      everySize(listed.reason);
      return found;
    }
    // First, so that it is the reason shown: copies past the last page may be of any size asked.
    if (listed.incomplete) everySize(`the witness lists more than ${this.opts.maxPages * PAGE_SIZE} transactions for these sizes; not all were read`);
    const seen = new Set<string>();
    const reads: Array<Promise<void>> = [];
    for (const edge of listed.edges) {
      const tx = edgeTransaction(edge, tree);
      // Every edge answers our tag filter, so one we cannot read could be a copy of any size asked.
      if (tx === 'undescribed') {
        everySize('the witness listed a transaction without its id and tags');
        continue;
      }
      if (!tx || !wanted.has(tx.size) || seen.has(tx.id)) continue;
      seen.add(tx.id);
      const h = found.get(tx.size)!;
      if (!TX_ID.test(tx.id)) {
        h.unresolved.push(`the witness listed a transaction with an unusable id for size ${tx.size}`);
        continue;
      }
      reads.push(this.readCopy(tree, tx.size, tx.id, h));
    }
    await Promise.all(reads);
    for (const [size, h] of found) {
      if (h.hashes.length === 0 && h.malformed.length === 0 && h.unresolved.length === 0) {
        h.unresolved.push(`the witness has no copy of size ${size} yet`);
      }
    }
    return found;
  }

  private async listTransactions(tree: string, sizes: number[]): Promise<{ ok: true; edges: unknown[]; incomplete: boolean } | { ok: false; reason: string }> {
    const edges: unknown[] = [];
    let after: string | undefined;
    for (let page = 0; page < this.opts.maxPages; page++) {
      const answer = await this.exchange(`${this.baseUrl}/graphql`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ query: transactionsQuery(tree, sizes, after) }),
      });
      if (!answer.ok) return answer;
      if (answer.status !== 200) return { ok: false, reason: `the witness at ${this.baseUrl} answered the transactions query with HTTP ${httpStatus(answer)}` };
      const connection = parseConnection(answer.body);
      if (typeof connection === 'string') return { ok: false, reason: `the witness at ${this.baseUrl} gave an unusable answer to the transactions query: ${connection}` };
      edges.push(...connection.edges);
      if (!connection.hasNextPage) return { ok: true, edges, incomplete: false };
      if (connection.endCursor === undefined) return { ok: false, reason: `the witness at ${this.baseUrl} has more transactions but gave no cursor to page on` };
      after = connection.endCursor;
    }
    return { ok: true, edges, incomplete: true };
  }

  /** Reads one transaction's data into `h`. */
  private async readCopy(tree: string, size: number, id: string, h: Holding): Promise<void> {
    const answer = await this.exchange(`${this.baseUrl}/${id}/`, { method: 'GET', headers: { accept: 'application/json' } });
    const copy = `the witness's copy of size ${size} (transaction ${id})`;
    if (!answer.ok) {
      if (answer.tooLarge) h.malformed.push(`${copy} is not a root record: ${answer.reason}`);
      else h.unresolved.push(answer.reason);
      return;
    }
    // Arweave gateways say "Pending" in the status text (202) or as the whole body.
    if (answer.statusText === 'Pending' || answer.body.trim() === 'Pending') {
      h.unresolved.push(`${copy} is not mined yet (Pending)`);
      return;
    }
    if (answer.status === 404) {
      h.unresolved.push(`${copy} has no data yet (HTTP 404)`);
      return;
    }
    if (answer.status < 200 || answer.status > 299) {
      h.unresolved.push(`the witness at ${this.baseUrl} answered HTTP ${httpStatus(answer)} for ${copy}`);
      return;
    }
    const parsed = parseRootRecord(answer.body, tree, size);
    if (typeof parsed === 'string') h.malformed.push(`${copy} is malformed: ${parsed}`);
    else {
      h.copies++;
      if (!h.hashes.includes(parsed.rootHash)) h.hashes.push(parsed.rootHash);
    }
  }

  /** One HTTP exchange under the in-flight limit and the timeout; failures become reasons. */
  private async exchange(url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }): Promise<Exchange> {
    await this.acquire();
    const closed = this.closing.signal;
    if (closed.aborted) {
      this.release();
      return { ok: false, reason: 'the root witness is closed' };
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timeout'));
    }, this.opts.timeoutMs);
    const onClose = (): void => controller.abort(closed.reason);
    closed.addEventListener('abort', onClose, { once: true });
    try {
      // Redirects are followed, as the SDKs' fetch does: a gateway may serve data from another host.
      const res = await fetch(url, { ...init, dispatcher: this.dispatcher, signal: controller.signal });
      const body = await readLimited(res, this.opts.maxResponseBytes);
      if (body === undefined) return { ok: false, tooLarge: true, reason: `answer larger than ${this.opts.maxResponseBytes} bytes` };
      return { ok: true, status: res.status, statusText: res.statusText, body };
    } catch (err) {
      if (timedOut) return { ok: false, reason: `the witness at ${this.baseUrl} did not answer within ${this.opts.timeoutMs} ms` };
      if (closed.aborted) return { ok: false, reason: 'the root witness was closed before the witness answered' };
      return { ok: false, reason: `the witness at ${this.baseUrl} could not be reached: ${describe(err)}` };
    } finally {
      clearTimeout(timer);
      closed.removeEventListener('abort', onClose);
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.opts.maxInFlight || this.closing.signal.aborted) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.slots.push(() => {
        this.active++;
        resolve();
      }),
    );
  }

  private release(): void {
    this.active--;
    this.slots.shift()?.();
  }
}

const PAGE_SIZE = 100;

/**
 * The SDKs' transactions query (tree_size values first, then tree_name), plus a page size and
 * cursor so that no copy goes unseen. Values are GraphQL string literals: JSON string escapes are
 * a subset of GraphQL's.
 */
function transactionsQuery(tree: string, sizes: number[], after: string | undefined): string {
  const values = sizes.map((s) => JSON.stringify(String(s))).join(', ');
  const paging = `first: ${PAGE_SIZE}${after !== undefined ? `, after: ${JSON.stringify(after)}` : ''}`;
  return (
    `{ transactions(${paging}, tags: [{name: "tree_size", values: [${values}]}, {name: "tree_name", values: [${JSON.stringify(tree)}]}]) ` +
    '{ pageInfo { hasNextPage } edges { cursor node { id tags { name value } } } } }'
  );
}

function parseConnection(body: string): { edges: unknown[]; hasNextPage: boolean; endCursor: string | undefined } | string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'not JSON';
  }
  const connection = field(field(json, 'data'), 'transactions');
  const edges = field(connection, 'edges');
  // GraphQL errors next to data mean a partial answer (a node or a page may be missing from it):
  // taking it as the whole listing could leave a copy unread.
  const errors = field(json, 'errors');
  if (!Array.isArray(edges) || (Array.isArray(errors) && errors.length > 0)) {
    const message = Array.isArray(errors) ? field(errors[0], 'message') : undefined;
    return typeof message === 'string' ? `error "${message.slice(0, 200)}"` : Array.isArray(errors) && errors.length > 0 ? 'errors without a message' : 'no list at data.transactions.edges';
  }
  // A server that does not page (no pageInfo) has given everything it has.
  const hasNextPage = field(field(connection, 'pageInfo'), 'hasNextPage') === true;
  const cursor = field(edges[edges.length - 1], 'cursor');
  return { edges, hasNextPage, endCursor: typeof cursor === 'string' ? cursor : undefined };
}

/**
 * The id and size of an edge that belongs to `tree`, undefined for one that does not (the SDKs use
 * the first tree_size tag), or 'undescribed' when the edge lacks its transaction's id or tags.
 */
function edgeTransaction(edge: unknown, tree: string): { id: string; size: number } | 'undescribed' | undefined {
  const node = field(edge, 'node');
  const id = field(node, 'id');
  const tags = field(node, 'tags');
  if (typeof id !== 'string' || !Array.isArray(tags)) return 'undescribed';
  const sizeTag: unknown = tags.find((t) => field(t, 'name') === 'tree_size');
  const value = field(sizeTag, 'value');
  if (typeof value !== 'string' || !CANONICAL_SIZE.test(value)) return undefined;
  if (!tags.some((t) => field(t, 'name') === 'tree_name' && field(t, 'value') === tree)) return undefined;
  return { id, size: Number(value) };
}

/** The lowercase root_hash of a root record for `tree` at `size`, or why it is not one. */
function parseRootRecord(body: string, tree: string, size: number): { rootHash: string } | string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'not JSON';
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'not a JSON object';
  const rootHash = field(json, 'root_hash');
  if (typeof rootHash !== 'string' || !HASH.test(rootHash)) return 'root_hash is missing or not 64 hex characters';
  const recordSize = field(json, 'size');
  if (recordSize !== undefined && Number(recordSize) !== size) return `it says size ${JSON.stringify(recordSize)}`;
  const recordTree = field(json, 'tree_name');
  if (recordTree !== undefined && recordTree !== tree) return `it names tree ${JSON.stringify(recordTree)}`;
  return { rootHash: rootHash.toLowerCase() };
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[name] : undefined;
}

function unresolved(reason: string): Holding {
  return { hashes: [], copies: 0, malformed: [], unresolved: [reason] };
}

function httpStatus(answer: { status: number; statusText: string }): string {
  return answer.statusText ? `${answer.status} ${answer.statusText}` : String(answer.status);
}

/** The body as text, or undefined when it is larger than `max` bytes. */
async function readLimited(res: Awaited<ReturnType<typeof fetch>>, max: number): Promise<string | undefined> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** The most specific message of an error and its causes (undici's fetch says only "fetch failed"). */
function describe(err: unknown): string {
  // Duck-typed rather than instanceof: errors may come from another realm (e.g. a test VM).
  const isError = (e: unknown): e is { message: string; code?: unknown; cause?: unknown } => typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string';
  let deepest: unknown = err;
  for (let e: unknown = err, depth = 0; isError(e) && depth < 5; e = e.cause, depth++) deepest = e;
  if (!isError(deepest)) return String(deepest);
  const code = typeof deepest.code === 'string' && !deepest.message.includes(deepest.code) ? `${deepest.code} ` : '';
  return `${code}${deepest.message}` || 'unknown error';
}

function evictOldest<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}

function definedOnly(options: RootWitnessOptions): Partial<Required<Omit<RootWitnessOptions, 'dispatcher'>>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (v !== undefined && k !== 'dispatcher') out[k] = v;
  return out;
}
