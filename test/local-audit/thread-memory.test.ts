// Every helper thread of the service (search threads, the trigram indexer) is an isolate of its
// own, and Node 24's V8 sizes each isolate's young generation by the machine's memory (192 MB on
// a machine with 24 GB, against 48 MB on Node 20 and 22). The service starts its helper
// threads with a young generation of 48 MB on every Node version: a real thread, started the way
// the service starts them, reports the limit it runs under.
import { once } from 'node:events';
import { HELPER_THREAD_LIMITS, startModuleWorker } from '../../src/local-audit/store/module-worker.js';

test('a helper thread runs with a 48 MB young generation, whatever the Node version would give it', async () => {
  expect(HELPER_THREAD_LIMITS.maxYoungGenerationSizeMb).toBe(48);
  const worker = startModuleWorker(new URL('./fixtures/report-resource-limits.ts', import.meta.url), { started: 'by the test' }, 0);
  try {
    const [report] = (await once(worker, 'message')) as [{ resourceLimits: { maxYoungGenerationSizeMb: number; maxOldGenerationSizeMb: number }; workerData: unknown }];
    expect(report.workerData).toEqual({ started: 'by the test' });
    expect(report.resourceLimits.maxYoungGenerationSizeMb).toBe(48);
    // Only the young generation is bounded: the old generation keeps V8's default.
    expect(report.resourceLimits.maxOldGenerationSizeMb).toBeGreaterThan(48);
  } finally {
    await worker.terminate();
  }
});
