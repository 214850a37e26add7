// The verified history's anchor on disk: the first and the latest verified roots, signed with an
// HMAC under a key kept apart from the data directory (INTEGRITY_KEY_FILE), so that whoever can
// rewrite the audit service's storage cannot also rewrite what the gateway remembers having
// verified. A file that does not verify is refused, never believed; an unsigned one (the earlier
// format) anchors nothing.
//
// A signature shows who wrote a file, not that it is the last one written: an earlier copy, kept
// by whoever can write the data directory and put back after they rewrote the log past it, would
// verify too (and carry no contradiction found since). So every save also leaves a mark beside the
// key (stateMarksDir): the signatures of the last two files saved for that state file and
// upstream, and any contradiction ever saved there. A file whose signature is not one of those
// two is refused; a contradiction in the mark stays, whatever the file says. Two, because the
// mark is written before the file is renamed into place: a crash between them leaves the one
// before in place, and it must still load.
//
// The mark also keeps the count of tampering evidence (answers that showed tampering without
// contradicting a root): evidence must outlive a restart, and whoever can put back a state file
// or wipe the data directory must not be able to clear it.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { canonicalJson } from '../merkle/index.js';
import type { AnchorKind, LastLeaf, VerifiedRoot } from './verified-history.js';

export interface SavedHistory {
  upstream: string;
  treeName: string | undefined;
  anchor: AnchorKind;
  first: VerifiedRoot | null;
  latest: VerifiedRoot | null;
  /** Why the upstream was found serving another history, if it was (it stays found). */
  contradiction: string | null;
  savedAt: string;
}

type LoadedState =
  | { kind: 'missing' }
  | { kind: 'loaded'; state: SavedHistory }
  /** Exists but cannot be believed: rewritten, signed with another key, malformed. */
  | { kind: 'refused'; reason: string }
  /** The unsigned format of earlier versions: it anchors nothing. */
  | { kind: 'unsigned'; reason: string };

const VERSION = 2;

/** Where the key lives unless INTEGRITY_KEY_FILE says otherwise: the user's config dir, not DATA_DIR. */
export function defaultIntegrityKeyFile(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'audit-gateway', 'integrity-key');
}

/** Where the marks of saved state files live: beside the key, out of the data directory's reach. */
export function stateMarksDir(integrityKeyFile: string): string {
  return join(dirname(integrityKeyFile), 'state-marks');
}

/** Reads the HMAC key, creating it (32 random bytes, owner-only) on first use. */
export function loadOrCreateIntegrityKey(file: string): Buffer {
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`the integrity key file ${file} must hold 64 hex characters`);
    return Buffer.from(text, 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  // 'wx': two processes starting at once must not each write a key of their own.
  try {
    writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateIntegrityKey(file);
    throw err;
  }
  return key;
}

function mac(key: Buffer, payload: unknown): string {
  return createHmac('sha256', key).update(canonicalJson(payload)).digest('hex');
}

function isRoot(value: unknown): value is VerifiedRoot {
  if (value === null || typeof value !== 'object') return false;
  const root = value as Partial<VerifiedRoot>;
  if (!Number.isSafeInteger(root.size) || (root.size as number) < 1 || typeof root.rootHash !== 'string' || !/^[0-9a-f]{64}$/.test(root.rootHash)) return false;
  if (root.lastLeaf === undefined) return true;
  const leaf = root.lastLeaf as Partial<LastLeaf> | null;
  return leaf !== null && typeof leaf === 'object' && typeof leaf.hash === 'string' && typeof leaf.receivedAt === 'string';
}

/**
 * The state saved in `file` for `upstream`, believed only if it verifies under `key` and, when
 * `marks` is given, is the last (or the one before the last) saved there.
 */
export function readStateFile(file: string, key: Buffer, upstream: string, marks?: string): LoadedState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return { kind: 'refused', reason: `the integrity state file ${file} cannot be read (${(err as Error).message})` };
    // No file, but a contradiction found before one could be saved (an unanchored log whose full
    // audit found problems) stays found: the mark keeps it.
    const mark = marks === undefined ? undefined : readMark(marks, file, upstream, key);
    if (mark?.kind === 'refused') return { kind: 'refused', reason: mark.reason };
    if (mark?.kind === 'mark' && mark.contradiction !== null) {
      return { kind: 'refused', reason: `${mark.contradiction} (found before the history was anchored, and kept in ${markFile(marks!, file, upstream)}: remove that mark once resolved)` };
    }
    return { kind: 'missing' };
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
  } catch {
    return { kind: 'refused', reason: `the integrity state file ${file} is not valid JSON` };
  }
  if (parsed.version === 1) return { kind: 'unsigned', reason: `the integrity state file ${file} is unsigned (an earlier format) and anchors nothing` };
  const { mac: signature, ...payload } = parsed;
  if (parsed.version !== VERSION || typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) {
    return { kind: 'refused', reason: `the integrity state file ${file} is not a signed state file of version ${VERSION}` };
  }
  const expected = Buffer.from(mac(key, payload), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return { kind: 'refused', reason: `the integrity state file ${file} does not carry a valid signature under the integrity key: it was rewritten (or the key changed)` };
  }
  const state = payload as Partial<SavedHistory> & { version: number };
  const anchors: AnchorKind[] = ['state-file', 'empty-log', 'trust-on-first-use', 'full-audit'];
  if (
    typeof state.upstream !== 'string' ||
    !anchors.includes(state.anchor as AnchorKind) ||
    (state.first !== null && !isRoot(state.first)) ||
    (state.latest !== null && !isRoot(state.latest)) ||
    (state.treeName !== undefined && typeof state.treeName !== 'string') ||
    (state.contradiction !== null && typeof state.contradiction !== 'string')
  ) {
    return { kind: 'refused', reason: `the integrity state file ${file} is malformed` };
  }
  if (state.upstream !== upstream) return { kind: 'missing' };
  if (marks === undefined) return { kind: 'loaded', state: state as SavedHistory };
  const mark = readMark(marks, file, upstream, key);
  if (mark.kind === 'missing') return { kind: 'loaded', state: state as SavedHistory };
  if (mark.kind === 'refused') return { kind: 'refused', reason: mark.reason };
  if (!mark.macs.includes(signature)) {
    return { kind: 'refused', reason: `the integrity state file ${file} is not the last one the gateway saved there (its mark in ${marks} says otherwise): an earlier copy was put back` };
  }
  return { kind: 'loaded', state: { ...(state as SavedHistory), contradiction: state.contradiction ?? mark.contradiction } };
}

/**
 * Tampering that contradicted no root (an answer holding another tenant's events, an event gone
 * from a result set), counted over every run of the gateway: evidence the upstream misbehaved must
 * not vanish with a restart, or with the state file put back.
 */
export interface TamperingRecord {
  count: number;
  /** What the last report said, and when it was made (RFC 3339). */
  last: string;
  lastAt: string;
}

interface MarkContent {
  /** The signatures of the file saved last and of the one before it. */
  macs: string[];
  contradiction: string | null;
  tampering: TamperingRecord | null;
}

interface Mark extends MarkContent {
  kind: 'mark';
}

function markFile(marks: string, file: string, upstream: string): string {
  const id = createHash('sha256').update(resolve(file)).update('\0').update(upstream).digest('hex').slice(0, 32);
  return join(marks, `${id}.json`);
}

function readMark(marks: string, file: string, upstream: string, key: Buffer): Mark | { kind: 'missing' } | { kind: 'refused'; reason: string } {
  const path = markFile(marks, file, upstream);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'refused', reason: `the integrity state mark ${path} cannot be read: ${(err as Error).message}` };
  }
  const { mac: signature, ...payload } = parsed ?? {};
  const macs = payload.macs;
  const contradiction = payload.contradiction;
  // Marks written before tampering was kept have no such key: none was kept.
  const tampering = payload.tampering ?? null;
  if (
    typeof signature !== 'string' ||
    !/^[0-9a-f]{64}$/.test(signature) ||
    !timingSafeEqual(Buffer.from(mac(key, payload), 'hex'), Buffer.from(signature, 'hex')) ||
    !Array.isArray(macs) ||
    !macs.every((m) => typeof m === 'string') ||
    (contradiction !== null && typeof contradiction !== 'string') ||
    (tampering !== null && !isTamperingRecord(tampering))
  ) {
    return { kind: 'refused', reason: `the integrity state mark ${path} does not carry a valid signature under the integrity key` };
  }
  return { kind: 'mark', macs, contradiction, tampering };
}

function isTamperingRecord(value: unknown): value is TamperingRecord {
  const record = value as Partial<TamperingRecord> | null;
  return (
    record !== null &&
    typeof record === 'object' &&
    Number.isSafeInteger(record.count) &&
    (record.count as number) >= 1 &&
    typeof record.last === 'string' &&
    typeof record.lastAt === 'string'
  );
}

/**
 * The tampering kept in the mark of `file` for `upstream`: null when none was kept (or there is
 * no mark); refused when the mark does not verify (the caller reports that, as for a state file).
 */
export function readTamperingMark(marks: string, file: string, upstream: string, key: Buffer): { kind: 'kept'; tampering: TamperingRecord | null } | { kind: 'refused'; reason: string } {
  const mark = readMark(marks, file, upstream, key);
  if (mark.kind === 'refused') return mark;
  return { kind: 'kept', tampering: mark.kind === 'mark' ? mark.tampering : null };
}

/**
 * Adds `reports` tamperings to the mark of `file` (the last of them `last`, made at `lastAt`). The
 * count only grows: reports are added to what the mark holds, so a second gateway process writing
 * the same mark loses none of its own.
 */
export async function addTamperingMark(file: string, key: Buffer, upstream: string, marks: string, reports: number, last: string, lastAt: string): Promise<TamperingRecord> {
  let kept: TamperingRecord | undefined;
  await updateMark(marks, file, upstream, key, (held) => {
    kept = { count: (held.tampering?.count ?? 0) + reports, last, lastAt };
    return { ...held, tampering: kept };
  });
  return kept!;
}

/**
 * Keeps a contradiction found while there is no state to save (the history has no anchor): in the
 * mark alone, which readStateFile then reports while the state file is missing.
 */
export async function writeContradictionMark(file: string, key: Buffer, upstream: string, contradiction: string, marks: string): Promise<void> {
  await updateMark(marks, file, upstream, key, (held) => ({ ...held, contradiction: held.contradiction ?? contradiction }));
}

/**
 * Rewrites the mark of `file` as `change` makes it from what it held (nothing, when there was no
 * mark or it did not verify). Callers keep a contradiction it held: the first one found stays.
 */
async function updateMark(marks: string, file: string, upstream: string, key: Buffer, change: (held: MarkContent) => MarkContent): Promise<void> {
  const before = readMark(marks, file, upstream, key);
  const held: MarkContent = before.kind === 'mark' ? before : { macs: [], contradiction: null, tampering: null };
  const next = change({ macs: held.macs, contradiction: held.contradiction, tampering: held.tampering });
  // Without tampering the key is left out, as in marks written before it was kept.
  const payload = next.tampering === null ? { macs: next.macs, contradiction: next.contradiction } : next;
  const path = markFile(marks, file, upstream);
  await replaceWith(await writeFlushed(path, JSON.stringify({ ...payload, mac: mac(key, payload) }) + '\n'), path);
}

/** Writes `content` to a temporary file beside `path` and flushes it; returns its name (renamed by the caller). */
async function writeFlushed(path: string, content: string): Promise<string> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return tmp;
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Replaces `path` with `tmp`, or removes `tmp` when that fails. */
async function replaceWith(tmp: string, path: string): Promise<void> {
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Write to a temporary file and flush it, leave the mark (when `marks` is given), rename over the
 * old one: never a half-written state, and never a file the mark does not know.
 */
export async function writeStateFile(file: string, key: Buffer, state: SavedHistory, marks?: string): Promise<void> {
  const payload = JSON.parse(JSON.stringify({ version: VERSION, ...state })) as Record<string, unknown>;
  const signature = mac(key, payload);
  const text = JSON.stringify({ ...payload, mac: signature }, null, 2) + '\n';
  const tmp = await writeFlushed(file, text);
  if (marks !== undefined) {
    try {
      await updateMark(marks, file, state.upstream, key, (held) => {
        const previous = held.macs.at(-1);
        const macs = previous === undefined || previous === signature ? [signature] : [previous, signature];
        return { ...held, macs, contradiction: held.contradiction ?? state.contradiction };
      });
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }
  await replaceWith(tmp, file);
}
