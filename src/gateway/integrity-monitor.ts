// The integrity monitor: the gateway's own watch over the upstream's log as a whole, independent of
// any search. It keeps the gateway's verified history (src/trust/verified-history.ts) growing and
// persisted, and raises the alarm when the upstream contradicts it. Every interval it asks for the
// latest published root n and, with m the newest verified root:
//
// 1. root(m) must still be the root hash verified (else history was rewritten before m);
// 2. n must not be smaller than m (a rolled back or wiped log), nor of another tree;
// 3. root n must extend root m. Against the local service (one event per leaf, in arrival order)
//    membership paths prove it in a few requests per step of up to PATH_HOP sizes
//    (src/trust/root-prover.ts), so the monitor keeps up with any write rate. Against the cloud it
//    chains the one-step proofs v1/root offers, at most `maxStepsPerCheck` per check; while a check
//    ends behind, the next comes after `catchUpDelayMs` rather than the full interval.
//
// The history needs an anchor. A signed state file (src/trust/state-file.ts) carries it across
// restarts. Without one, an empty log anchors it (everything later was logged while the gateway
// watched); over a non-empty log the state is UNANCHORED until a full audit passes or the operator
// allows trust on first use. A contradiction (from the monitor or from any request's proof) is
// sticky: logged loudly on every check, /ready 503, Query.integrity FAILED, and persisted. So is an
// answer that is a lie on its face: v1/root answering Success without a root, or with a root of
// another size than the tree_size asked for. An upstream that cannot be reached is not an integrity
// failure: `checkError` says why. But it must not freeze the verified history unnoticed either:
// check errors that persist (PERSISTENT_CHECK_ERROR_INTERVALS) make /ready 503.
import type { AuditClient } from '../audit-client/index.js';
import { AuditAbortError, TreeNotFoundError, ValidationError } from '../audit-client/errors.js';
import type { PublishedRoot, RootResult } from '../wire/index.js';
import { verifyConsistency } from '../merkle/index.js';
import type { FullAuditReport } from '../full-audit/index.js';
import { MAX_PATH_HOPS, PATH_HOP, RootProver } from '../trust/root-prover.js';
import { addTamperingMark, readStateFile, readTamperingMark, writeContradictionMark, writeStateFile } from '../trust/state-file.js';
import { PERSISTENT_CHECK_ERROR_INTERVALS, type FullAuditStatus, type IntegrityState, type IntegrityStatus, type IntegrityWatch } from '../trust/integrity-status.js';
import { VerifiedHistory } from '../trust/verified-history.js';

// The status types live with the interface requests use (src/trust/integrity-status.ts); they are
// re-exported because they are this monitor's API too.
export type { FullAuditStatus, IntegrityState, IntegrityStatus } from '../trust/integrity-status.js';

interface FullAuditSchedule {
  /** Milliseconds between audits (> 0). */
  intervalMs: number;
  /** Runs one audit (in a child process: it is CPU-bound for seconds on a large log). */
  run: (signal: AbortSignal) => Promise<FullAuditReport>;
}

interface IntegrityMonitorOptions {
  /** The gateway's own client (it needs a token of its own: not available in pass-through mode). */
  client: Pick<AuditClient, 'root'> & Partial<Pick<AuditClient, 'search' | 'results'>>;
  /** Milliseconds between checks (> 0). */
  intervalMs: number;
  /** The history it keeps (shared with the request path); a fresh one when absent. */
  history?: VerifiedHistory;
  /** The prover requests share (needed for path proofs); built over `client` when absent. */
  prover?: RootProver;
  /** The upstream keeps one event per leaf in arrival order (the local service): path proofs. */
  oneEventPerLeaf?: boolean;
  /** Anchor at the first root seen when there is no state (INTEGRITY_TRUST_ON_FIRST_USE). */
  trustOnFirstUse?: boolean;
  /** Where the history's anchor is kept across restarts; undefined keeps it in memory only. */
  stateFile?: string | undefined;
  /** The HMAC key that signs the state file (required with stateFile). */
  stateKey?: Buffer | undefined;
  /** Where each save leaves its mark, out of the data directory (state-file.ts stateMarksDir). */
  stateMarks?: string | undefined;
  /** Names the upstream in the state file; a file saved for another upstream is not used. */
  upstreamId: string;
  /** Most one-step consistency proofs one check walks when chaining (default 5000). */
  maxStepsPerCheck?: number;
  /** Pause before the next check while the last one ended behind the latest root (default 1000). */
  catchUpDelayMs?: number;
  /** Roots fetched at once while chaining (default 4). */
  concurrency?: number;
  /** Deadline for one request (default 10 s). */
  requestTimeoutMs?: number;
  /** The full audit to run on its own timer, and at once while the history is unanchored. */
  fullAudit?: FullAuditSchedule | undefined;
  log?: (line: string) => void;
  error?: (line: string) => void;
}

function unanchoredReason(holds: string): string {
  return `the log holds ${holds} but the gateway has no verified history for it (no integrity state): run npm run audit:verify to anchor it, or set INTEGRITY_TRUST_ON_FIRST_USE=true`;
}

/** Thrown inside a check: the upstream's answers prove the log is not append-only, or are lies on their face. */
class IntegrityViolation extends Error {}

const DEFAULT_MAX_STEPS = 5000;

export class IntegrityMonitor implements IntegrityWatch {
  readonly history: VerifiedHistory;
  private readonly prover: RootProver;
  private failure: string | null = null;
  private failedAt: string | null = null;
  private unanchored: string | null = null;
  private checkError: string | null = null;
  /** Checks in a row that ended with a check error, and when the first of them ended. */
  private checkErrors = 0;
  private checkErrorSince: string | null = null;
  private lastCheckedAt: string | null = null;
  private lastSuccessfulCheckAt: string | null = null;
  private latestPublishedSize: number | null = null;
  private tamperingEvidence = 0;
  private lastTamperingEvidence: string | null = null;
  private lastTamperingEvidenceAt: string | null = null;
  /** Reports not yet added to the state mark (a flood of them is written as one update). */
  private unsavedTampering = 0;
  private tamperingSaveQueued = false;
  private fullAuditStatus: FullAuditStatus | null = null;
  /** The last full audit was clean but could not anchor: nothing was published when it ran. */
  private auditFoundNoRoot = false;
  private auditing: Promise<FullAuditStatus | null> | undefined;
  private auditTimer: NodeJS.Timeout | undefined;
  private running: Promise<IntegrityStatus> | undefined;
  private saving: Promise<void> = Promise.resolve();
  private saveQueued = false;
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
    if (options.stateFile && !options.stateKey) throw new RangeError('a state file needs a key to sign it');
    this.maxSteps = Math.max(1, options.maxStepsPerCheck ?? DEFAULT_MAX_STEPS);
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.log = options.log ?? ((line) => console.log(line));
    this.error = options.error ?? ((line) => console.error(line));
    this.history = options.history ?? new VerifiedHistory();
    this.prover =
      options.prover ??
      new RootProver({
        client: options.client as Pick<AuditClient, 'root' | 'search' | 'results'>,
        history: this.history,
        oneEventPerLeaf: options.oneEventPerLeaf ?? false,
        trustOnFirstUse: false,
        log: this.log,
      });
    this.loadState();
    this.history.onChange((event) => {
      if (event === 'contradiction' && this.failure === null) this.fail(this.history.contradiction!);
      this.queueSave();
    });
  }

  /**
   * Runs a check now and then one every interval (checks never overlap); resolves with the status
   * after that first check (a second call, with the current status).
   */
  start(): Promise<IntegrityStatus> {
    if (this.stopped || this.started) return Promise.resolve(this.status());
    this.started = true;
    const first = this.checkNow();
    this.scheduleAudit(this.options.fullAudit?.intervalMs);
    return first;
  }

  private scheduleAudit(delayMs: number | undefined): void {
    if (delayMs === undefined || !this.started || this.stopped) return;
    if (this.auditTimer) clearTimeout(this.auditTimer);
    this.auditTimer = setTimeout(() => {
      this.auditTimer = undefined;
      void this.auditNow();
    }, delayMs);
    this.auditTimer.unref();
  }

  /**
   * Runs the full audit now (or joins the one running). Findings are an integrity failure; a clean
   * audit anchors an unanchored history at the largest published root it rebuilt.
   */
  auditNow(): Promise<FullAuditStatus | null> {
    const schedule = this.options.fullAudit;
    if (!schedule) return Promise.resolve(null);
    this.auditing ??= (async () => {
      let status: FullAuditStatus;
      try {
        const report = await schedule.run(this.abort.signal);
        status = {
          ranAt: new Date().toISOString(),
          ok: report.ok,
          events: report.events,
          treeSize: report.treeSize,
          findings: Object.values(report.findingCounts).reduce((a, b) => a + b, 0),
          firstFindings: report.findings.slice(0, 5).map((f) => f.detail),
          error: null,
        };
        this.fullAuditStatus = status;
        this.auditFoundNoRoot = report.ok && !report.publishedRoot;
        if (!report.ok) {
          this.history.contradict(`the full audit found ${status.findings} problem(s) in the stored log: ${status.firstFindings[0] ?? 'see audit:verify'}`);
        } else if (!this.history.anchored && report.publishedRoot && this.history.anchoringHeld === null) {
          this.history.anchorAt('full-audit', undefined, { size: report.publishedRoot.size, rootHash: report.publishedRoot.rootHash });
          this.unanchored = null;
          this.log(`audit-gateway: a full audit of ${report.events} events passed: verified history anchored at root(${report.publishedRoot.size}) ${report.publishedRoot.rootHash}`);
          void this.checkNow();
        }
      } catch (err) {
        if (this.stopped) return this.fullAuditStatus;
        status = { ranAt: new Date().toISOString(), ok: false, events: 0, treeSize: 0, findings: 0, firstFindings: [], error: err instanceof Error ? err.message : String(err) };
        this.fullAuditStatus = status;
        this.error(`audit-gateway: the full audit could not run: ${status.error}`);
      }
      return status;
    })().finally(() => {
      this.auditing = undefined;
      this.scheduleAudit(schedule.intervalMs);
    });
    return this.auditing;
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
    if (this.auditTimer) clearTimeout(this.auditTimer);
    this.timer = undefined;
    this.auditTimer = undefined;
    this.abort.abort();
    await this.running?.catch(() => undefined);
    await this.auditing?.catch(() => undefined);
    await this.saving;
  }

  status(): IntegrityStatus {
    const latest = this.history.latest();
    const state: IntegrityState =
      this.failure !== null ? 'FAILED' : this.unanchored !== null && !this.history.anchored ? 'UNANCHORED' : latest ? 'OK' : 'UNKNOWN';
    return {
      state,
      lastVerifiedSize: latest?.size ?? null,
      lastVerifiedRootHash: latest?.rootHash ?? null,
      lastCheckedAt: this.lastCheckedAt,
      lastSuccessfulCheckAt: this.lastSuccessfulCheckAt,
      latestPublishedSize: this.latestPublishedSize,
      failure: this.failure ?? (state === 'UNANCHORED' ? this.unanchored : null),
      checkError: this.checkError,
      checkErrors: this.checkErrors,
      checkErrorSince: this.checkErrorSince,
      persistentCheckError: this.persistentCheckError(latest?.size ?? null),
      anchor: this.history.anchor ?? null,
      tamperingEvidence: this.tamperingEvidence,
      lastTamperingEvidence: this.lastTamperingEvidence,
      lastTamperingEvidenceAt: this.lastTamperingEvidenceAt,
      fullAudit: this.fullAuditStatus,
    };
  }

  /** Why check errors count as persistent now (see PERSISTENT_CHECK_ERROR_INTERVALS), else null. */
  private persistentCheckError(verifiedSize: number | null): string | null {
    // FAILED says more, and no check runs any more to clear the error.
    if (this.failure !== null || this.checkError === null || this.checkErrorSince === null) return null;
    if (this.checkErrors < PERSISTENT_CHECK_ERROR_INTERVALS) return null;
    if (Date.now() - Date.parse(this.checkErrorSince) <= PERSISTENT_CHECK_ERROR_INTERVALS * this.options.intervalMs) return null;
    const verified = verifiedSize === null ? 'nothing is verified' : `the verified history is stuck at size ${verifiedSize}`;
    return `${this.checkErrors} integrity checks in a row could not finish, since ${this.checkErrorSince} (last successful check: ${this.lastSuccessfulCheckAt ?? 'none'}); ${verified}. Last: ${this.checkError}`;
  }

  /**
   * Evidence of tampering that contradicts no root (an answer holding another tenant's events, an
   * event missing from a page): counted, shown and logged loudly; the state stays as it is.
   */
  reportTampering(detail: string): void {
    this.tamperingEvidence++;
    this.lastTamperingEvidence = detail;
    this.lastTamperingEvidenceAt = new Date().toISOString();
    this.error(`audit-gateway: TAMPERING EVIDENCE: ${detail}`);
    this.queueTamperingSave();
  }

  /**
   * Adds the reports made since the last write to the state mark, beside the integrity key: out of
   * reach of whoever can rewrite the upstream's storage and the state file, and kept across
   * restarts. Writes queue behind the state's own saves (both rewrite the mark); reports made
   * while one is queued join it, so a flood costs one write at a time.
   */
  private queueTamperingSave(): void {
    const { stateFile, stateKey, stateMarks } = this.options;
    if (!stateFile || !stateKey || !stateMarks) return;
    this.unsavedTampering++;
    if (this.tamperingSaveQueued) return;
    this.tamperingSaveQueued = true;
    this.saving = this.saving.then(async () => {
      this.tamperingSaveQueued = false;
      const reports = this.unsavedTampering;
      // Reports made during this write queue the next one.
      this.unsavedTampering = 0;
      try {
        await addTamperingMark(stateFile, stateKey, this.options.upstreamId, stateMarks, reports, this.lastTamperingEvidence!, this.lastTamperingEvidenceAt!);
      } catch (err) {
        // Written with the next report: the count in the mark never loses one.
        this.unsavedTampering += reports;
        this.error(`audit-gateway: cannot keep the tampering evidence in ${stateMarks}: ${(err as Error).message}`);
      }
    });
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
    if (this.failure !== null) {
      // Sticky: repeat the alarm instead of checking again from a root the upstream disowned.
      this.error(`audit-gateway: INTEGRITY FAILURE (since ${this.failedAt}): ${this.failure}`);
      return this.status();
    }
    // 'failed': it ran to the end and found a violation; 'abandoned': stop() cut it short.
    let outcome: 'verified' | 'failed' | 'error' | 'abandoned' = 'abandoned';
    try {
      await this.walk();
      outcome = 'verified';
    } catch (err) {
      if (err instanceof IntegrityViolation) {
        this.history.contradict(err.message);
        if (this.failure === null) this.fail(err.message);
        outcome = 'failed';
      } else if (!(err instanceof AuditAbortError && this.stopped)) {
        this.checkError = `the integrity check could not finish: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
        this.error(`audit-gateway: ${this.checkError}`);
        outcome = 'error';
      }
    } finally {
      const endedAt = new Date().toISOString();
      this.lastCheckedAt = endedAt;
      if (outcome === 'error') {
        this.checkErrors++;
        this.checkErrorSince ??= endedAt;
      } else if (outcome !== 'abandoned') {
        this.checkError = null;
        this.checkErrors = 0;
        this.checkErrorSince = null;
        if (outcome === 'verified') this.lastSuccessfulCheckAt = endedAt;
      }
    }
    await this.saving;
    const status = this.status();
    // Unanchored: a clean full audit is what anchors the history; run one now rather than in a
    // day. Again once a root is published, when the last one found none to anchor at (events
    // were logged before the first check, but nothing was published yet).
    const auditCouldAnchorNow = !this.fullAuditStatus || (this.auditFoundNoRoot && (this.latestPublishedSize ?? 0) > 0);
    if (status.state === 'UNANCHORED' && this.options.fullAudit && auditCouldAnchorNow && this.started) void this.auditNow();
    const lag = (this.latestPublishedSize ?? 0) - (status.lastVerifiedSize ?? 0);
    if (status.state === 'OK' && lag > 0 && status.checkError === null) {
      this.log(`audit-gateway: integrity verified up to size ${status.lastVerifiedSize} of ${this.latestPublishedSize} (at most ${this.options.oneEventPerLeaf ? PATH_HOP * MAX_PATH_HOPS : this.maxSteps} ${this.options.oneEventPerLeaf ? 'sizes' : 'steps'} per check); continuing next check`);
    }
    return status;
  }

  private fail(reason: string): void {
    this.failure = reason;
    this.failedAt = new Date().toISOString();
    this.error(`audit-gateway: INTEGRITY FAILURE: ${reason}`);
  }

  /** A fresh signal per request: its own deadline, and the monitor's stop() aborts it too. */
  private requestSignal(): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    const onStop = (): void => controller.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    const deadline = setTimeout(() => controller.abort(new Error('request deadline')), this.options.requestTimeoutMs ?? 10_000);
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(deadline);
        this.abort.signal.removeEventListener('abort', onStop);
      },
    };
  }

  /**
   * A published root from v1/root. A Success answer must hold the root asked for: one without a
   * root, or with a root of another size, is no outage but an answer the upstream chose to give,
   * and taking it as a check error would let it freeze the verified history with nothing worse
   * than a checkError to show for it.
   */
  private async root(size?: number): Promise<PublishedRoot> {
    const { signal, done } = this.requestSignal();
    let root: Partial<PublishedRoot> | undefined;
    try {
      const response = await this.options.client.root(size === undefined ? {} : { tree_size: size }, { signal });
      // A Success answer with `result: null` is read as one without a root, not as a TypeError.
      const result: Partial<RootResult> | null | undefined = response.result;
      root = result?.data;
    } finally {
      done();
    }
    const asked = size === undefined ? 'v1/root (the latest root)' : `v1/root for tree_size ${size}`;
    if (typeof root !== 'object' || root === null || typeof root.root_hash !== 'string' || !Number.isSafeInteger(root.size)) {
      throw new IntegrityViolation(`${asked} answered Success without a published root: the audit service withholds the root it claims to give`);
    }
    if (size !== undefined && root.size !== size) {
      throw new IntegrityViolation(`${asked} answered root(${root.size}) ${root.root_hash}: the audit service gives another root than the one asked for`);
    }
    return root as PublishedRoot;
  }

  /** root(size) that the upstream must be able to give (size ≤ the latest published). */
  private async requiredRoot(size: number, latest: number): Promise<PublishedRoot> {
    try {
      return await this.root(size);
    } catch (err) {
      if (err instanceof TreeNotFoundError || err instanceof ValidationError) {
        throw new IntegrityViolation(`the audit service refuses root(${size}) although it published size ${latest}: ${err.summary}`);
      }
      throw err;
    }
  }

  private async walk(): Promise<void> {
    const history = this.history;
    let latest: PublishedRoot;
    try {
      latest = await this.root();
    } catch (err) {
      if (err instanceof TreeNotFoundError) {
        this.latestPublishedSize = 0;
        const known = history.latest();
        if (known) throw new IntegrityViolation(`the audit service says nothing is published, but root(${known.size}) ${known.rootHash} was verified before: the log was wiped`);
        if (!history.anchored) {
          // Nothing published is not nothing logged: events whose roots were deleted are still
          // events the gateway never verified.
          const held = await this.eventCount();
          if (held > 0 && !this.options.trustOnFirstUse) {
            this.unanchored = unanchoredReason(`${held} events and no published root`);
            return;
          }
          history.anchorAt('empty-log', undefined, undefined);
          this.unanchored = null;
          this.log('audit-gateway: integrity monitor anchored at an empty log: every root from now on is proven from the first');
        }
        return;
      }
      throw err;
    }
    this.latestPublishedSize = latest.size;
    if (!history.anchored) {
      if (!this.options.trustOnFirstUse) {
        this.unanchored = unanchoredReason(`${latest.size} published events`);
        return;
      }
      // Trust on first use: the latest root, with its proof from size-1.
      if (latest.size > 1) this.step(await this.requiredRoot(latest.size - 1, latest.size), latest);
      // A request's proof may have anchored it meanwhile (trust on first use there too).
      if (history.anchored) return;
      history.anchorAt('trust-on-first-use', latest.tree_name, { size: latest.size, rootHash: latest.root_hash.toLowerCase() });
      this.log(`audit-gateway: integrity monitor starts from published root ${latest.size} ${latest.root_hash} (trust on first use)`);
      if (this.options.oneEventPerLeaf) await this.withSignal((signal) => this.prover.findLastLeaf(history.latest()!, signal));
      return;
    }
    const known = history.latest();
    if (history.tree !== undefined && latest.tree_name !== history.tree) {
      throw new IntegrityViolation(`the tree is now "${latest.tree_name}", but the verified history is of tree "${history.tree}": the log was replaced`);
    }
    if (!known) {
      // Anchored at an empty log: the first root, and every one after it, is proven from here on.
      await this.prove(latest);
      return;
    }
    if (latest.size < known.size) {
      throw new IntegrityViolation(`the latest published size is ${latest.size}, smaller than the verified size ${known.size}: the log was rolled back`);
    }
    // History rewrite: the upstream must still give the same root for the verified size.
    const old = latest.size === known.size ? latest : await this.requiredRoot(known.size, latest.size);
    if (old.root_hash.toLowerCase() !== known.rootHash || old.tree_name !== latest.tree_name) {
      throw new IntegrityViolation(
        `root(${known.size}) is now ${old.root_hash}, but ${known.rootHash} was verified before: the history up to size ${known.size} was rewritten`,
      );
    }
    if (latest.size === known.size) return;
    if (this.options.oneEventPerLeaf) await this.proveByPaths(latest);
    else await this.chain(old, latest);
  }

  /** How many events the log holds at all (a search over everything, one event asked for). */
  private async eventCount(): Promise<number> {
    const client = this.options.client;
    if (!client.search) throw new Error('the integrity monitor cannot tell whether the log is empty (no search)');
    const searcher = client as Pick<AuditClient, 'search'>;
    return this.withSignal(async (signal) => (await searcher.search({ query: '', limit: 1, max_results: 1, verbose: false }, { signal })).result.count);
  }

  private async withSignal<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { signal, done } = this.requestSignal();
    try {
      return await run(signal);
    } finally {
      done();
    }
  }

  /** Proves `latest` (or a first root over an empty-log anchor) through the prover. */
  private async prove(latest: PublishedRoot): Promise<void> {
    const verdict = await this.withSignal((signal) => this.prover.trust(latest, signal));
    if (verdict.status === 'FAIL') throw new IntegrityViolation(verdict.reason ?? `root(${latest.size}) does not extend the verified history`);
    if (verdict.status !== 'PASS') throw new Error(verdict.reason ?? 'the root could not be proven yet');
    if (this.options.oneEventPerLeaf && !this.history.latest()?.lastLeaf) await this.withSignal((signal) => this.prover.findLastLeaf(this.history.latest()!, signal));
  }

  /** Steps of at most PATH_HOP sizes, each proven with membership paths, up to the latest root. */
  private async proveByPaths(latest: PublishedRoot): Promise<void> {
    for (let hop = 0; hop < MAX_PATH_HOPS && this.history.latest()!.size < latest.size; hop++) {
      const from = this.history.latest()!.size;
      if (latest.size - from <= PATH_HOP) {
        await this.prove(latest);
        return;
      }
      const verdict = await this.withSignal((signal) => this.prover.proveStone(from + PATH_HOP, latest.tree_name, signal));
      if (verdict.status === 'FAIL') throw new IntegrityViolation(verdict.reason ?? 'a step does not extend the verified history');
      if (verdict.status !== 'PASS') throw new Error(verdict.reason ?? 'a step could not be proven yet');
    }
  }

  /** Chains root(m) → … → root(target) with v1/root's one-step proofs, a few roots at a time. */
  private async chain(old: PublishedRoot, latest: PublishedRoot): Promise<void> {
    const target = Math.min(latest.size, old.size + this.maxSteps);
    let previous = old;
    for (let next = old.size + 1; next <= target; ) {
      const sizes: number[] = [];
      for (; next <= target && sizes.length < this.concurrency; next++) sizes.push(next);
      const roots = await Promise.all(sizes.map((s) => (s === latest.size ? Promise.resolve(latest) : this.requiredRoot(s, latest.size))));
      for (const root of roots) {
        this.step(previous, root);
        previous = root;
        this.history.record({ size: root.size, rootHash: root.root_hash.toLowerCase() }, root.tree_name);
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
    this.loadTampering(file);
    const loaded = readStateFile(file, this.options.stateKey!, this.options.upstreamId, this.options.stateMarks);
    if (loaded.kind === 'refused') {
      this.fail(`${loaded.reason}; run npm run audit:verify and remove it to anchor the history again`);
      // Nothing may anchor in its place (a request's trust on first use, a clean full audit) and
      // save a new state over the refused one.
      this.history.holdAnchoring(`the integrity state file was refused: ${loaded.reason}`);
      return;
    }
    if (loaded.kind === 'unsigned') {
      this.unanchored = `${loaded.reason}: run npm run audit:verify to anchor the history, or set INTEGRITY_TRUST_ON_FIRST_USE=true`;
      return;
    }
    if (loaded.kind === 'missing') return;
    const state = loaded.state;
    this.history.anchorAt(state.anchor, state.treeName, state.first ?? undefined);
    if (state.latest) this.history.record(state.latest, state.treeName);
    if (state.contradiction) {
      this.history.contradict(state.contradiction);
      this.fail(state.contradiction);
    }
  }

  /** The tampering evidence earlier runs kept in the state mark (state-file.ts addTamperingMark). */
  private loadTampering(file: string): void {
    if (!this.options.stateMarks) return;
    const kept = readTamperingMark(this.options.stateMarks, file, this.options.upstreamId, this.options.stateKey!);
    // A mark that does not verify refuses the state file too (readStateFile), which says so.
    if (kept.kind === 'refused' || kept.tampering === null) return;
    this.tamperingEvidence = kept.tampering.count;
    this.lastTamperingEvidence = kept.tampering.last;
    this.lastTamperingEvidenceAt = kept.tampering.lastAt;
  }

  /** Saves after every change, one write at a time, the last change always written. */
  private queueSave(): void {
    if (!this.options.stateFile || this.saveQueued) return;
    this.saveQueued = true;
    this.saving = this.saving.then(async () => {
      this.saveQueued = false;
      const snapshot = this.history.snapshot();
      try {
        if (!snapshot.anchor) {
          // Nothing to save but a contradiction (the full audit of an unanchored log found
          // problems): kept in the mark, so a later clean audit of a log rewritten meanwhile
          // cannot anchor there after a restart.
          if (snapshot.contradiction && this.options.stateMarks) {
            await writeContradictionMark(this.options.stateFile!, this.options.stateKey!, this.options.upstreamId, snapshot.contradiction, this.options.stateMarks);
          }
          return;
        }
        await writeStateFile(this.options.stateFile!, this.options.stateKey!, {
          upstream: this.options.upstreamId,
          treeName: snapshot.treeName,
          anchor: snapshot.anchor,
          first: snapshot.first,
          latest: snapshot.latest,
          contradiction: snapshot.contradiction,
          savedAt: new Date().toISOString(),
        }, this.options.stateMarks);
      } catch (err) {
        this.error(`audit-gateway: cannot save the integrity state to ${this.options.stateFile}: ${(err as Error).message}`);
      }
    });
  }
}
