// The integrity monitor: the gateway's own watch over the upstream's log as a whole, independent of
// any search. Every interval it asks for the latest published root and proves that the log only
// grew since the last root it verified:
//
// 1. root(m) for the last verified size m must still be the root hash it verified (a different
//    answer means history was rewritten: an event changed, vanished or was inserted before m);
// 2. the latest published size n must not be smaller than m (a rolled back or wiped log);
// 3. from m to n, each published root(k) carries a consistency proof from root(k-1) only (that is
//    all v1/root offers; v1/log's prev_root would write events just to check), so the monitor
//    chains them: root(m) → root(m+1) → … → root(n), every step checked with src/merkle.
//    A check walks at most `maxStepsPerCheck` steps (default 5000) and continues from there on the
//    next one, so a fast-growing log is verified with a lag that `latestPublishedSize` shows,
//    never with an unbounded burst of requests. While a check ends behind the latest root, the
//    next one starts after `catchUpDelayMs` (default 1 s) rather than the full interval, so the
//    monitor keeps up with a log that grows faster than maxStepsPerCheck per interval.
//
// The first check with no saved state trusts the latest root it sees (checking only its proof from
// size-1): trust on first use. The last verified {size, root_hash} is saved atomically to a small
// JSON file (in the data dir for the embedded service) so a restart continues the chain instead
// of trusting again. A failure is sticky for the life of the process: it is logged loudly on
// every interval, reported by /ready (503) and by Query.integrity; after a restart the persisted
// root is checked again and the failure comes back unless the upstream serves the old root again.
// An upstream that cannot be reached is not an integrity failure: the state stays, `checkError`
// says why the last check could not finish.
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditClient } from '../audit-client/index.js';
import { AuditApiError, AuditAbortError, TreeNotFoundError, ValidationError } from '../audit-client/errors.js';
import type { PublishedRoot } from '../audit-client/wire.js';
import { verifyConsistency } from '../merkle/index.js';

export type IntegrityState = 'OK' | 'FAILED' | 'UNKNOWN';

export interface IntegrityStatus {
  state: IntegrityState;
  /** Size of the last root proven to extend the chain (null before the first one). */
  lastVerifiedSize: number | null;
  lastVerifiedRootHash: string | null;
  /** When the last check ended (RFC 3339), whatever its outcome. */
  lastCheckedAt: string | null;
  /** The latest published size the last check saw; above lastVerifiedSize while catching up. */
  latestPublishedSize: number | null;
  /** Why the state is FAILED. */
  failure: string | null;
  /** Why the last check could not finish (upstream unreachable…): not an integrity failure. */
  checkError: string | null;
}

export interface IntegrityMonitorOptions {
  /** The gateway's own client (it needs a token of its own: not available in pass-through mode). */
  client: Pick<AuditClient, 'root'>;
  /** Milliseconds between checks (> 0). */
  intervalMs: number;
  /** Where the last verified root is kept across restarts; undefined keeps it in memory only. */
  stateFile?: string | undefined;
  /** Names the upstream in the state file; a file saved for another upstream is not used. */
  upstreamId: string;
  /** Most consistency steps one check walks (default 5000). */
  maxStepsPerCheck?: number;
  /** Pause before the next check while the last one ended behind the latest root (default 1000). */
  catchUpDelayMs?: number;
  /** Roots fetched at once while chaining (default 4). */
  concurrency?: number;
  /** Deadline for one root request (default 10 s). */
  requestTimeoutMs?: number;
  log?: (line: string) => void;
  error?: (line: string) => void;
}

interface SavedState {
  version: 1;
  upstream: string;
  treeName: string;
  size: number;
  rootHash: string;
  verifiedAt: string;
}

interface Verified {
  treeName: string;
  size: number;
  rootHash: string;
}

/** Thrown inside a check: the upstream's answers prove the log is not append-only. */
class IntegrityViolation extends Error {}

const DEFAULT_MAX_STEPS = 5000;

export class IntegrityMonitor {
  private verified: Verified | undefined;
  private state: IntegrityState = 'UNKNOWN';
  private failure: string | null = null;
  private failedAt: string | null = null;
  private checkError: string | null = null;
  private lastCheckedAt: string | null = null;
  private latestPublishedSize: number | null = null;
  private running: Promise<IntegrityStatus> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly maxSteps: number;
  private readonly concurrency: number;
  private readonly log: (line: string) => void;
  private readonly error: (line: string) => void;

  constructor(private readonly options: IntegrityMonitorOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError('intervalMs must be positive');
    this.maxSteps = Math.max(1, options.maxStepsPerCheck ?? DEFAULT_MAX_STEPS);
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.log = options.log ?? ((line) => console.log(line));
    this.error = options.error ?? ((line) => console.error(line));
    this.loadState();
  }

  /** Runs a check now and then one every interval (checks never overlap). */
  start(): void {
    if (this.stopped || this.started) return;
    this.started = true;
    void this.checkNow();
  }

  /** After every check (timed or asked for): the next timed one, sooner while catching up. */
  private scheduleNext(status: IntegrityStatus): void {
    if (!this.started || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const delayMs = this.behind(status) ? Math.min(this.options.intervalMs, this.options.catchUpDelayMs ?? 1000) : this.options.intervalMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) void this.checkNow();
    }, delayMs);
    this.timer.unref();
  }

  /** The check finished cleanly but short of the latest published root (the step cap). */
  private behind(status: IntegrityStatus): boolean {
    return status.state === 'OK' && status.checkError === null && (status.latestPublishedSize ?? 0) > (status.lastVerifiedSize ?? 0);
  }

  /** Stops the timer and abandons a running check (its partial progress is still saved). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  status(): IntegrityStatus {
    return {
      state: this.state,
      lastVerifiedSize: this.verified?.size ?? null,
      lastVerifiedRootHash: this.verified?.rootHash ?? null,
      lastCheckedAt: this.lastCheckedAt,
      latestPublishedSize: this.latestPublishedSize,
      failure: this.failure,
      checkError: this.checkError,
    };
  }

  /** Runs one check (or joins the one running) and returns the status after it. */
  checkNow(): Promise<IntegrityStatus> {
    this.running ??= this.runCheck()
      .finally(() => {
        this.running = undefined;
      })
      .then(
        (status) => {
          this.scheduleNext(status);
          return status;
        },
        (err: unknown) => {
          // Not expected (runCheck records its errors), but the timer must not die with it.
          this.scheduleNext(this.status());
          throw err;
        },
      );
    return this.running;
  }

  private async runCheck(): Promise<IntegrityStatus> {
    if (this.state === 'FAILED') {
      // Sticky: repeat the alarm instead of checking again from a root the upstream disowned.
      this.error(`audit-gateway: INTEGRITY FAILURE (since ${this.failedAt}): ${this.failure}`);
      return this.status();
    }
    const before = this.verified;
    try {
      await this.walk();
      this.checkError = null;
      if (this.verified) this.state = 'OK';
    } catch (err) {
      if (err instanceof IntegrityViolation) this.fail(err.message);
      else if (!(err instanceof AuditAbortError && this.stopped)) {
        this.checkError = `the integrity check could not finish: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
        this.error(`audit-gateway: ${this.checkError}`);
      }
    } finally {
      this.lastCheckedAt = new Date().toISOString();
    }
    if (this.verified && this.verified !== before) await this.saveState();
    const lag = (this.latestPublishedSize ?? 0) - (this.verified?.size ?? 0);
    if (this.state === 'OK' && lag > 0) {
      this.log(`audit-gateway: integrity verified up to size ${this.verified!.size} of ${this.latestPublishedSize} (at most ${this.maxSteps} steps per check); continuing next check`);
    }
    return this.status();
  }

  private fail(reason: string): void {
    this.state = 'FAILED';
    this.failure = reason;
    this.failedAt = new Date().toISOString();
    this.error(`audit-gateway: INTEGRITY FAILURE: ${reason}`);
  }

  private async root(size?: number): Promise<PublishedRoot> {
    // One deadline per request, and the monitor's stop() aborts it too; both let go afterwards.
    const controller = new AbortController();
    const onStop = (): void => controller.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    const deadline = setTimeout(() => controller.abort(new Error('root request deadline')), this.options.requestTimeoutMs ?? 10_000);
    let root: PublishedRoot | undefined;
    try {
      const response = await this.options.client.root(size === undefined ? {} : { tree_size: size }, { signal: controller.signal });
      root = response.result.data;
    } finally {
      clearTimeout(deadline);
      this.abort.signal.removeEventListener('abort', onStop);
    }
    if (!root || typeof root.root_hash !== 'string' || !Number.isSafeInteger(root.size)) {
      throw new Error(`v1/root${size === undefined ? '' : ` for size ${size}`} answered without a root`);
    }
    if (size !== undefined && root.size !== size) throw new Error(`asked for root(${size}), the audit service answered root(${root.size})`);
    return root;
  }

  /** root(size) that the upstream must be able to give (size ≤ the latest published). */
  private async requiredRoot(size: number, latest: number): Promise<PublishedRoot> {
    try {
      return await this.root(size);
    } catch (err) {
      if (err instanceof TreeNotFoundError || err instanceof ValidationError) {
        throw new IntegrityViolation(`the audit service refuses root(${size}) although it published size ${latest}: ${(err as AuditApiError).summary}`);
      }
      throw err;
    }
  }

  private async walk(): Promise<void> {
    const known = this.verified;
    let latest: PublishedRoot;
    try {
      latest = await this.root();
    } catch (err) {
      if (err instanceof TreeNotFoundError) {
        this.latestPublishedSize = 0;
        if (known) throw new IntegrityViolation(`the audit service says nothing is published, but root(${known.size}) ${known.rootHash} was verified before: the log was wiped`);
        return; // nothing published yet: UNKNOWN, nothing to verify
      }
      throw err;
    }
    this.latestPublishedSize = latest.size;
    if (!known) {
      // Trust on first use: the latest root, with its proof from size-1.
      if (latest.size > 1) {
        const previous = await this.requiredRoot(latest.size - 1, latest.size);
        this.step(previous, latest);
      }
      this.verified = { treeName: latest.tree_name, size: latest.size, rootHash: latest.root_hash };
      this.log(`audit-gateway: integrity monitor starts from published root ${latest.size} ${latest.root_hash} (trust on first use)`);
      return;
    }
    if (latest.tree_name !== known.treeName) {
      throw new IntegrityViolation(`the tree is now "${latest.tree_name}", but root(${known.size}) was verified in tree "${known.treeName}": the log was replaced`);
    }
    if (latest.size < known.size) {
      throw new IntegrityViolation(`the latest published size is ${latest.size}, smaller than the verified size ${known.size}: the log was rolled back`);
    }
    // History rewrite: the upstream must still give the same root for the verified size.
    const old = latest.size === known.size ? latest : await this.requiredRoot(known.size, latest.size);
    if (old.root_hash !== known.rootHash || old.tree_name !== known.treeName) {
      throw new IntegrityViolation(
        `root(${known.size}) is now ${old.root_hash}, but ${known.rootHash} was verified before: the history up to size ${known.size} was rewritten`,
      );
    }
    // Chain root(m) → … → root(target), fetching a few roots at a time, checking in order.
    const target = Math.min(latest.size, known.size + this.maxSteps);
    let previous = old;
    for (let next = known.size + 1; next <= target; ) {
      const sizes: number[] = [];
      for (; next <= target && sizes.length < this.concurrency; next++) sizes.push(next);
      const roots = await Promise.all(sizes.map((s) => (s === latest.size ? latest : this.requiredRoot(s, latest.size))));
      for (const root of roots) {
        this.step(previous, root);
        previous = root;
        this.verified = { treeName: root.tree_name, size: root.size, rootHash: root.root_hash };
      }
    }
  }

  /** One link of the chain: `root` carries the proof that `previous` (its size-1) is its prefix. */
  private step(previous: PublishedRoot, root: PublishedRoot): void {
    if (root.tree_name !== previous.tree_name) {
      throw new IntegrityViolation(`root(${root.size}) is in tree "${root.tree_name}", root(${previous.size}) in "${previous.tree_name}"`);
    }
    const result = verifyConsistency({
      oldRootHash: previous.root_hash,
      newRootHash: root.root_hash,
      proof: root.consistency_proof,
      sizes: { oldSize: previous.size, newSize: root.size },
    });
    if (result.status !== 'PASS') {
      throw new IntegrityViolation(`root(${previous.size}) ${previous.root_hash} → root(${root.size}) ${root.root_hash}: consistency proof does not hold: ${result.reason ?? 'no proof'}`);
    }
  }

  private loadState(): void {
    const file = this.options.stateFile;
    if (!file) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.fail(`the integrity state file ${file} cannot be read (${(err as Error).message}); fix or remove it to trust the upstream again`);
      return;
    }
    let saved: Partial<SavedState>;
    try {
      saved = JSON.parse(text) as Partial<SavedState>;
    } catch {
      this.fail(`the integrity state file ${file} is not valid JSON; remove it to trust the upstream again`);
      return;
    }
    if (
      saved === null ||
      typeof saved !== 'object' ||
      saved.version !== 1 ||
      typeof saved.upstream !== 'string' ||
      typeof saved.treeName !== 'string' ||
      !Number.isSafeInteger(saved.size) ||
      (saved.size as number) < 1 ||
      typeof saved.rootHash !== 'string' ||
      !/^[0-9a-f]{64}$/.test(saved.rootHash)
    ) {
      this.fail(`the integrity state file ${file} is malformed; remove it to trust the upstream again`);
      return;
    }
    if (saved.upstream !== this.options.upstreamId) {
      this.log(`audit-gateway: integrity state in ${file} is for upstream ${saved.upstream}, not ${this.options.upstreamId}: starting a new chain`);
      return;
    }
    this.verified = { treeName: saved.treeName, size: saved.size as number, rootHash: saved.rootHash };
  }

  /** Write to a temporary file, flush it, rename over the old one: never a half-written state. */
  private async saveState(): Promise<void> {
    const file = this.options.stateFile;
    const verified = this.verified;
    if (!file || !verified) return;
    const saved: SavedState = { version: 1, upstream: this.options.upstreamId, ...verified, verifiedAt: new Date().toISOString() };
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(file), { recursive: true });
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(JSON.stringify(saved, null, 2) + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      this.error(`audit-gateway: cannot save the integrity state to ${file}: ${(err as Error).message}`);
    }
  }
}
