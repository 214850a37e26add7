// Text formats of proofs on the wire (membership paths and consistency items), parsed strictly: a proof that does not
// parse is reported, never thrown.
import { bytesToHex, digestAt, digestFromHex } from './hex.js';

/** One step of a membership path: the sibling is on the left (`l`) or the right (`r`). */
export interface ProofStep {
  side: 'l' | 'r';
  hash: Uint8Array;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Proof strings longer than this are rejected before any work (a 2^64-leaf tree needs 64 steps). */
const MAX_PROOF_STEPS = 256;

const L = 'l'.charCodeAt(0);
const R = 'r'.charCodeAt(0);
const COLON = ':'.charCodeAt(0);
const COMMA = ','.charCodeAt(0);

/**
 * Fast path: reads the steps of text[start..] in place when it is exactly well-formed (every step
 * is "l:" or "r:", 64 hex characters, then a comma or the end), else null. It accepts exactly the
 * strings the step-by-step parser below accepts, which runs only to name what is wrong.
 */
function readSteps(text: string, start: number): ProofStep[] | null {
  const length = text.length - start;
  if ((length + 1) % 67 !== 0) return null;
  const count = (length + 1) / 67;
  const steps = new Array<ProofStep>(count);
  for (let i = 0, at = start; i < count; i++, at += 67) {
    const side = text.charCodeAt(at);
    if ((side !== L && side !== R) || text.charCodeAt(at + 1) !== COLON) return null;
    if (i + 1 < count && text.charCodeAt(at + 66) !== COMMA) return null;
    const hash = digestAt(text, at + 2);
    if (!hash) return null;
    steps[i] = { side: side === L ? 'l' : 'r', hash };
  }
  return steps;
}

/** Parses "l:<hex>,r:<hex>,…" (bottom-up). The empty string is the empty path of a one-leaf tree. */
export function parseMembershipProof(proof: string): Parsed<ProofStep[]> {
  return parseStepsFrom(proof, 0);
}

function parseStepsFrom(text: string, start: number): Parsed<ProofStep[]> {
  if (text.length === start) return { ok: true, value: [] };
  if (text.length - start > MAX_PROOF_STEPS * 67) return { ok: false, reason: 'proof is too long' };
  const fast = readSteps(text, start);
  if (fast) return { ok: true, value: fast };
  const proof = start === 0 ? text : text.slice(start);
  const parts = proof.split(',');
  const steps = new Array<ProofStep>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const side = part.slice(0, 2);
    if (side !== 'l:' && side !== 'r:') {
      return { ok: false, reason: `proof step ${i} has no valid side (expected "l:" or "r:")` };
    }
    const hash = digestFromHex(part.slice(2));
    if (!hash) return { ok: false, reason: `proof step ${i} is not a 32-byte hex digest` };
    steps[i] = { side: side === 'l:' ? 'l' : 'r', hash };
  }
  return { ok: true, value: steps };
}

export function formatMembershipProof(steps: readonly ProofStep[]): string {
  return steps.map((s) => `${s.side}:${bytesToHex(s.hash)}`).join(',');
}

/** One item of a consistency proof: an old-tree subtree root and its path to the new root. */
export interface ConsistencyItem {
  subtree: Uint8Array;
  path: ProofStep[];
}

/** Parses one consistency item "x:<hex>,<side>:<hex>,…". An item without a path is malformed. */
export function parseConsistencyItem(item: string, index: number): Parsed<ConsistencyItem> {
  const comma = item.indexOf(',');
  if (!item.startsWith('x:')) return { ok: false, reason: `consistency item ${index} does not start with "x:"` };
  if (comma < 0) return { ok: false, reason: `consistency item ${index} has no path` };
  const subtree = comma === 66 ? digestAt(item, 2) : null;
  if (!subtree) return { ok: false, reason: `consistency item ${index} subtree is not a 32-byte hex digest` };
  const path = parseStepsFrom(item, comma + 1);
  if (!path.ok) return { ok: false, reason: `consistency item ${index}: ${path.reason}` };
  return { ok: true, value: { subtree, path: path.value } };
}

export function formatConsistencyItem(item: ConsistencyItem): string {
  return itemText(item, bytesToHex);
}

/** "x:<subtree>,<side>:<hash>,…", each hash written by `hex`. */
function itemText(item: ConsistencyItem, hex: (bytes: Uint8Array) => string): string {
  let text = `x:${hex(item.subtree)}`;
  for (const step of item.path) text += `,${step.side}:${hex(step.hash)}`;
  return text;
}

/**
 * Every item of a consistency proof, as formatConsistencyItem makes each. The items' paths climb
 * to the same root through mostly the same siblings (the same hash objects, as consistencyProof
 * builds them), so each hash is written as hex once for the whole proof.
 */
export function formatConsistencyProof(items: readonly ConsistencyItem[]): string[] {
  const hexOf = new Map<Uint8Array, string>();
  const hex = (bytes: Uint8Array): string => {
    let text = hexOf.get(bytes);
    if (text === undefined) hexOf.set(bytes, (text = bytesToHex(bytes)));
    return text;
  };
  return items.map((item) => itemText(item, hex));
}
