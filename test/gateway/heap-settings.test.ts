// The gateway process runs without V8's allocation-site pretenuring from the moment its code runs
// (src/gateway/heap-settings.ts, imported first by src/main.ts). V8 prints each allocation site it
// tracks under --trace-pretenuring-statistics; with pretenuring off it tracks none.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayChild } from '../support/gateway-child.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TRACE = '--trace-pretenuring-statistics';
const SITE_LINE = /pretenuring: AllocationSite\(/g;

function workload(mode: 'with-heap-settings' | 'plain'): string {
  const run = spawnSync(process.execPath, [TRACE, '--import', 'tsx', 'test/fixtures/pretenuring-workload.ts', mode], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect([mode, run.status, run.stderr]).toEqual([mode, 0, '']);
  expect(run.stdout).toContain('kept 800000');
  return run.stdout;
}

test('V8 reports the allocation sites it tracks for pretenuring, and none once the heap settings are applied', () => {
  // Without the setting the same workload's literal is tracked and printed: the check below can fail.
  expect(workload('plain').match(SITE_LINE)?.length ?? 0).toBeGreaterThan(0);
  expect(workload('with-heap-settings').match(SITE_LINE)).toBeNull();
}, 120_000);

test('the gateway process tracks no allocation site while it serves requests', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'heap-settings-'));
  const gateway = await startGatewayChild({ DATA_DIR: join(dir, 'data'), INTEGRITY_KEY_FILE: join(dir, 'integrity-key') }, 60_000, [TRACE]);
  // Loading the modules (tsx transpiling them) comes before src/main.ts is evaluated, and V8 may
  // track sites of the loader meanwhile: what counts is everything after the gateway started.
  const started = gateway.output().length;
  try {
    for (let i = 0; i < 200; i++) {
      const logged = await gateway.call('mutation ($e: AuditEventInput!) { log(event: $e) { __typename } }', { e: { message: `heap ${i}`, actor: 'heap-settings' } });
      expect(logged.body.data.log.__typename).toBe('LogResult');
    }
    const found = await gateway.call('{ search(query: "actor:heap-settings", first: 50) { __typename ... on AuditEventConnection { totalCount } } }');
    expect(found.body.data.search.__typename).toBe('AuditEventConnection');
  } finally {
    expect(await gateway.stop()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  }
  expect(gateway.output().slice(started).match(SITE_LINE)).toBeNull();
}, 120_000);
