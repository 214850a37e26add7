// The key of an AuditEvent's global id: "<received_at>|<hash>". The audit API cannot fetch an
// event by its hash, but it can search the instant the event was received, so the id carries both:
// Query.node searches that instant and picks the event by its hash. Not sealed: an id is no
// secret, and the event it finds is verified and restricted like any search result.
import { hashEnvelope } from '../merkle/index.js';
import { normalizeTimestamp } from '../wire/timestamp.js';
import type { SearchEvent } from '../wire/index.js';

/** What the local part of an AuditEvent id names. */
export interface AuditEventKey {
  /** received_at exactly as the envelope stores it. */
  receivedAt: string;
  hash: string;
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * The id key of an event as a search returns it. The upstream's hash, or the gateway's own hash of
 * the stored envelope when the upstream withheld it, so every event has a stable, non-null id; a
 * damaged envelope without received_at gets an empty time (such an id cannot be looked up again).
 */
export function auditEventKey(event: SearchEvent): string {
  const hash = typeof event.hash === 'string' ? event.hash : hashEnvelope(event.envelope ?? null);
  const envelope: unknown = event.envelope;
  const receivedAt = envelope !== null && typeof envelope === 'object' ? (envelope as Record<string, unknown>).received_at : undefined;
  return `${typeof receivedAt === 'string' ? receivedAt : ''}|${hash}`;
}

/**
 * Reads a key back; null unless it names an RFC 3339 instant and a sha256 hash. The hash is the
 * part after the last "|", so a received_at holding one cannot shift it.
 */
export function parseAuditEventKey(key: string): AuditEventKey | null {
  const bar = key.lastIndexOf('|');
  if (bar < 0) return null;
  const receivedAt = key.slice(0, bar);
  const hash = key.slice(bar + 1);
  if (!HASH.test(hash) || normalizeTimestamp(receivedAt) === null) return null;
  return { receivedAt, hash };
}
