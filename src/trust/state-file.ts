// The verified history's anchor on disk: the first and the latest verified roots, signed with an
// HMAC under a key kept apart from the data directory (INTEGRITY_KEY_FILE), so that whoever can
// rewrite the audit service's storage cannot also rewrite what the gateway remembers having
// verified. A file that does not verify is refused, never believed; an unsigned one (the earlier
// format) anchors nothing.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
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

export function readStateFile(file: string, key: Buffer, upstream: string): LoadedState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'refused', reason: `the integrity state file ${file} cannot be read (${(err as Error).message})` };
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
  return { kind: 'loaded', state: state as SavedHistory };
}

/** Write to a temporary file, flush it, rename over the old one: never a half-written state. */
export async function writeStateFile(file: string, key: Buffer, state: SavedHistory): Promise<void> {
  const payload = JSON.parse(JSON.stringify({ version: VERSION, ...state })) as Record<string, unknown>;
  const body = { ...payload, mac: mac(key, payload) };
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(body, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
