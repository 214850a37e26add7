// Request handles: what opens, and what is refused (altered, expired, another secret's, another purpose's).
import { randomBytes } from 'node:crypto';
import { DownloadLinks } from '../../src/auth/download-links.js';
import { JOB_HANDLE_LIFETIME_MS, JobHandles } from '../../src/auth/job-handles.js';

const secret = randomBytes(32);

test('a handle opens to its job on any instance with the same secret, until it expires', () => {
  let now = 1_000_000;
  const handles = new JobHandles(secret, () => now);
  const handle = handles.seal({ upstreamId: 'prq_abc', kind: 'export', callerId: 'admin', tenantId: undefined });
  const tenants = handles.seal({ upstreamId: 'prq_def', kind: 'logBulkAsync', callerId: 't1', tenantId: 't1' });
  expect(handle).not.toContain('prq_abc');
  const replica = new JobHandles(Buffer.from(secret), () => now);
  expect(replica.open(handle)).toEqual({ upstreamId: 'prq_abc', kind: 'export', callerId: 'admin', tenantId: undefined, expiresAtMs: 1_000_000 + JOB_HANDLE_LIFETIME_MS });
  expect(replica.open(tenants)).toMatchObject({ upstreamId: 'prq_def', kind: 'logBulkAsync', callerId: 't1', tenantId: 't1' });
  now += JOB_HANDLE_LIFETIME_MS;
  expect(replica.open(handle)).toBeUndefined();
});

test('altered, truncated, foreign and other-purpose tokens do not open', () => {
  const handles = new JobHandles(secret);
  const handle = handles.seal({ upstreamId: 'prq_abc', kind: 'logBulkAsync', callerId: 'c', tenantId: 't1' });
  for (let i = 0; i < handle.length; i += 7) {
    const altered = handle.slice(0, i) + (handle[i] === 'A' ? 'B' : 'A') + handle.slice(i + 1);
    expect(handles.open(altered)).toBeUndefined();
  }
  expect(handles.open(handle.slice(0, -2))).toBeUndefined();
  expect(handles.open('prq_' + 'x'.repeat(32))).toBeUndefined();
  expect(handles.open('')).toBeUndefined();
  expect(handles.open('x'.repeat(10_000))).toBeUndefined();
  expect(new JobHandles(randomBytes(32)).open(handle)).toBeUndefined();
  // A download link sealed under the same secret is not a handle.
  const link = new DownloadLinks(secret).seal({ upstreamUrl: 'http://x/f', callerId: 'c', tenantId: undefined, format: 'csv', expiresAtMs: Date.now() + 60_000 });
  expect(handles.open(link)).toBeUndefined();
  expect(new DownloadLinks(secret).open(handle)).toEqual({ ok: false, reason: 'invalid' });
});
