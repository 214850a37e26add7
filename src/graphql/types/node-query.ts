// Query.node and Query.nodes (Relay's refetch by id). The only Node is AuditEvent, and the audit
// API cannot fetch an event by its hash, so its id carries received_at too (event-id.ts): a lookup
// searches that one instant, with the caller's forced restriction and the verification every search
// page gets, and picks the event whose id it is. Not found, or not visible to the caller's tenant,
// is null (Relay's contract, and another tenant's event is indistinguishable from none); an id that
// is not an AuditEvent id at all is null plus an INPUT error, so a client bug is not silent.
// These are the gateway's own fields, not the relay plugin's: the plugin decodes every id before
// any resolver runs, so one undecodable id in nodes(ids:) would fail the whole non-null list.
import { brandWithType, createContextCache } from '@pothos/core';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { InputError } from '../errors.js';
import { auditEventKey, parseAuditEventKey, type AuditEventKey } from '../event-id.js';
import { AuditEventRef, type AuditEventNode } from './audit-event.js';
import { NodeRef } from './node.js';
import { eventsReceivedAt, pagingFailure } from './search.js';

/** nodes(ids:) looks up at most this many ids (each distinct instant is one search). */
const MAX_IDS = 100;
/** What one lookup costs in the complexity limit, besides the fields selected: a search. */
const LOOKUP_COST = 5;

/** One search per instant per request: ids received at the same instant share it. */
const searchesByInstant = createContextCache<Map<string, Promise<AuditEventNode[]>>, GraphQLContext>(() => new Map());

/** The key of an AuditEvent global id, or a GraphQL INPUT error naming `argument`. */
function eventKeyOf(id: string, argument: string): AuditEventKey {
  let decoded: { typename: string; id: string } | undefined;
  try {
    decoded = decodeGlobalID(id);
  } catch {
    decoded = undefined;
  }
  const key = decoded?.typename === AuditEventRef.name ? parseAuditEventKey(decoded.id) : null;
  if (key === null) {
    throw pagingFailure(new InputError(`${argument} is not an AuditEvent id from this gateway (the id field of an AuditEvent that search or auditEvents returned)`, argument));
  }
  return key;
}

/** The event an id names, verified, or null when the caller cannot see such an event. */
async function lookUp(ctx: GraphQLContext, id: string, argument: string): Promise<AuditEventNode | null> {
  const key = eventKeyOf(id, argument);
  const searches = searchesByInstant(ctx);
  let events = searches.get(key.receivedAt);
  if (!events) {
    events = eventsReceivedAt(ctx, key.receivedAt);
    searches.set(key.receivedAt, events);
  }
  const wanted = `${key.receivedAt}|${key.hash}`;
  const found = (await events).find((node) => auditEventKey(node.event) === wanted);
  if (!found) return null;
  // The Node interface resolves its type from this brand (the node objects carry no __typename).
  brandWithType(found, AuditEventRef);
  return found;
}

builder.queryFields((t) => ({
  node: t.field({
    type: NodeRef,
    nullable: true,
    description:
      'The object with this global id (Relay refetch). An AuditEvent is found by searching the instant it was received (its id carries received_at and hash), so it costs one search; it comes with the same restriction and verification as on a search page. Null when no event you may see has that id; an id that is not an AuditEvent id is null plus an error with extensions.code INPUT.',
    authScopes: { 'audit:search': true },
    complexity: { field: LOOKUP_COST },
    args: { id: t.arg.id({ required: true, description: 'A global id, as an AuditEvent\'s id field gave it.' }) },
    resolve: (_root, args, ctx) => lookUp(ctx, String(args.id), 'id'),
  }),
  nodes: t.field({
    type: [NodeRef],
    // Nullable like every root field: a refused or failed nodes must not null the whole data.
    nullable: { list: true, items: true },
    description: `node(id:) for several ids, in their order (at most ${MAX_IDS}); ids received at the same instant share one search. Each entry is null as node(id:) would be, an invalid id with its own INPUT error at that entry.`,
    authScopes: { 'audit:search': true },
    complexity: (args) => ({ field: LOOKUP_COST * Math.max(1, args.ids.length), multiplier: Math.max(1, Math.min(args.ids.length, MAX_IDS)) }),
    args: { ids: t.arg.idList({ required: true, description: 'Global ids, as AuditEvent id fields gave them.' }) },
    resolve: (_root, args, ctx) => {
      if (args.ids.length > MAX_IDS) throw pagingFailure(new InputError(`ids: at most ${MAX_IDS} ids per request`, 'ids'));
      return args.ids.map((id) => lookUp(ctx, String(id), 'ids'));
    },
  }),
}));
