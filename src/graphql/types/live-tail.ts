// Subscription.auditEvents: live tail. Each newly logged matching event is pushed once with the
// gateway's verification; an event pushed PENDING (not yet published) is pushed again, with
// verdictUpdate: true, once it is published, for a bounded time. Every push carries the stream's
// position so far as its resume cursor, so that the last cursor a client received is always the
// one to resume from. A tail ends when the caller's credential expires (a JWT's `exp`): it was
// authenticated once, when it opened.
import { hash as digestOf } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { AuditApiError, ValidationError } from '../../audit-client/errors.js';
import type { GraphQLContext } from '../context.js';
import { whenExpired } from '../../auth/caller.js';
import { ForbiddenError } from '../../auth/errors.js';
import { InputError } from '../errors.js';
import { builder } from '../builder.js';
import { decodeTailCursor, encodeTailCursor } from '../live-tail/cursor.js';
import { hubFor, SlowSubscriberError, type TailItem } from '../live-tail/hub.js';
import type { TailPosition } from '../live-tail/watcher.js';
import { PageVerifier } from '../page-verifier.js';
import { AuditEventRef, type AuditEventNode } from './audit-event.js';
import { checkRestrictionSize, effectiveRestriction, eventsBetween, matchesRestriction, pagingFailure } from './search.js';

/** Default and test-overridable poll interval when the context carries none. */
const DEFAULT_INTERVAL_MS = 1000;
/** How long, and for how many events at once, a PENDING event is re-checked for publication. */
const RECHECK_FOR_MS = 10 * 60 * 1000;
const MAX_RECHECKED = 1000;

interface LiveTailPush {
  node: AuditEventNode;
  cursor: string;
  verdictUpdate: boolean;
}

const LiveTailEventRef = builder.objectRef<LiveTailPush>('LiveTailEvent').implement({
  description: 'One push of a live tail: a newly logged event, or a later verdict for an event first pushed PENDING.',
  fields: (t) => ({
    event: t.field({ type: AuditEventRef, description: 'The event, with the gateway’s verification.', resolve: (p) => p.node }),
    cursor: t.exposeString('cursor', {
      description:
        'Where the stream stands after this push: subscribe again with after: set to the last cursor received to get every matching event not yet pushed, and none already pushed. A verdictUpdate push carries the cursor of the latest event first pushed before it, not one of the updated event.',
    }),
    verdictUpdate: t.exposeBoolean('verdictUpdate', {
      description:
        'False on the first push of the event; true on a later push of an event first pushed PENDING on this subscription, now that it is published (re-checked for up to 10 minutes, for at most 1,000 pending events at once). A resumed subscription pushes no update for events pushed before its after:.',
    }),
  }),
});

function restrictionFromJson(value: unknown): Record<string, string[]> | undefined {
  if (value == null) return undefined;
  const bad = (): GraphQLError =>
    new GraphQLError('searchRestriction must be an object of field name to a list of strings, e.g. {"tenant_id": ["t1"]}', {
      extensions: { code: 'BAD_USER_INPUT', argument: 'searchRestriction' },
    });
  if (typeof value !== 'object' || Array.isArray(value)) throw bad();
  const out = new Map<string, string[]>();
  for (const [field, values] of Object.entries(value)) {
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) throw bad();
    out.set(field, values);
  }
  return out.size === 0 ? undefined : Object.fromEntries(out);
}

function decodeCursor(ctx: GraphQLContext, scope: string, cursor: string): TailPosition {
  try {
    return decodeTailCursor(ctx.cursors, scope, cursor);
  } catch (err) {
    throw new GraphQLError(err instanceof Error ? err.message : 'invalid cursor', { extensions: { code: 'INVALID_CURSOR', argument: 'after' } });
  }
}

/**
 * The service refused the tail's search: the code the auditEvents query gives for the same refusal
 * (UPSTREAM_VALIDATION, UNAUTHORIZED, SERVICE_NOT_ENABLED), with the fields at fault. A refusal the
 * query has no error type for (a 403 the client knows no class of) is UPSTREAM_REFUSED with the
 * service's status, rather than an error masked as unexpected.
 */
function refusedError(err: AuditApiError): GraphQLError {
  const mapped = pagingFailure(err);
  const known = mapped instanceof GraphQLError;
  const fieldErrors =
    err instanceof ValidationError
      ? err.errors.map((e) => ({ code: e.code, detail: e.detail, source: e.source, path: e.path ?? (e.source ? e.source.slice(1).split('/').join('.') : null) }))
      : undefined;
  return new GraphQLError(err.summary, {
    extensions: {
      code: known ? mapped.extensions.code : 'UPSTREAM_REFUSED',
      ...(known ? {} : { status: err.status }),
      requestId: err.requestId,
      ...(fieldErrors ? { fieldErrors } : {}),
    },
  });
}

function nodeOf(ctx: GraphQLContext, item: TailItem): AuditEventNode {
  return { event: item.event, page: new PageVerifier([item.event], item.root, item.unpublishedRoot, ctx), index: 0 };
}

type TailArgs = { query?: string | null; searchRestriction?: unknown; after?: string | null };

/** Checks the caller before any watching starts; refusals are typed FORBIDDEN errors. */
function startTail(ctx: GraphQLContext, args: TailArgs): AsyncGenerator<LiveTailPush> {
  // The scope plugin guards resolve, not subscribe: the event stream itself is checked here.
  if (!ctx.caller.scopes.has('audit:search')) {
    throw new GraphQLError('not authorized: Subscription.auditEvents needs the audit:search scope', { extensions: { code: 'FORBIDDEN' } });
  }
  let restriction;
  try {
    restriction = effectiveRestriction(ctx, restrictionFromJson(args.searchRestriction));
    // The search's bound, before the first poll rather than as its refusal.
    checkRestrictionSize(ctx, restriction, 'searchRestriction');
  } catch (err) {
    if (err instanceof ForbiddenError) throw new GraphQLError(err.message, { extensions: { code: 'FORBIDDEN' } });
    if (err instanceof InputError) throw new GraphQLError(err.message, { extensions: { code: 'BAD_USER_INPUT', argument: err.argument } });
    throw err;
  }
  return liveTail(ctx, args, restriction);
}

async function* liveTail(ctx: GraphQLContext, args: TailArgs, restriction: Record<string, string[]> | undefined): AsyncGenerator<LiveTailPush> {
  const query = args.query ?? '';
  // The scope ties cursors to this query and restriction (the caller's tenant included).
  const scope = 'tail:' + digestOf('sha256', JSON.stringify([query, restriction ?? null]), 'base64url').slice(0, 16);
  const from = args.after ? decodeCursor(ctx, scope, args.after) : undefined;
  const intervalMs = ctx.liveTailIntervalMs ?? DEFAULT_INTERVAL_MS;
  const key = JSON.stringify([query, restriction ?? null, from ?? null]);
  // The hub's subscription ends on its signal (a pending pull then resolves done): when the
  // request goes away or the credential expires.
  const stop = new AbortController();
  const onRequestAbort = (): void => stop.abort();
  if (ctx.signal.aborted) stop.abort();
  else ctx.signal.addEventListener('abort', onRequestAbort, { once: true });
  let expired = false;
  const cancelExpiry = whenExpired(ctx.caller, () => {
    expired = true;
    stop.abort();
  });
  const events = hubFor(ctx.client).subscribe({ key, query, intervalMs, ...(restriction ? { restriction } : {}), ...(from ? { from } : {}) }, stop.signal);
  const pending = new Map<string, Pending>();
  // The cursor of the latest event first pushed: a verdict update is pushed after later events, and
  // its cursor must not send a resuming client back before them.
  let position: string | undefined;
  // When the pending events are next re-checked: one interval after the last re-check, however
  // many new events arrive meanwhile.
  let recheckAt = 0;
  let next = events.next();
  try {
    while (!ctx.signal.aborted) {
      if (pending.size === 0) recheckAt = 0;
      else if (recheckAt === 0) recheckAt = Date.now() + intervalMs;
      let timer: NodeJS.Timeout | undefined;
      const tick = pending.size > 0 ? new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), Math.max(0, recheckAt - Date.now())))) : new Promise<never>(() => {});
      const got = await Promise.race([next, tick]);
      clearTimeout(timer);
      if (expired) throw tokenExpired();
      if (got === 'tick') {
        recheckAt = Date.now() + intervalMs;
        // Only events first pushed here are pending, so there is a position.
        if (position !== undefined) yield* recheck(ctx, query, restriction, pending, position);
        continue;
      }
      if (got.done) return;
      next = events.next();
      const item = got.value;
      // Checked on the envelope too: an upstream that ignores the restriction must not leak events.
      if (restriction && !matchesRestriction(item.event, restriction)) {
        ctx.integrity?.reportTampering(`the audit service returned an event outside the restriction ${JSON.stringify(restriction)} to a live tail`);
        continue;
      }
      position = encodeTailCursor(ctx.cursors, scope, item.position);
      if (!item.event.published && pending.size < MAX_RECHECKED) {
        pending.set(item.event.hash, { receivedAt: item.event.envelope.received_at, until: Date.now() + RECHECK_FOR_MS });
      }
      yield { node: nodeOf(ctx, item), cursor: position, verdictUpdate: false };
    }
  } catch (err) {
    if (err instanceof SlowSubscriberError) throw new GraphQLError(err.message, { extensions: { code: 'SLOW_SUBSCRIBER' } });
    if (err instanceof AuditApiError) throw refusedError(err);
    throw err;
  } finally {
    cancelExpiry();
    ctx.signal.removeEventListener('abort', onRequestAbort);
    await events.return(undefined);
  }
}

function tokenExpired(): GraphQLError {
  return new GraphQLError('not authenticated: the credential has expired; subscribe again with a new one and after: set to the last cursor received', {
    extensions: { code: 'UNAUTHENTICATED' },
  });
}

interface Pending {
  receivedAt: string;
  until: number;
}

/**
 * Pushes again the pending events that are now published, from one search over the time they
 * span (with the tail's own query and restriction), and forgets those past their time. Each push
 * carries `position`, the stream's cursor: resuming from it repeats none of the events first
 * pushed since the updated one.
 */
async function* recheck(
  ctx: GraphQLContext,
  query: string,
  restriction: Record<string, string[]> | undefined,
  pending: Map<string, Pending>,
  position: string,
): AsyncGenerator<LiveTailPush> {
  let start = '';
  let end = '';
  for (const p of pending.values()) {
    if (start === '' || p.receivedAt < start) start = p.receivedAt;
    if (p.receivedAt > end) end = p.receivedAt;
  }
  const nodes = await eventsBetween(ctx, { query, start, end, ...(restriction ? { restriction } : {}) }).catch(() => []);
  const byHash = new Map(nodes.map((n) => [n.event.hash, n]));
  const now = Date.now();
  for (const [hash, p] of pending) {
    const node = byHash.get(hash);
    if (node?.event.published) {
      pending.delete(hash);
      yield { node, cursor: position, verdictUpdate: true };
    } else if (now > p.until) pending.delete(hash);
  }
}

builder.subscriptionType({ description: 'Live pushes: newly logged events as they arrive.' });

builder.subscriptionField('auditEvents', (t) =>
  t.field({
    type: LiveTailEventRef,
    description:
      'Live tail: pushes each newly logged event matching query and searchRestriction, with its verification, in received_at order. An event first pushed PENDING is pushed again (verdictUpdate: true) once published. Resume with after: set to the last cursor received, whichever push carried it.',
    authScopes: { 'audit:search': true },
    args: {
      query: t.arg.string({ description: 'Search terms, as for Query.search (default: every event).' }),
      searchRestriction: t.arg({ type: 'JSON', description: 'Exact-match restrictions: {"field": ["value", …]}; a tenant-bound caller is held to its tenant.' }),
      after: t.arg.string({
        description: 'The cursor of a push of this query and searchRestriction (any push, verdictUpdate ones too): pushes the matching events after the latest event first pushed up to that push, none of those again.',
      }),
    },
    subscribe: (_root, args, ctx) => startTail(ctx, args),
    resolve: (push) => push,
  }),
);
