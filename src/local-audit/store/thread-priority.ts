// Lowers the priority of the calling thread, for the service's helper threads (searches, the
// trigram indexer) that should give way to the main thread, which commits the appends, when they
// compete for a CPU. Linux keeps a niceness per thread, and /proc/thread-self names this thread's
// id. Elsewhere, or without /proc, the thread keeps the process's priority.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Makes the calling thread `niceness` steps nicer (up to 19); false when it cannot. */
export function lowerThreadPriority(niceness: number): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isSafeInteger(tid) || tid <= 0) return false;
    setPriority(tid, Math.min(19, getPriority(tid) + niceness));
    return true;
  } catch {
    return false;
  }
}
