// Text formats of proofs on the wire (DESIGN.md section 3), parsed strictly: a proof that does not
// parse is reported, never thrown.
import { bytesToHex, digestFromHex } from './hex.js';

/** One step of a membership path: the sibling is on the left (`l`) or the right (`r`). */
export interface ProofStep {
  side: 'l' | 'r';
  hash: Uint8Array;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Proof strings longer than this are rejected before any work (a 2^64-leaf tree needs 64 steps). */
export const MAX_PROOF_STEPS = 256;
export const MAX_CONSISTENCY_ITEMS = 64;

/** Parses "l:<hex>,r:<hex>,…" (bottom-up). The empty string is the empty path of a one-leaf tree. */
export function parseMembershipProof(proof: string): Parsed<ProofStep[]> {
  if (proof === '') return { ok: true, value: [] };
  if (proof.length > MAX_PROOF_STEPS * 67) return { ok: false, reason: 'proof is too long' };
  const parts = proof.split(',');
  const steps: ProofStep[] = new Array(parts.length);
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
  const subtree = digestFromHex(item.slice(2, comma));
  if (!subtree) return { ok: false, reason: `consistency item ${index} subtree is not a 32-byte hex digest` };
  const path = parseMembershipProof(item.slice(comma + 1));
  if (!path.ok) return { ok: false, reason: `consistency item ${index}: ${path.reason}` };
  return { ok: true, value: { subtree, path: path.value } };
}

export function formatConsistencyItem(item: ConsistencyItem): string {
  return `x:${bytesToHex(item.subtree)},${formatMembershipProof(item.path)}`;
}
