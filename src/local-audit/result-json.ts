// The JSON text of a page of results — v1/search and v1/results answers, and JSON downloads —
// written around each event's stored envelope text: the envelope's bytes are kept (re-hashing
// them gives `hash` exactly), and no envelope is parsed only to be written back.
//
//   {…head, "count": n, "events": [{envelope, hash, published, leaf_index?, membership_proof?}, …],
//    "root"?: {…published root…}, "unpublished_root"?: {tree_name, size, root_hash}}
//
// `leaf_index` is present for published events only, as the cloud service answers, and left out
// with the proofs on the pages of a search made with `verbose: false`.
import type { PublishedRoot, UnpublishedRoot } from '../wire/index.js';

export interface ResultEvent {
  leafIndex: number;
  /** Lowercase hex. */
  hash: string;
  /** The stored envelope text, exactly what `hash` covers (written by the service: valid JSON). */
  envelopeJson: string;
  published: boolean;
  membershipProof?: string;
  /** True on a page without proofs (a `verbose: false` search): no `leaf_index` either. */
  hideLeafIndex?: boolean;
}

export interface ResultRoots {
  root?: PublishedRoot;
  unpublished_root?: UnpublishedRoot;
}

/**
 * Most bytes of events one page (a v1/search or v1/results answer) may hold. A page is written
 * whole into one string and one buffer: 1000 events of three 32766-character fields of control
 * characters (escaped six bytes each) came to 590 MB, past V8's longest string (a 500), and four
 * such pages at once took the process to gigabytes. Tens of megabytes keep a page well within
 * both while any page of ordinary events, and every page of one event, fits.
 */
export const MAX_PAGE_EVENT_BYTES = 32 * 1024 * 1024;

/**
 * The UTF-8 length of eventJson(event), given the byte length of its envelope text: the rest is
 * ASCII (keys, hex, digits), so its string length is its byte length.
 */
export function eventJsonBytes(event: ResultEvent, envelopeBytes: number): number {
  return envelopeBytes + eventJson({ ...event, envelopeJson: '' }).length;
}

export function eventJson(event: ResultEvent): string {
  // hash and membership_proof are hex, l/r, colons and commas (from the store, store/page-proofs.ts):
  // nothing to escape, so they are quoted directly instead of scanned by JSON.stringify.
  let item = `{"envelope":${event.envelopeJson},"hash":"${event.hash}","published":${event.published}`;
  if (event.published && !event.hideLeafIndex) item += `,"leaf_index":${event.leafIndex}`;
  if (event.membershipProof !== undefined) item += `,"membership_proof":"${event.membershipProof}"`;
  return item + '}';
}

/** A result object: `head`'s members first (id, expires_at, …), then count, events and roots. */
export function resultJson(head: Record<string, unknown>, count: number, events: Iterable<ResultEvent>, roots: ResultRoots = {}): string {
  let out = '{';
  for (const [key, value] of Object.entries(head)) {
    if (value !== undefined) out += `${JSON.stringify(key)}:${JSON.stringify(value)},`;
  }
  out += `"count":${count},"events":[`;
  let first = true;
  for (const event of events) {
    out += (first ? '' : ',') + eventJson(event);
    first = false;
  }
  out += ']';
  if (roots.root) out += `,"root":${JSON.stringify(roots.root)}`;
  if (roots.unpublished_root) out += `,"unpublished_root":${JSON.stringify(roots.unpublished_root)}`;
  return out + '}';
}
