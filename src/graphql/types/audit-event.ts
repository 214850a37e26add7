// AuditEvent: one event of a search page, as stored, with the gateway's own verification.
import type { SearchEvent } from '../../wire/index.js';
import { normalizeTimestamp } from '../../wire/timestamp.js';
import { builder } from '../builder.js';
import { auditEventKey } from '../event-id.js';
import type { PageVerifier } from '../page-verifier.js';
import { STANDARD_GRAPHQL_FIELDS } from '../standard-fields.js';
import { NodeRef } from './node.js';
import { EventVerificationRef } from './verification.js';

/** An event plus the page it came in, so verification runs once per page. */
export interface AuditEventNode {
  event: SearchEvent;
  page: PageVerifier;
  index: number;
}

/**
 * The stored envelope / event when they are JSON objects. The page comes from the upstream and
 * may be corrupt (that is what verification is for): one malformed event must show up as failed
 * checks, not throw in a resolver and null the whole page through the non-null chain.
 */
function storedEnvelope(node: AuditEventNode): Record<string, unknown> {
  const envelope: unknown = node.event.envelope;
  return envelope !== null && typeof envelope === 'object' && !Array.isArray(envelope) ? (envelope as Record<string, unknown>) : {};
}

function storedEvent(node: AuditEventNode): Record<string, unknown> {
  const event = storedEnvelope(node).event;
  return event !== null && typeof event === 'object' && !Array.isArray(event) ? (event as Record<string, unknown>) : {};
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function fieldText(node: AuditEventNode, key: string): string | null {
  const value = storedEvent(node)[key];
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The stored value itself, never parsed or re-serialised: the hash covers it as stored. */
function storedValue(node: AuditEventNode, key: string): unknown {
  return storedEvent(node)[key] ?? null;
}

/** What the output type adds to a standard field's description. */
const OUTPUT_NOTES: Record<(typeof STANDARD_GRAPHQL_FIELDS)[number]['inputType'], string> = {
  String: '',
  JSON: ' Exactly as stored, never parsed: a value logged through this gateway comes back as that canonical JSON string.',
  DateTime: ' Exactly as stored; null when absent or not an RFC 3339 date-time (`event` shows it as stored).',
};

/**
 * A stored value typed DateTime only when it is one: logEvent and logStream store what they are
 * given, and a client's DateTime parser must not meet "yesterday".
 */
function dateTimeOrNull(value: unknown): string | null {
  return typeof value === 'string' && normalizeTimestamp(value) !== null ? value : null;
}

export const AuditEventRef = builder.objectRef<AuditEventNode>('AuditEvent').implement({
  description: 'One audit event exactly as the log stores it, with proofs and the gateway’s own verification.',
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.globalID({
      description:
        'Global id (opaque): base64 of "AuditEvent:<received_at>|<hash>", what Query.node needs to find the event again. When the audit service withheld the hash, the gateway\'s own hash of the stored envelope stands in, so the id stays stable and non-null.',
      resolve: (n) => ({ type: 'AuditEvent', id: auditEventKey(n.event) }),
    }),
    hash: t.string({
      nullable: true,
      description: 'The event hash: sha256 of the canonical envelope (hex); null only when the audit service withheld it (verification then fails).',
      resolve: (n) => (typeof n.event.hash === 'string' ? n.event.hash : null),
    }),
    receivedAt: t.field({ type: 'DateTime', nullable: true, description: 'When the audit service received the event (server clock, microseconds); null only for a damaged envelope.', resolve: (n) => stringOrNull(storedEnvelope(n).received_at) }),
    event: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The event object exactly as stored (what the signature covers); null only when the audit service returned none (verification then fails).',
      resolve: (n) => storedEnvelope(n).event ?? null,
    }),
    envelope: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The whole stored envelope (what the hash covers); null only when the audit service returned none (verification then fails).',
      resolve: (n) => n.event.envelope ?? null,
    }),
    // The standard fields have the types their inputs have (standard-fields.ts): old/new JSON, timestamp DateTime.
    ...Object.fromEntries(
      STANDARD_GRAPHQL_FIELDS.map(({ name, key, description, inputType }) => {
        const options = { nullable: true, description: `${description}${OUTPUT_NOTES[inputType]}` } as const;
        if (inputType === 'JSON') return [name, t.field({ ...options, type: 'JSON', resolve: (n: AuditEventNode) => storedValue(n, key) })];
        if (inputType === 'DateTime') return [name, t.field({ ...options, type: 'DateTime', resolve: (n: AuditEventNode) => dateTimeOrNull(storedEvent(n)[key]) })];
        return [name, t.string({ ...options, resolve: (n: AuditEventNode) => fieldText(n, key) })];
      }),
    ),
    signature: t.string({ nullable: true, description: 'Ed25519 signature (base64) over the canonical event, when signed.', resolve: (n) => stringOrNull(storedEnvelope(n).signature) }),
    publicKey: t.string({ nullable: true, description: 'The public key the event was signed with, as stored.', resolve: (n) => stringOrNull(storedEnvelope(n).public_key) }),
    published: t.boolean({
      nullable: true,
      description: 'Whether the event is covered by a published root; null only when the audit service withheld the flag (verification then fails).',
      resolve: (n) => (typeof n.event.published === 'boolean' ? n.event.published : null),
    }),
    leafIndex: t.int({ nullable: true, description: 'Position in the published tree (published events only).', resolve: (n) => n.event.leaf_index ?? null }),
    membershipProof: t.string({ nullable: true, description: 'The membership proof the upstream returned ("l:<hex>,r:<hex>,…").', resolve: (n) => n.event.membership_proof ?? null }),
    verification: t.field({
      type: EventVerificationRef,
      description: 'Checks the gateway made itself: hash, membership, consistency and signature.',
      resolve: (n) => n.page.verification(n.index),
    }),
  }),
});
