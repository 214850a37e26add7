// Query.integrity: what the gateway's integrity monitor (src/gateway/integrity-monitor.ts) last
// found about the upstream's log as a whole — is it still an extension of the last root verified?
import { PERSISTENT_CHECK_ERROR_INTERVALS, type FullAuditStatus, type IntegrityStatus } from '../../trust/integrity-status.js';
import { builder } from '../builder.js';

const IntegrityStateEnum = builder.enumType('IntegrityState', {
  description: 'Outcome of the integrity monitor.',
  values: {
    OK: { description: 'Every published root checked so far extends the previous one; history is unchanged.' },
    FAILED: { description: 'The upstream rewrote, rolled back or forked its log; see failure. Stays until the gateway restarts.' },
    UNKNOWN: { description: 'No root verified yet (first check pending, nothing published, or the upstream unreachable since start).' },
    UNANCHORED: {
      description:
        'The log holds events but the gateway has no verified history to hold it against (no integrity state): nothing can be VERIFIED until a full audit (npm run audit:verify) passes, or the operator sets INTEGRITY_TRUST_ON_FIRST_USE=true.',
    },
  } as const,
});

const FullAuditRef = builder.objectRef<FullAuditStatus>('FullAudit').implement({
  description: 'The last full audit: every stored event rehashed and the whole tree rebuilt, compared with the published and verified roots (npm run audit:verify).',
  fields: (t) => ({
    ranAt: t.field({ type: 'DateTime', description: 'When it ended.', resolve: (a) => a.ranAt }),
    ok: t.boolean({ description: 'It ran to the end and found nothing.', resolve: (a) => a.ok }),
    events: t.int({ description: 'Events read.', resolve: (a) => a.events }),
    treeSize: t.int({ description: 'Leaves rebuilt into the tree.', resolve: (a) => a.treeSize }),
    findings: t.int({ description: 'Problems found: missing, edited or misplaced events, search columns that differ from the event, roots that differ.', resolve: (a) => a.findings }),
    firstFindings: t.stringList({ description: 'The first findings, one line each, by leaf index.', resolve: (a) => a.firstFindings }),
    error: t.string({ nullable: true, description: 'Why it could not run.', resolve: (a) => a.error }),
  }),
});

const IntegrityStatusRef = builder.objectRef<IntegrityStatus>('IntegrityStatus').implement({
  description: "The integrity monitor's view of the upstream log: the chain of published roots it has verified.",
  fields: (t) => ({
    state: t.field({ type: IntegrityStateEnum, description: 'OK, FAILED, UNKNOWN or UNANCHORED.', resolve: (s) => s.state }),
    anchor: t.string({
      nullable: true,
      description: 'How the verified history was anchored: state-file, empty-log, trust-on-first-use or full-audit (null while unanchored).',
      resolve: (s) => s.anchor,
    }),
    tamperingEvidence: t.int({
      description:
        'Answers that showed tampering without contradicting a verified root (e.g. events outside the restriction the gateway forced, events gone from a result set). Counted over every run of the gateway when it keeps an integrity state (INTEGRITY_STATE_FILE, or the embedded service\'s data directory): the count is kept beside the integrity key, so neither a restart nor a state file put back clears it. Since start otherwise.',
      resolve: (s) => s.tamperingEvidence,
    }),
    lastTamperingEvidence: t.string({ nullable: true, description: 'What the last such answer showed.', resolve: (s) => s.lastTamperingEvidence }),
    lastTamperingEvidenceAt: t.field({ type: 'DateTime', nullable: true, description: 'When the last such answer came.', resolve: (s) => s.lastTamperingEvidenceAt }),
    fullAudit: t.field({ type: FullAuditRef, nullable: true, description: 'The last full audit (FULL_AUDIT_INTERVAL_MS); null before the first.', resolve: (s) => s.fullAudit }),
    lastVerifiedSize: t.int({ nullable: true, description: 'Size of the last published root proven consistent with all before it.', resolve: (s) => s.lastVerifiedSize }),
    lastVerifiedRootHash: t.string({ nullable: true, description: 'Hash of that root (hex).', resolve: (s) => s.lastVerifiedRootHash }),
    lastCheckedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the last check ended, whatever its outcome (also one that could not finish: see lastSuccessfulCheckAt).',
      resolve: (s) => s.lastCheckedAt,
    }),
    lastSuccessfulCheckAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        `When the last check ended that ran to the end without a checkError (null before the first, and not moved by a check that found a failure). Older than lastCheckedAt while checks keep failing: nothing past lastVerifiedSize has been verified since. /ready answers 503 once ${PERSISTENT_CHECK_ERROR_INTERVALS} checks or more in a row could not finish, over more than ${PERSISTENT_CHECK_ERROR_INTERVALS} check intervals.`,
      resolve: (s) => s.lastSuccessfulCheckAt,
    }),
    latestPublishedSize: t.int({
      nullable: true,
      description: 'The latest published size the last check saw; larger than lastVerifiedSize while the monitor catches up.',
      resolve: (s) => s.latestPublishedSize,
    }),
    failure: t.string({ nullable: true, description: 'Why the state is FAILED (which root changed or which proof did not hold) or UNANCHORED.', resolve: (s) => s.failure }),
    checkError: t.string({
      nullable: true,
      description:
        'Why the last check could not finish (for example the upstream was unreachable); not an integrity failure. An answer that is a lie on its face (v1/root answering Success without a root, or with another size than asked) is a failure instead.',
      resolve: (s) => s.checkError,
    }),
  }),
});

builder.queryField('integrity', (t) =>
  t.field({
    type: IntegrityStatusRef,
    nullable: true,
    description: 'The integrity monitor: whether the upstream log is still append-only. Null when no monitor runs (pass-through mode, or INTEGRITY_CHECK_INTERVAL_MS=0).',
    authScopes: { 'audit:root': true },
    resolve: (_root, _args, ctx) => ctx.integrity?.status() ?? null,
  }),
);
