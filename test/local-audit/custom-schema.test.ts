// The local audit service with a custom event schema: v1/schema returns it, event validation
// follows it (types, sizes, required, unknown fields), search compares its integer and datetime
// fields and skips string-unindexed ones for bare values, and a data directory keeps the schema
// it was created with.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashEnvelope, verifyMembership } from '../../src/merkle/index.js';
import { startLocalAudit, type AuditSchema } from '../../src/local-audit/index.js';
import { SCHEMA } from '../support/custom-schema.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;


let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ schema: SCHEMA });
});
afterAll(async () => {
  await svc.destroy();
});

test('v1/schema returns the custom schema', async () => {
  const r = await svc.post<Json>('v1/schema', {});
  expect(r.status).toBe('Success');
  expect(r.result).toEqual(SCHEMA);
});

describe('validation follows the schema', () => {
  test('a valid event keeps its JSON types in the stored, hashed envelope', async () => {
    const event = { message: 'typed', who: 'ann', count: 7, happened_at: '2024-03-01T10:00:00+02:00', ok: false, note: 'n' };
    const r = await svc.post<Json>('v1/log', { event, verbose: true });
    expect(r.status).toBe('Success');
    expect(r.result.envelope.event).toEqual(event);
    expect(hashEnvelope(r.result.envelope)).toBe(r.result.hash);
    expect(verifyMembership({ hash: r.result.hash, proof: r.result.membership_proof, rootHash: r.result.unpublished_root }).status).toBe('PASS');
  });

  test.each([
    [{ who: 'x' }, 'FieldRequired', '/event/message'],
    [{ message: 'm', count: '5' }, 'BadFormat', '/event/count'],
    [{ message: 'm', count: 5.5 }, 'BadFormat', '/event/count'],
    [{ message: 'm', ok: 'true' }, 'BadFormat', '/event/ok'],
    [{ message: 'm', ok: 1 }, 'BadFormat', '/event/ok'],
    [{ message: 'm', happened_at: 'yesterday' }, 'BadFormat', '/event/happened_at'],
    [{ message: 'm', happened_at: 1700000000 }, 'BadFormat', '/event/happened_at'],
    [{ message: 'm', note: 'x'.repeat(21) }, 'AboveMaxLength', '/event/note'],
    [{ message: 'm', who: 'y'.repeat(11) }, 'AboveMaxLength', '/event/who'],
    [{ message: 'm', actor: 'standard field, not in this schema' }, 'UnexpectedProperty', '/event/actor'],
    [{ message: { nested: true } }, 'BadFormat', '/event/message'],
  ])('v1/log %j -> %s at %s', async (event, code, source) => {
    const before = svc.log.size;
    const r = await svc.post<Json>('v1/log', { event });
    expect(r.http).toBe(400);
    expect(r.status).toBe('ValidationError');
    expect(r.result.errors).toEqual([expect.objectContaining({ code, source })]);
    expect(svc.log.size).toBe(before);
  });

  test('limits are inclusive, and v2/log reports every bad item with its pointer', async () => {
    const fits = await svc.post<Json>('v1/log', { event: { message: 'm', note: 'x'.repeat(20), who: 'y'.repeat(10) } });
    expect(fits.status).toBe('Success');
    const before = svc.log.size;
    const r = await svc.post<Json>('v2/log', {
      events: [{ event: { message: 'fine', count: 1 } }, { event: { count: 'one' } }, { event: { message: 'm', extra: 1 } }],
    });
    expect(r.status).toBe('ValidationError');
    expect(r.result.errors.map((e: Json) => [e.code, e.source]).sort()).toEqual(
      [
        ['FieldRequired', '/events/1/event/message'],
        ['BadFormat', '/events/1/event/count'],
        ['UnexpectedProperty', '/events/2/event/extra'],
      ].sort(),
    );
    expect(svc.log.size).toBe(before);
  });
});

describe('search over custom fields', () => {
  const T = 'cs-search';
  beforeAll(async () => {
    const rows: Array<[number, string, boolean, string]> = [
      [1, '2023-12-31T23:59:59Z', true, 'alpha'],
      [3, '2024-01-15T08:00:00Z', false, 'bravo'],
      [3, '2024-02-01T00:00:00+01:00', true, 'charlie'], // 2024-01-31T23:00:00Z
      [6, '2024-06-30T12:00:00.5Z', true, 'delta'],
      [10, '2025-01-01T00:00:00Z', false, 'echo'],
    ];
    const events = rows.map(([count, happened_at, ok, word]) => ({ event: { message: `${T} ${word}`, who: word, count, happened_at, ok, note: `zz-${word}` } }));
    events.push({ event: { message: `${T} bare`, who: 'none' } as any }); // no count/happened_at/ok
    const r = await svc.post<Json>('v2/log', { events });
    expect(r.status).toBe('Success');
    svc.publishNow();
  });

  const words = async (query: string, extra: Json = {}): Promise<string[]> => {
    const r = await svc.post<Json>('v1/search', { query: `message:"${T}" ${query}`, order: 'asc', limit: 100, ...extra });
    if (r.status !== 'Success') throw new Error(`${query}: ${r.status} ${JSON.stringify(r.result)}`);
    return r.result.events.map((e: Json) => e.envelope.event.who);
  };

  test.each([
    ['count>5', ['delta', 'echo']],
    ['count=3', ['bravo', 'charlie']],
    ['count:3', ['bravo', 'charlie']],
    ['count<3', ['alpha']],
    ['count>=3 count<=6', ['bravo', 'charlie', 'delta']],
    ['-count=3', ['alpha', 'delta', 'echo', 'none']],
    ['happened_at<2024-01-01T00:00:00Z', ['alpha']],
    ['happened_at>2024-01-31T22:00:00Z happened_at<2024-02-01T00:00:00Z', ['charlie']],
    ['happened_at>=2024-06-30T12:00:00.5Z', ['delta', 'echo']],
    ['happened_at:2024-01-31T23:00:00Z', ['charlie']], // equality after normalising the offset
    ['ok:true', ['alpha', 'charlie', 'delta']],
    ['ok:false', ['bravo', 'echo']],
    ['(count>5 OR ok:false) -who:echo', ['bravo', 'delta']],
    ['zz-alpha', []], // a bare value does not look in the string-unindexed note
    ['note:zz-alpha', ['alpha']], // but the field can be named
    ['alpha', ['alpha']], // bare values do search the other string fields
  ])('%s', async (query, expected) => {
    expect(await words(query)).toEqual(expected);
  });

  test('order_by an integer field, and search_restriction on custom fields', async () => {
    expect(await words('', { order_by: 'count', order: 'desc' })).toEqual(['echo', 'delta', 'charlie', 'bravo', 'alpha', 'none']);
    expect(await words('', { search_restriction: { count: [3, 10] } })).toEqual(['bravo', 'charlie', 'echo']);
    expect(await words('', { search_restriction: { ok: [true], who: ['delta', 'alpha', 'bravo'] } })).toEqual(['alpha', 'delta']);
  });

  test.each([
    ['count>many', '"many"'],
    ['ok>1', '">"'],
    ['happened_at<tomorrow', '"tomorrow"'],
    ['actor:bob', '"actor"'],
  ])('%s is BadFormat naming %s', async (query, token) => {
    const r = await svc.post<Json>('v1/search', { query });
    expect(r.status).toBe('ValidationError');
    expect(r.result.errors[0]).toMatchObject({ code: 'BadFormat', source: '/query' });
    expect(r.result.errors[0].detail).toContain(token);
  });
});

describe('the schema belongs to the data directory', () => {
  test('from a JSON file; restart with the same schema works, a different or the standard one fails clearly', async () => {
    const dataDir = tempDir('audit-schema-');
    try {
      const file = join(dataDir, 'schema.json');
      writeFileSync(file, JSON.stringify(SCHEMA, null, 2));
      const first = await startTestService({ dataDir, schema: file });
      try {
        expect((await first.post<Json>('v1/schema', {})).result).toEqual(SCHEMA);
        expect((await first.post<Json>('v1/log', { event: { message: 'kept', count: 2 } })).status).toBe('Success');
      } finally {
        await first.close();
      }
      // The same fields with their keys in another order are the same schema.
      const reordered: AuditSchema = { fields: SCHEMA.fields.map((f) => Object.fromEntries(Object.entries(f).reverse()) as unknown as AuditSchema['fields'][number]) };
      const again = await startTestService({ dataDir, schema: reordered });
      try {
        expect(again.log.size).toBe(1);
        expect((await again.post<Json>('v1/search', { query: 'count=2' })).result.count).toBe(1);
      } finally {
        await again.close();
      }
      const different: AuditSchema = { fields: [...SCHEMA.fields.slice(0, 2), { id: 'count', type: 'string' }, ...SCHEMA.fields.slice(3)] };
      await expect(startLocalAudit({ dataDir, port: 0, token: 't', publishIntervalMs: 0, schema: different })).rejects.toThrow(/different audit schema/);
      await expect(startLocalAudit({ dataDir, port: 0, token: 't', publishIntervalMs: 0 })).rejects.toThrow(/different audit schema/);
      // Still usable with its own schema after the refusals.
      const last = await startTestService({ dataDir, schema: file });
      expect(last.log.size).toBe(1);
      await last.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a malformed schema is refused with a message saying what is wrong', async () => {
    const dataDir = tempDir('audit-schema-bad-');
    try {
      const start = (schema: unknown) => startLocalAudit({ dataDir, port: 0, token: 't', publishIntervalMs: 0, schema: schema as AuditSchema });
      await expect(start({ fields: [{ id: 'x', type: 'float' }] })).rejects.toThrow(/type must be one of/);
      await expect(start({ fields: [] })).rejects.toThrow(/non-empty array/);
      await expect(start({ fields: [{ id: 'x', type: 'string' }, { id: 'x', type: 'text' }] })).rejects.toThrow(/duplicate field id "x"/);
      await expect(start({ fields: [{ id: 'Bad-Id', type: 'string' }] })).rejects.toThrow(/id must match/);
      await expect(start(join(dataDir, 'missing.json'))).rejects.toThrow(/cannot read schema file/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
