// The job ownership file: what a restarted gateway reads back, what it drops, and how it is kept.
import { appendFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JOB_OWNERSHIP_RETENTION_MS, JobOwners } from '../../src/auth/job-owners.js';
import { tempDir } from '../support/gateway.js';

let dir: string;
beforeEach(() => {
  dir = tempDir('job-owners-');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('records are read back by the next process; a torn last line is skipped; expired records are dropped', () => {
  const file = join(dir, 'state', 'request-owners.jsonl');
  let now = 1_000_000;
  const clock = () => now;
  const first = new JobOwners(file, clock);
  first.record('prq_a', { kind: 'logBulkAsync', callerId: 't1', tenantId: 't1' });
  now += 1000;
  first.record('prq_b', { kind: 'export', callerId: 'admin', tenantId: undefined });
  appendFileSync(file, '{"id":"prq_c","k":"exp');
  expect(statSync(file).mode & 0o777).toBe(0o600);

  const second = new JobOwners(file, clock);
  expect(second.get('prq_a')).toMatchObject({ kind: 'logBulkAsync', callerId: 't1', tenantId: 't1' });
  expect(second.get('prq_b')).toMatchObject({ kind: 'export', callerId: 'admin', tenantId: undefined });
  expect(second.get('prq_c')).toBeUndefined();
  // Opening compacts: the torn line is gone from the file.
  expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);

  now = 1_000_000 + JOB_OWNERSHIP_RETENTION_MS + 500;
  expect(second.get('prq_a')).toBeUndefined();
  expect(second.get('prq_b')).toMatchObject({ kind: 'export' });
  const third = new JobOwners(file, clock);
  expect(third.get('prq_a')).toBeUndefined();
  expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
});

test('the file is compacted as it grows: re-recorded ids do not pile up', () => {
  const file = join(dir, 'request-owners.jsonl');
  const owners = new JobOwners(file);
  for (let i = 0; i < 5000; i++) owners.record(`prq_${i % 10}`, { kind: 'logBulkAsync', callerId: 'c', tenantId: undefined });
  expect(readFileSync(file, 'utf8').trim().split('\n').length).toBeLessThan(1100);
  const reopened = new JobOwners(file);
  for (let i = 0; i < 10; i++) expect(reopened.get(`prq_${i}`)?.kind).toBe('logBulkAsync');
});
