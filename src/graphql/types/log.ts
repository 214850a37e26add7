// Mutations that write events: log (standard schema), logEvent (any schema), logBulk. With
// `verify`, the gateway checks the upstream's answer itself and chains consistency from the last
// root it verified.
import type { AuditEnvelope, LogBulkResult, LogResult } from '../../wire/index.js';
import { verifySignatureNative } from '../../crypto/native-ed25519.js';
import { verifyEnvelopeHashNative } from '../../crypto/native-sha256.js';
import { PairCache, fail, none, overallVerdict, verifyConsistency, verifyMembership, type Verdict, type Verification, type VerificationStatus } from '../../merkle/index.js';
import { applyKeyTrust } from '../../trust/trusted-keys.js';
import type { PreparedItem } from '../../audit-client/index.js';
import { storedUnlike } from '../sent-event.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { WRITE_ERRORS } from '../error-types.js';
import { InputError, upstreamWrite } from '../errors.js';
import { STANDARD_GRAPHQL_FIELDS, wireKey } from '../standard-fields.js';
import type { ChainedRoot } from '../upstream-state.js';
import { applyTenant } from '../../auth/tenancy.js';
import { failureReasons, tallied, VerdictEnum, VerificationStatusEnum } from './verification.js';
import { inSpan, verdictCounts } from '../spans.js';

export const AuditEventInput = builder.inputType('AuditEventInput', {
  description: 'An event of the standard audit schema. JSON values of old/new are sent as canonical JSON strings.',
  fields: (t) =>
    Object.fromEntries(
      STANDARD_GRAPHQL_FIELDS.map(({ name, inputType, required, inputDescription: description }) => [
        name,
        inputType === 'JSON' ? t.field({ type: 'JSON', required, description }) : inputType === 'DateTime' ? t.field({ type: 'DateTime', required, description }) : t.string({ required, description }),
      ]),
    ),
});

export const LogOptionsInput = builder.inputType('LogOptions', {
  description: 'How to log, as the vendor SDKs offer it.',
  fields: (t) => ({
    verbose: t.boolean({ description: 'Return the stored envelope, the unpublished root and the membership proof.' }),
    verify: t.boolean({ description: 'Verify hash, membership, signature and consistency with the last root this gateway verified (implies verbose).' }),
    signLocal: t.boolean({ description: "Sign the event with the gateway's configured Ed25519 key." }),
  }),
});

type EventInputShape = Record<string, unknown> & { tenantId?: string | null };

/** GraphQL input → wire event (tenantId → tenant_id, nulls dropped). */
function toWireEvent(input: EventInputShape): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === null || value === undefined) continue;
    out[wireKey(key)] = value;
  }
  return out;
}

export interface LogVerification {
  hash: Verification;
  membership: Verification;
  consistency: Verification;
  signature: Verification;
  verdict: Verdict;
  verdictReason: string | undefined;
}

interface LogOutcome {
  result: LogResult;
  verification: LogVerification;
}

const LogVerificationRef = builder.objectRef<LogVerification>('LogVerification').implement({
  description: 'What the gateway verified about a logged event.',
  fields: (t) => ({
    hash: t.field({ type: VerificationStatusEnum, description: 'The returned envelope holds the event as the gateway sent it (its fields, signature and public key) and hashes to the returned hash.', resolve: (v, _args, ctx) => tallied(ctx, 'hash', v.hash.status) }),
    membership: t.field({ type: VerificationStatusEnum, description: 'The membership proof leads to the unpublished root.', resolve: (v, _args, ctx) => tallied(ctx, 'membership', v.membership.status) }),
    consistency: t.field({ type: VerificationStatusEnum, description: 'The new root extends the last root this gateway verified.', resolve: (v, _args, ctx) => tallied(ctx, 'consistency', v.consistency.status) }),
    signature: t.field({ type: VerificationStatusEnum, description: 'The stored signature verifies, by a trusted key when they are listed (NONE when unsigned).', resolve: (v, _args, ctx) => tallied(ctx, 'signature', v.signature.status) }),
    verdict: t.field({
      type: VerdictEnum,
      description:
        "VERIFIED when hash, membership and consistency PASS and the new root is chained to the gateway's verified history; PENDING when it cannot be chained yet (nothing verified to chain to, or verify not asked for); FAILED when a check failed or a proof asked for was withheld.",
      resolve: (v, _args, ctx) => tallied(ctx, 'verdict', v.verdict),
    }),
    verdictReason: t.string({ nullable: true, description: 'Why the verdict is PENDING or FAILED.', resolve: (v) => v.verdictReason ?? null }),
    verified: t.boolean({ description: 'True exactly when verdict is VERIFIED.', resolve: (v) => v.verdict === 'VERIFIED' }),
    failures: t.stringList({ description: 'One line per failed check.', resolve: (v) => failureReasons(v) }),
  }),
});

const LogResultRef = builder.objectRef<LogOutcome>('LogResult').implement({
  description: 'The logged event as the audit service stored it.',
  fields: (t) => ({
    hash: t.string({ description: 'The event hash.', resolve: (o) => o.result.hash }),
    envelope: t.field({ type: 'JSON', nullable: true, description: 'The stored envelope (verbose/verify).', resolve: (o) => o.result.envelope ?? null }),
    receivedAt: t.field({ type: 'DateTime', nullable: true, description: 'When the service received it (verbose/verify).', resolve: (o) => o.result.envelope?.received_at ?? null }),
    unpublishedRoot: t.string({ nullable: true, description: 'Root hash of the tree including this event (verbose/verify).', resolve: (o) => o.result.unpublished_root ?? null }),
    membershipProof: t.string({ nullable: true, description: 'Proof from the event hash to unpublishedRoot (verbose/verify).', resolve: (o) => o.result.membership_proof ?? null }),
    consistencyProof: t.stringList({ nullable: true, description: 'Proof from the previous verified root (verify).', resolve: (o) => o.result.consistency_proof ?? null }),
    verification: t.field({ type: LogVerificationRef, description: "The gateway's own checks (NONE where nothing could be checked).", resolve: (o) => o.verification }),
  }),
});

/** What the log request asked the upstream for: what is absent of it was withheld. */
interface Asked {
  /** The event as it went out (prepared on first use when the request did not keep it). */
  sent: () => PreparedItem;
  /** verbose or verify: the envelope, the membership proof and the unpublished root. */
  proofs: boolean;
  /** The prev_root sent (verify), whose consistency proof the answer must carry. */
  prevRoot: ChainedRoot | undefined;
}

/** Something the answer lacks: withheld when the request asked for it, else not verbose. */
function absent(asked: Asked, what: string): Verification {
  return asked.proofs ? fail(`${what} was asked for and withheld`) : none(`not verbose: no ${what} returned`);
}

/** A root the answer really carries: null and empty count as withheld. */
function present(value: string | null | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The stored signature verifies, by a key trusted for the event (TRUSTED_SIGNING_KEYS_FILE). */
function storedSignature(ctx: GraphQLContext, envelope: AuditEnvelope): Verification {
  const { event, signature, public_key: publicKey } = envelope;
  return applyKeyTrust(verifySignatureNative({ event, signature, publicKey }), { event, publicKey }, ctx.upstream.trustedKeys);
}

/** The envelope holds the event as sent, and hashes to the hash returned for it. */
function checkStoredHash(envelope: AuditEnvelope, hash: string, sent: PreparedItem): Verification {
  const unlike = storedUnlike(envelope, sent);
  return unlike === undefined ? verifyEnvelopeHashNative(envelope, hash) : fail(unlike);
}

/**
 * Interior hashes shared by the proofs of successive verified logs: each log's consistency proof
 * from the previous root climbs the same right edge of the tree as the last one's (a proof from 16
 * leaves back: 43 -> 21 µs per check with the cache), and its membership path shares the top.
 * A slot answers only for its exact input bytes (src/merkle/pair-cache.ts).
 */
const logProofPairs = new PairCache(4096);

/**
 * A plain log whose answer carries nothing to check gets the same NONE checks, reasons and verdict
 * every time: they are worked out once, by the same checks as any log, and then reused.
 */
let nothingToCheck: LogVerification | undefined;

function verifyLogged(ctx: GraphQLContext, result: LogResult, asked: Asked): LogVerification {
  // Whatever an answer carries is checked, asked for or not: only an empty answer to a plain log is reused.
  const empty = !asked.proofs && asked.prevRoot === undefined && !result.envelope && (result.membership_proof ?? null) === null;
  if (!empty) return checkLogged(ctx, result, asked);
  if (!nothingToCheck) {
    const checked = checkLogged(ctx, result, asked);
    for (const check of [checked.hash, checked.membership, checked.consistency, checked.signature]) Object.freeze(check);
    nothingToCheck = Object.freeze(checked);
  }
  return nothingToCheck;
}

function checkLogged(ctx: GraphQLContext, result: LogResult, asked: Asked): LogVerification {
  const envelope = result.envelope;
  // An empty membership proof is real (the event is the tree's only leaf); null is withheld.
  const membershipProof = result.membership_proof ?? undefined;
  const consistencyProof = result.consistency_proof;
  const checks = {
    hash: envelope ? checkStoredHash(envelope, result.hash, asked.sent()) : absent(asked, 'envelope'),
    membership:
      membershipProof === undefined
        ? absent(asked, 'membership proof')
        : !present(result.unpublished_root)
          ? absent(asked, 'unpublished root')
          : verifyMembership({ hash: result.hash, proof: membershipProof, rootHash: result.unpublished_root! }, logProofPairs.hash),
    consistency:
      asked.prevRoot === undefined
        ? none(asked.proofs ? 'the gateway has no verified root to chain this log to yet (nothing published and proven)' : 'not verified: pass options.verify')
        : consistencyProof === undefined || consistencyProof === null
          ? fail('the consistency proof from the previous verified root was asked for (prev_root) and withheld')
          : !present(result.unpublished_root)
            ? fail('the unpublished root, which the consistency proof must reach, was withheld')
            : verifyConsistency(
                { oldRootHash: asked.prevRoot.rootHash, newRootHash: result.unpublished_root!, proof: consistencyProof, ...(asked.prevRoot.size !== undefined ? { oldSize: asked.prevRoot.size } : {}) },
                logProofPairs.hash,
              ),
    signature: envelope ? storedSignature(ctx, envelope) : absent(asked, 'envelope'),
  };
  const outcome = overallVerdict(checks, ['hash', 'membership', 'consistency']);
  if (outcome.verdict === 'VERIFIED' && !asked.prevRoot?.anchored) {
    // Proven only back to an earlier log's root: nothing ties that chain to a published root yet.
    return { ...checks, verdict: 'PENDING', verdictReason: 'consistency: chained to earlier logs only, not yet to a published root the gateway has verified' };
  }
  return { ...checks, verdict: outcome.verdict, verdictReason: outcome.reason };
}

type LogOptionsShape = { verbose?: boolean | null; verify?: boolean | null; signLocal?: boolean | null } | null | undefined;

function signerFor(ctx: GraphQLContext, options: LogOptionsShape) {
  if (!options?.signLocal) return false as const;
  if (!ctx.signer) throw new InputError('signLocal needs a signing key: start the gateway with SIGNING_KEY_FILE', 'options.signLocal');
  return ctx.signer;
}

export async function logOne(ctx: GraphQLContext, event: Record<string, unknown>, options: LogOptionsShape): Promise<LogOutcome> {
  const verify = options?.verify ?? false;
  // A verified log is proven to extend the latest root of the verified history, whose size is
  // known: the consistency proof's shape is checked against it (verifyConsistency's oldSize),
  // without which a proof can put anything before the old tree. The answer of a log gives its
  // root but not its size, so a root only a log proved cannot be chained from soundly: before the
  // history has a root, logs chain from the last log's root, and are PENDING (unanchored).
  const chained = ctx.upstream.lastVerifiedRoot;
  const verified = ctx.upstream.history.latest();
  const prevRoot: ChainedRoot | undefined = !verify ? undefined : verified ? { rootHash: verified.rootHash, anchored: true, size: verified.size } : chained;
  const sign = signerFor(ctx, options);
  const verbose = verify || (options?.verbose ?? false);
  const tenanted = applyTenant(ctx.caller, event);
  // A verbose answer's envelope is compared with the event as sent, so that event is prepared
  // here and sent as it is; a plain log keeps the client's own path (and its grouping).
  let sent: PreparedItem | undefined;
  const prepared = (): PreparedItem => (sent ??= ctx.client.prepareItem({ event: tenanted }, { sign }));
  const response = await upstreamWrite(() =>
    verbose
      ? ctx.client.log({ ...prepared(), verbose, ...(prevRoot ? { prev_root: prevRoot.rootHash } : {}) }, { signal: ctx.signal, sign })
      : ctx.client.log({ event: tenanted, verbose }, { signal: ctx.signal, sign }),
  );
  const verification = inSpan('audit.verify_log', { 'audit.events': 1 }, () => verifyLogged(ctx, response.result, { proofs: verbose, prevRoot, sent: prepared }), (v) => verdictCounts([v.verdict])) as LogVerification;
  // Before the history has a root, verified logs chain among themselves (unanchored): only a new
  // root proven from the chain moves it, never on a withheld or failed proof; the very first
  // verified log (nothing to chain from) starts the chain.
  const proven = [verification.hash, verification.membership].every((v) => v.status === 'PASS');
  if (verify && !verified && response.result.unpublished_root && proven && (prevRoot ? verification.consistency.status === 'PASS' : chained === undefined)) {
    ctx.upstream.lastVerifiedRoot = { rootHash: response.result.unpublished_root, anchored: false };
  }
  return { result: response.result, verification };
}

interface BulkItem {
  hash: string;
  envelope: AuditEnvelope | undefined;
  /** The event as the gateway sent it, when this answer is to its own logBulk with verbose. */
  sent: PreparedItem | undefined;
}

/** A v2/log answer, with the events as sent when the gateway asked for their envelopes itself. */
export type BulkOutcome = LogBulkResult & { sent?: readonly PreparedItem[] };

function bulkHashStatus(item: BulkItem): VerificationStatus {
  if (!item.envelope) return item.sent ? 'FAIL' : 'NONE';
  if (item.sent && storedUnlike(item.envelope, item.sent) !== undefined) return 'FAIL';
  return verifyEnvelopeHashNative(item.envelope, item.hash).status;
}

const LogBulkItemRef = builder.objectRef<BulkItem>('LogBulkItem').implement({
  description: 'One event of a bulk log, in input order.',
  fields: (t) => ({
    hash: t.exposeString('hash', { description: 'The event hash.' }),
    envelope: t.field({ type: 'JSON', nullable: true, description: 'The stored envelope (verbose).', resolve: (i) => i.envelope ?? null }),
    hashVerification: t.field({
      type: VerificationStatusEnum,
      description:
        'The envelope holds the event as sent (fields, signature, public key; checked where this gateway sent it) and hashes to the hash. NONE when not verbose; FAIL when verbose was asked for and the envelope withheld.',
      resolve: bulkHashStatus,
    }),
    signatureVerification: t.field({
      type: VerificationStatusEnum,
      description: 'The stored signature verifies, by a trusted key when they are listed (NONE when unsigned, unless TRUSTED_SIGNING_KEYS_FILE requires a signature, or not verbose).',
      resolve: (i, _args, ctx) => (i.envelope ? storedSignature(ctx, i.envelope).status : 'NONE'),
    }),
  }),
});

export const LogBulkResultRef = builder.objectRef<BulkOutcome>('LogBulkResult').implement({
  description: 'The events of a bulk log as stored.',
  fields: (t) => ({
    count: t.int({ description: 'How many events were stored.', resolve: (r) => r.results.length }),
    results: t.field({
      type: [LogBulkItemRef],
      description: 'One entry per event, in input order.',
      resolve: (r) => r.results.map((x, index) => ({ hash: x.hash, envelope: x.envelope, sent: r.sent?.[index] })),
    }),
  }),
});

const MAX_BULK = 1000;

export function bulkItems(ctx: GraphQLContext, events: ReadonlyArray<Record<string, unknown>>): Array<{ event: Record<string, unknown> }> {
  if (events.length === 0) throw new InputError('events must hold at least one event', 'events');
  if (events.length > MAX_BULK) throw new InputError(`events may hold at most ${MAX_BULK} events`, 'events');
  return events.map((e) => ({ event: applyTenant(ctx.caller, toWireEvent(e)) }));
}

builder.mutationFields((t) => ({
  log: t.field({
    type: LogResultRef,
    description: 'Logs one event of the standard schema.',
    authScopes: { 'audit:log': true },
    errors: { types: [...WRITE_ERRORS] },
    nullable: true,
    args: {
      event: t.arg({ type: AuditEventInput, required: true, description: 'The event.' }),
      options: t.arg({ type: LogOptionsInput, description: 'verbose / verify / signLocal.' }),
    },
    resolve: (_root, { event, options }, ctx) => logOne(ctx, toWireEvent(event as EventInputShape), options),
  }),
  logEvent: t.field({
    type: LogResultRef,
    description: 'Logs one event of any schema (for custom schemas): fields as a JSON object.',
    authScopes: { 'audit:log': true },
    errors: { types: [...WRITE_ERRORS] },
    nullable: true,
    args: {
      event: t.arg({ type: 'JSON', required: true, description: 'The event object.' }),
      options: t.arg({ type: LogOptionsInput, description: 'verbose / verify / signLocal.' }),
    },
    resolve: (_root, { event, options }, ctx) => {
      if (event === null || typeof event !== 'object' || Array.isArray(event)) throw new InputError('event must be a JSON object of fields', 'event');
      // The audit client rebuilds events by assignment, where "__proto__" would silently vanish
      // (the event would be logged without it): refuse it instead of losing it.
      if (Object.hasOwn(event, '__proto__')) throw new InputError('an event field may not be called "__proto__"', 'event.__proto__');
      return logOne(ctx, event as Record<string, unknown>, options);
    },
  }),
  logBulk: t.field({
    type: LogBulkResultRef,
    description: 'Logs up to 1000 events of the standard schema in one request.',
    authScopes: { 'audit:log': true },
    errors: { types: [...WRITE_ERRORS] },
    nullable: true,
    args: {
      events: t.arg({ type: [AuditEventInput], required: true, description: 'The events, 1..1000.' }),
      options: t.arg({ type: LogOptionsInput, description: 'verbose / signLocal (verify applies to single logs).' }),
    },
    resolve: async (_root, { events, options }, ctx) => {
      const items = bulkItems(ctx, events);
      const sign = signerFor(ctx, options);
      const verbose = (options?.verbose ?? false) || (options?.verify ?? false);
      // With verbose, each stored envelope is compared with its event as sent (sent-event.ts).
      let sent: PreparedItem[] | undefined;
      const { result } = await upstreamWrite(() => {
        sent = verbose ? items.map((item) => ctx.client.prepareItem(item, { sign })) : undefined;
        return ctx.client.logBulk({ events: sent ?? items, verbose }, { signal: ctx.signal, sign });
      });
      return sent ? { ...result, sent } : result;
    },
  }),
}));

export { signerFor, type EventInputShape, type LogOptionsShape };
