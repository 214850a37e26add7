// Which B-tree indexes the events table carries for tenant restrictions: none for a `string`
// tenant_id, which the trigram index covers (restricted searches narrow through it, off the
// append path), one for a tenant_id the trigram index leaves out. A data directory from before,
// with the B-tree on a `string` tenant_id, loses it on open and its restricted searches still
// find exactly the tenant's events, through the trigram index for the leaves it covers and by
// scanning the rest.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { STANDARD_SCHEMA, type AuditSchema } from '../../src/local-audit/index.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

const TENANT_INDEX = 'events_f_tenant_id';
const TENANTS = ['tenant-north', 'tenant-south', 'ab'];

function indexesOf(svc: TestService): string[] {
  return svc.log.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name`).pluck().all() as string[];
}

async function logTenantEvents(svc: TestService, count: number, from = 0): Promise<void> {
  const events = Array.from({ length: count }, (_, j) => ({ event: { message: `m${from + j}`, tenant_id: TENANTS[(from + j) % TENANTS.length]! } }));
  const r = await svc.post<Json>('v2/log', { events });
  expect(r.status).toBe('Success');
}

/** Every event of the tenant (the result set holds them all: fewer than max_results), newest first. */
async function tenantMessages(svc: TestService, tenant: string): Promise<string[]> {
  const r = await svc.post<Json>('v1/search', { query: '', search_restriction: { tenant_id: [tenant] }, limit: 1000, verbose: true });
  expect(r.status).toBe('Success');
  expect(r.result.count).toBe(r.result.events.length);
  return r.result.events.map((e: Json) => {
    expect(e.envelope.event.tenant_id).toBe(tenant);
    return e.envelope.event.message as string;
  });
}

function expectedMessages(total: number, tenant: string): string[] {
  const out: string[] = [];
  for (let i = total - 1; i >= 0; i--) if (TENANTS[i % TENANTS.length] === tenant) out.push(`m${i}`);
  return out;
}

test('a string tenant_id has no B-tree index: the trigram index narrows restricted searches', async () => {
  const svc = await startTestService({ prefilterMinEvents: 0 });
  try {
    expect(indexesOf(svc)).not.toContain(TENANT_INDEX);
    // The other column indexes stay: range comparisons on the datetime field.
    expect(indexesOf(svc)).toContain('events_f_timestamp');
    await logTenantEvents(svc, 90);
    await svc.trigramsIndexed();
    for (const tenant of TENANTS) expect(await tenantMessages(svc, tenant)).toEqual(expectedMessages(90, tenant));
  } finally {
    await svc.destroy();
  }
});

test('a data directory from before loses the B-tree on a string tenant_id; restricted searches find the same events', async () => {
  const dataDir = tempDir('audit-tenant-index-');
  const first = await startTestService({ dataDir, prefilterMinEvents: 0 });
  await logTenantEvents(first, 60);
  await first.trigramsIndexed();
  await first.close();
  // As an earlier version left it: the B-tree on tenant_id.
  const db = new Database(join(dataDir, 'audit.sqlite'));
  db.exec(`CREATE INDEX "${TENANT_INDEX}" ON events ("f_tenant_id")`);
  db.close();

  const again = await startTestService({ dataDir, prefilterMinEvents: 0 });
  try {
    expect(indexesOf(again)).not.toContain(TENANT_INDEX);
    // Leaves the trigram index covers, and new ones it may not cover yet (scanned).
    await logTenantEvents(again, 30, 60);
    for (const tenant of TENANTS) expect(await tenantMessages(again, tenant)).toEqual(expectedMessages(90, tenant));
    await again.trigramsIndexed();
    for (const tenant of TENANTS) expect(await tenantMessages(again, tenant)).toEqual(expectedMessages(90, tenant));
  } finally {
    await again.destroy();
  }
});

test('a tenant_id the trigram index does not cover keeps its B-tree index', async () => {
  const schema: AuditSchema = {
    ...STANDARD_SCHEMA,
    fields: STANDARD_SCHEMA.fields.map((f) => (f.id === 'tenant_id' ? { ...f, type: 'string-unindexed' as const } : f)),
  };
  const svc = await startTestService({ schema });
  try {
    expect(indexesOf(svc)).toContain(TENANT_INDEX);
    await logTenantEvents(svc, 30);
    for (const tenant of TENANTS) expect(await tenantMessages(svc, tenant)).toEqual(expectedMessages(30, tenant));
  } finally {
    await svc.destroy();
  }
});
