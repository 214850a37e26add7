// logEvent against an upstream with a custom event schema (the embedded service started with
// LOCAL_AUDIT_SCHEMA_FILE): events of any field types log with verify, come back from search with
// their typed values, verify once published, and a restriction on an integer field is checked on
// the stored event as the gateway forced it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA } from '../support/custom-schema.js';
import { startTestGateway, tempDir, type Json, type TestGateway } from '../support/gateway.js';


const LOG_EVENT = `mutation L($e: JSON!) { logEvent(event: $e, options: { verify: true }) {
  __typename ... on LogResult { hash envelope verification { hash membership consistency verdict verdictReason verified failures } }
  ... on UpstreamValidationError { fieldErrors { code source } } ... on Error { message } } }`;

describe('logEvent with a custom schema', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const schemaFile = join(tempDir('custom-schema-'), 'schema.json');
    writeFileSync(schemaFile, JSON.stringify(SCHEMA));
    gw = await startTestGateway({ schemaFile });
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('typed fields log with verify, search back verified once published, and an integer restriction is enforced on the stored event', async () => {
    const logged: Json[] = [];
    for (let i = 0; i < 6; i++) {
      const r = (await gw.runOk(LOG_EVENT, { e: { message: `custom ${i}`, who: `w${i % 2}`, count: i, happened_at: '2026-12-04T10:00:00Z', ok: i % 2 === 0 } })).logEvent;
      expect(r.__typename).toBe('LogResult');
      expect(r.envelope.event).toMatchObject({ message: `custom ${i}`, count: i, ok: i % 2 === 0 });
      expect(r.verification).toMatchObject({ hash: 'PASS', membership: 'PASS', failures: [] });
      logged.push(r);
    }
    // Nothing was published before the first logs: they chain to each other only (PENDING).
    expect(logged[0].verification.verdict).toBe('PENDING');
    expect(logged[1].verification).toMatchObject({ consistency: 'PASS', verdict: 'PENDING' });
    expect(logged[1].verification.verdictReason).toMatch(/not yet to a published root/);

    gw.publish();
    const page = (await gw.runOk(`{ search(query: "count>1", order: ASC, searchRestriction: [{field: "count", values: ["2", "3"]}]) {
      ... on AuditEventConnection { foreignEvents edges { node { event published verification { verdict } } } } ... on Error { message } } }`)).search;
    expect(page.foreignEvents).toBe(0);
    expect(page.edges.map((e: Json) => e.node.event.count)).toEqual([2, 3]);
    expect(page.edges.every((e: Json) => e.node.published && e.node.verification.verdict === 'VERIFIED')).toBe(true);

    // After publication the next verified log chains to a published root the gateway verified.
    const after = (await gw.runOk(LOG_EVENT, { e: { message: 'custom after', count: 99 } })).logEvent;
    expect(after.verification).toMatchObject({ consistency: 'PASS', verdict: 'VERIFIED', verified: true });
    // A value of the wrong type is the upstream's typed validation error.
    const bad = (await gw.runOk(LOG_EVENT, { e: { message: 'bad', count: 'many' } })).logEvent;
    expect(bad.__typename).toBe('UpstreamValidationError');
    expect(bad.fieldErrors[0].source).toMatch(/count/);
  });
});
