// Who started each request the gateway accepted (logBulkAsync, export), and what kind of job it
// is: pollResult asks the scope of the job's kind, and a tenant-bound caller may only poll its own
// tenant's jobs. The request id handed to clients stays the upstream's id, so this is a map kept
// on disk, next to the integrity state file: a tenant can still poll its job after a restart.
//
// The file is JSON lines, one record appended per accepted request (an append of one short line
// leaves the rest intact; a torn last line is skipped when read). At startup, and whenever the
// file has grown well past what it holds, it is compacted: expired records dropped, rewritten to a
// temporary file, flushed and renamed over the old one. Mode 0600: it names callers and tenants.
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type JobKind = 'logBulkAsync' | 'export';

export interface JobOwner {
  kind: JobKind;
  callerId: string;
  tenantId: string | undefined;
  /** When the record is dropped (ms since epoch): long after the upstream has forgotten the job. */
  expiresAtMs: number;
}

/** How long ownership is kept: upstream jobs and their results are kept for hours, not days. */
export const JOB_OWNERSHIP_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Records kept at most (the oldest go first); about 100 bytes each on disk. */
const MAX_RECORDS = 100_000;
const KINDS: readonly JobKind[] = ['logBulkAsync', 'export'];

interface Line {
  id: string;
  k: JobKind;
  c: string;
  t: string | null;
  e: number;
}

export class JobOwners {
  /** Insertion order = age: the first entry is the oldest. */
  private readonly owners = new Map<string, JobOwner>();
  private linesInFile = 0;

  /** `file` undefined: kept in memory only (nowhere to keep gateway state). */
  constructor(
    private readonly file: string | undefined,
    private readonly now: () => number = Date.now,
  ) {
    if (file === undefined) return;
    this.load(file);
    this.compact(file);
  }

  record(requestId: string, owner: Omit<JobOwner, 'expiresAtMs'>): void {
    const entry: JobOwner = { ...owner, expiresAtMs: this.now() + JOB_OWNERSHIP_RETENTION_MS };
    this.remember(requestId, entry);
    if (this.file === undefined) return;
    if (this.linesInFile > 2 * this.owners.size + 1000) this.compact(this.file);
    else {
      appendFileSync(this.file, lineOf(requestId, entry), { mode: 0o600 });
      this.linesInFile++;
    }
  }

  get(requestId: string): JobOwner | undefined {
    const owner = this.owners.get(requestId);
    if (owner === undefined || owner.expiresAtMs > this.now()) return owner;
    this.owners.delete(requestId);
    return undefined;
  }

  private remember(requestId: string, owner: JobOwner): void {
    this.owners.delete(requestId);
    if (this.owners.size >= MAX_RECORDS) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(requestId, owner);
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const now = this.now();
    for (const raw of text.split('\n')) {
      const line = parseLine(raw);
      if (line && line.e > now) this.remember(line.id, { kind: line.k, callerId: line.c, tenantId: line.t ?? undefined, expiresAtMs: line.e });
    }
  }

  private compact(file: string): void {
    const now = this.now();
    let body = '';
    for (const [id, owner] of this.owners) if (owner.expiresAtMs > now) body += lineOf(id, owner);
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, body);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // Nothing was left behind.
      }
      throw err;
    }
    this.linesInFile = this.owners.size;
  }
}

function lineOf(id: string, owner: JobOwner): string {
  const line: Line = { id, k: owner.kind, c: owner.callerId, t: owner.tenantId ?? null, e: owner.expiresAtMs };
  return JSON.stringify(line) + '\n';
}

function parseLine(raw: string): Line | undefined {
  if (raw.trim() === '') return undefined;
  try {
    const line = JSON.parse(raw) as Partial<Line>;
    if (typeof line.id !== 'string' || !KINDS.includes(line.k as JobKind) || typeof line.c !== 'string') return undefined;
    if ((line.t !== null && typeof line.t !== 'string') || typeof line.e !== 'number') return undefined;
    return line as Line;
  } catch {
    // A line torn by a crash mid-append.
    return undefined;
  }
}
