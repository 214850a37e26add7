// The service's helper threads that only make searches faster, or run them, give way to the main
// thread (which commits the appends) when they compete for a CPU: Linux keeps a niceness per
// thread, read here from /proc/self/task/<tid>/stat. Each is made nicer before it loads anything,
// so from source the thread tsx's loader starts in it (inheriting the niceness) is nicer too.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { startTestService } from '../support/local-audit.js';

/** Niceness of every thread of this process, by thread id. */
function threadNiceness(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // After the command name: state is field 3 of the line, nice field 19.
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[16]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

const linux = existsSync('/proc/self/task');

(linux ? test : test.skip)('the trigram indexer thread, and each search thread once searches run, runs 10 nicer than the main thread', async () => {
  const before = threadNiceness();
  const main = before.get(process.pid)!;
  const nicer = Math.min(19, main + 10);
  const newNicerThreads = (): number => [...threadNiceness()].filter(([tid, nice]) => !before.has(tid) && nice === nicer).length;
  const service = await startTestService();
  try {
    await service.post('v2/log', { events: [{ event: { message: 'hello', actor: 'alice' } }] });
    await service.trigramsIndexed();
    // No search has run, so no search thread exists yet: the nicer threads are the indexer's
    // (the thread, and from source tsx's loader thread).
    const indexerThreads = newNicerThreads();
    expect([1, 2]).toContain(indexerThreads);
    const found = await service.post<{ events: unknown[] }>('v1/search', { query: 'actor:alice' });
    expect(found.result.events).toHaveLength(1);
    // One search thread started, as many threads as the indexer's.
    expect(newNicerThreads()).toBe(2 * indexerThreads);
    expect(threadNiceness().get(process.pid)).toBe(main);
  } finally {
    await service.destroy();
  }
});
