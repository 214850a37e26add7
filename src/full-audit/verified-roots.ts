// The roots the gateway's integrity monitor verified, from its signed state file
// (src/trust/state-file.ts, the only code that knows that file's format): the first and the latest
// root of its verified history.
import { readFileSync } from 'node:fs';
import { readStateFile } from '../trust/state-file.js';

export interface VerifiedRoot {
  size: number;
  rootHash: string;
}

/** The upstream the file names, to accept whichever it is; '' when it cannot tell (readStateFile then says why). */
function upstreamNamedIn(path: string): string {
  try {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { upstream?: unknown } | null;
    return typeof saved?.upstream === 'string' ? saved.upstream : '';
  } catch {
    return '';
  }
}

/**
 * The verified roots in the integrity state file at `path`, signed under `key`, smallest first:
 * none when there is no file or it is the unsigned earlier format (which anchors nothing, so it
 * cannot stand for what the gateway verified); throws an Error saying why when the file exists
 * but cannot be believed (unreadable, rewritten, signed with another key, malformed).
 * `upstreamId`, when given, is the upstream the monitor names in the file ("embedded", or the
 * base URL): a file saved for another upstream holds no root of this one (the monitor starts a
 * new chain then too); undefined accepts whichever upstream the file names. `marks`: as
 * readStateFile's (an earlier copy put back is refused).
 */
export function readVerifiedRoots(path: string, key: Buffer, upstreamId?: string, marks?: string): VerifiedRoot[] {
  const loaded = readStateFile(path, key, upstreamId ?? upstreamNamedIn(path), marks);
  switch (loaded.kind) {
    case 'missing':
    case 'unsigned':
      return [];
    case 'refused':
      throw new Error(loaded.reason);
    case 'loaded': {
      const roots: VerifiedRoot[] = [];
      for (const root of [loaded.state.first, loaded.state.latest]) {
        if (root && !roots.some((r) => r.size === root.size && r.rootHash === root.rootHash)) roots.push({ size: root.size, rootHash: root.rootHash });
      }
      return roots.sort((a, b) => a.size - b.size);
    }
  }
}
