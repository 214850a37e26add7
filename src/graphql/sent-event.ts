// Whether the envelope a log's answer carries holds the event the gateway sent. The hash and the
// proofs only show that *some* envelope is in the tree: an upstream that dropped the write, or
// stored the event changed (another message, a tenant removed, a signature stripped), could answer
// with a valid proof of that other envelope. So the stored event is compared with the prepared one
// (normalised, tenant added, signed: exactly the bytes that went out), field by field.
import type { PreparedItem } from '../audit-client/index.js';
import type { AuditEnvelope } from '../wire/index.js';

/** At most this many differing fields are named in a reason. */
const NAMED_FIELDS = 5;

/** Undefined when the envelope holds the event as sent; else why not, for the verdict's reason. */
export function storedUnlike(envelope: AuditEnvelope, sent: PreparedItem): string | undefined {
  const stored = envelope.event as unknown;
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return 'the stored envelope holds no event object';
  const differing = differingFields(stored as Record<string, unknown>, sent.event);
  if (differing.length > 0) {
    const named = differing.slice(0, NAMED_FIELDS).join(', ');
    const more = differing.length > NAMED_FIELDS ? ` and ${differing.length - NAMED_FIELDS} more` : '';
    return `the stored event is not the event sent: ${named}${more} differ`;
  }
  if (envelope.signature !== sent.signature) return sent.signature === undefined ? 'the stored envelope carries a signature the event was not sent with' : 'the stored envelope does not carry the signature sent';
  if (envelope.public_key !== sent.public_key) return sent.public_key === undefined ? 'the stored envelope carries a public key the event was not sent with' : 'the stored envelope does not carry the public key sent';
  return undefined;
}

function differingFields(stored: Record<string, unknown>, sent: Record<string, unknown>): string[] {
  const differing: string[] = [];
  for (const key of Object.keys(sent)) {
    if (!Object.hasOwn(stored, key) || stored[key] !== sent[key]) differing.push(key);
  }
  for (const key of Object.keys(stored)) {
    if (!Object.hasOwn(sent, key)) differing.push(key);
  }
  return differing;
}
