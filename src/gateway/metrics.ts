// Prometheus metrics of one gateway (GET /metrics): GraphQL operations, upstream calls, the
// integrity state and verification outcomes, plus Node's default process metrics, in a registry
// of its own (two gateways in one process never mix their figures).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PERSISTENT_CHECK_ERROR_INTERVALS, type IntegrityState, type IntegrityStatus, type IntegrityWatch } from '../trust/integrity-status.js';
import { VERIFICATION_CHECKS, type VerificationCheck, type VerificationTally } from '../graphql/context.js';
import { liveTailTotals } from '../graphql/live-tail/hub.js';

export type OperationOutcome = 'ok' | 'graphql_error' | 'http_error';

const INTEGRITY_STATES: readonly IntegrityState[] = ['OK', 'FAILED', 'UNKNOWN', 'UNANCHORED'];
const STATUSES = ['PASS', 'FAIL', 'NONE', 'VERIFIED', 'PENDING', 'FAILED'] as const;
const STATUS_INDEX = new Map<string, number>(STATUSES.map((status, i) => [status, i]));
const CHECK_INDEX = Object.fromEntries(VERIFICATION_CHECKS.map((check, i) => [check, i])) as Record<VerificationCheck, number>;
/** Operation names are chosen by callers: the label set stays bounded whatever they send. */
const MAX_OPERATION_NAME_CHARS = 64;
const MAX_OPERATION_NAMES = 200;
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

export class GatewayMetrics implements VerificationTally {
  readonly registry = new Registry();
  private readonly operations: Counter<'operation_name' | 'operation_type' | 'outcome'>;
  private readonly operationDuration: Histogram<'operation_name' | 'operation_type' | 'outcome'>;
  private readonly upstreamCalls: Counter<'endpoint' | 'outcome'>;
  private readonly upstreamDuration: Histogram<'endpoint'>;
  /**
   * Verification outcomes per (check, status), at VERIFICATION_CHECKS index × STATUSES.length +
   * status index, one count per check resolved for a caller (src/graphql/types/verification.ts).
   * Counted here and handed to prom-client when scraped: its increment hashes the label set every
   * time, too much for every check of every event of a page.
   */
  private readonly verificationCounts = new Float64Array(VERIFICATION_CHECKS.length * STATUSES.length);
  private readonly operationNames = new Set<string>();
  private integrity: IntegrityWatch | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.operations = new Counter({
      name: 'audit_gateway_graphql_requests_total',
      help: 'GraphQL requests by operation name and type and outcome (ok, graphql_error, http_error).',
      labelNames: ['operation_name', 'operation_type', 'outcome'],
      registers: [this.registry],
    });
    this.operationDuration = new Histogram({
      name: 'audit_gateway_graphql_request_duration_seconds',
      help: 'Duration of GraphQL requests by operation name and type and outcome.',
      labelNames: ['operation_name', 'operation_type', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.upstreamCalls = new Counter({
      name: 'audit_gateway_upstream_requests_total',
      help: 'HTTP exchanges with the audit service (retries and polls included) by endpoint and outcome (ok, accepted or the error class).',
      labelNames: ['endpoint', 'outcome'],
      registers: [this.registry],
    });
    this.upstreamDuration = new Histogram({
      name: 'audit_gateway_upstream_request_duration_seconds',
      help: 'Duration of HTTP exchanges with the audit service, by endpoint.',
      labelNames: ['endpoint'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    const verificationCounts = this.verificationCounts;
    new Counter({
      name: 'audit_gateway_verification_checks_total',
      help: 'Verification checks the gateway resolved for callers (each selected check of each event, live-tail pushes included), by check (hash, membership, consistency, signature, witness, verdict) and status.',
      labelNames: ['check', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        VERIFICATION_CHECKS.forEach((check, c) => {
          STATUSES.forEach((status, s) => {
            const count = verificationCounts[c * STATUSES.length + s]!;
            if (count > 0) this.inc({ check, status }, count);
          });
        });
      },
    });
    new Gauge({
      name: 'audit_gateway_live_tail',
      help: 'Live-tail subscriptions open (kind="subscribers") and upstream watchers serving them (kind="watchers").',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        const now = liveTailTotals();
        this.set({ kind: 'subscribers' }, now.subscribers);
        this.set({ kind: 'watchers' }, now.watchers);
      },
    });
    const currentStatus = (): IntegrityStatus | undefined => this.integrity?.status();
    new Gauge({
      name: 'audit_gateway_integrity_state',
      help: "The integrity monitor's state of the upstream log: 1 for the current state, 0 for the others (absent when no monitor runs).",
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.reset();
        const current = currentStatus()?.state;
        if (current === undefined) return;
        for (const state of INTEGRITY_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    // The state stays OK while checks cannot finish: these show a monitor that no longer extends
    // the verified history.
    new Gauge({
      name: 'audit_gateway_integrity_seconds_since_successful_check',
      help: "Seconds since the integrity monitor's last check that ran to the end without a check error; before the first, since the first check that could not finish (absent until a check has ended, or when no monitor runs).",
      registers: [this.registry],
      collect() {
        this.reset();
        const status = currentStatus();
        const since = status?.lastSuccessfulCheckAt ?? status?.checkErrorSince;
        if (since) this.set(Math.max(0, (Date.now() - Date.parse(since)) / 1000));
      },
    });
    new Gauge({
      name: 'audit_gateway_integrity_check_errors',
      help: 'Integrity checks in a row that could not finish (0 once one does; absent when no monitor runs).',
      registers: [this.registry],
      collect() {
        this.reset();
        const status = currentStatus();
        if (status) this.set(status.checkErrors);
      },
    });
    new Gauge({
      name: 'audit_gateway_integrity_check_error_persistent',
      help: `Whether integrity check errors persist: ${PERSISTENT_CHECK_ERROR_INTERVALS} checks or more in a row could not finish, over more than ${PERSISTENT_CHECK_ERROR_INTERVALS} check intervals (1, and /ready is 503), or not (0; absent when no monitor runs).`,
      registers: [this.registry],
      collect() {
        this.reset();
        const status = currentStatus();
        if (status) this.set(status.persistentCheckError === null ? 0 : 1);
      },
    });
  }

  /** The monitor whose state the integrity gauge shows (it is made after the metrics). */
  watchIntegrity(integrity: IntegrityWatch | undefined): void {
    this.integrity = integrity;
  }

  /** For AuditClientOptions.onCall. */
  readonly upstreamObserver = (endpoint: string, outcome: string, ms: number): void => {
    this.upstreamCalls.inc({ endpoint, outcome });
    this.upstreamDuration.observe({ endpoint }, ms / 1000);
  };

  observeOperation(name: string | undefined, type: string | undefined, outcome: OperationOutcome, seconds: number): void {
    const labels = { operation_name: this.operationLabel(name), operation_type: type ?? 'unknown', outcome };
    this.operations.inc(labels);
    this.operationDuration.observe(labels, seconds);
  }

  /** VerificationTally: one check of a verification resolved for a caller. */
  count(check: VerificationCheck, status: string): void {
    const statusIndex = STATUS_INDEX.get(status);
    if (statusIndex === undefined) return;
    const at = CHECK_INDEX[check] * STATUSES.length + statusIndex;
    this.verificationCounts[at] = this.verificationCounts[at]! + 1;
  }

  /** GET /metrics: the text format; with a token, only for `Authorization: Bearer <token>`. */
  async serve(req: IncomingMessage, res: ServerResponse, token: string | undefined): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
      res.end();
      return;
    }
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-length': 0 });
      res.end();
      return;
    }
    const text = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  private operationLabel(name: string | undefined): string {
    if (!name) return 'anonymous';
    if (name.length > MAX_OPERATION_NAME_CHARS || !GRAPHQL_NAME.test(name)) return 'other';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.operationNames.add(name);
    return name;
  }
}

/** Compared as digests, in constant time: the length of the token is not revealed either. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}
