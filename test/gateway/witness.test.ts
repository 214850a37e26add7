// The witness end to end: a gateway configured with ROOT_WITNESS pointing at an Arweave-shaped
// server (real HTTP) that holds copies of the roots the embedded service published. A root the
// witness does not hold yet leaves published events PENDING (witness NONE, with the reason); a
// matching copy makes them VERIFIED with witness PASS; a copy that differs makes them FAILED.
import { loadConfig } from '../../src/config.js';
import { startArweaveServer, type ArweaveServer } from '../support/arweave-server.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const SEARCH = `{ search(query: "actor:witness", first: 100) { ... on AuditEventConnection {
  root { treeName size rootHash publishedAt }
  edges { node { published verification { witness verdict verdictReason verified failures } } } } } }`;

describe('the root witness through the gateway', () => {
  let arweave: ArweaveServer;
  let gw: TestGateway;
  let logged = 0;
  beforeAll(async () => {
    arweave = await startArweaveServer();
    gw = await startTestGateway({ config: { rootWitness: { kind: 'arweave', baseUrl: arweave.baseUrl } } });
  });
  afterAll(async () => {
    await gw?.close();
    await arweave?.close();
  });

  const logAndPublish = async (n: number): Promise<Json> => {
    const events = Array.from({ length: n }, () => ({ message: `witnessed ${logged++}`, actor: 'witness' }));
    await gw.runOk(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { ... on LogBulkResult { count } } }`, { e: events });
    gw.publish();
    return (await gw.runOk(`{ root { ... on PublishedRoot { treeName size rootHash publishedAt } } }`)).root;
  };
  const witnessCopy = (root: Json) => ({ tree_name: root.treeName, size: root.size, root_hash: root.rootHash, published_at: root.publishedAt });
  const published = (page: Json): Json[] => page.edges.filter((e: Json) => e.node.published).map((e: Json) => e.node.verification);

  test('not held yet: PENDING; a matching copy: VERIFIED with witness PASS; a copy that differs: FAILED', async () => {
    await logAndPublish(4);
    let page = (await gw.runOk(SEARCH)).search;
    expect(published(page)).toHaveLength(4);
    for (const v of published(page)) {
      expect(v).toMatchObject({ witness: 'NONE', verdict: 'PENDING', verified: false, failures: [] });
      expect(v.verdictReason).toMatch(/^witness: /);
    }

    const root8 = await logAndPublish(4);
    arweave.publish(witnessCopy(root8));
    page = (await gw.runOk(SEARCH)).search;
    expect(page.root.size).toBe(8);
    expect(published(page)).toHaveLength(8);
    for (const v of published(page)) expect(v).toMatchObject({ witness: 'PASS', verdict: 'VERIFIED', verified: true });

    const root12 = await logAndPublish(4);
    arweave.publish({ ...witnessCopy(root12), root_hash: 'ab'.repeat(32) });
    page = (await gw.runOk(SEARCH)).search;
    for (const v of published(page)) {
      expect(v).toMatchObject({ witness: 'FAIL', verdict: 'FAILED', verified: false });
      expect(v.failures.join('\n')).toMatch(/^witness: /m);
    }
    expect(arweave.queries.length).toBeGreaterThan(0);
  });

  test('ROOT_WITNESS: arweave for Pangea\'s cloud by default, none otherwise; a base URL; anything else is a clear error', () => {
    expect(loadConfig({}).rootWitness).toEqual({ kind: 'none' });
    expect(loadConfig({ AUDIT_DOMAIN: 'aws.us.pangea.cloud', AUDIT_TOKEN: 't' }).rootWitness).toEqual({ kind: 'arweave', baseUrl: 'https://arweave.net' });
    expect(loadConfig({ AUDIT_BASE_URL: 'https://audit.aws.us.pangea.cloud', AUDIT_TOKEN: 't' }).rootWitness).toMatchObject({ kind: 'arweave' });
    expect(loadConfig({ AUDIT_BASE_URL: 'http://127.0.0.1:4001', AUDIT_TOKEN: 't' }).rootWitness).toEqual({ kind: 'none' });
    expect(loadConfig({ ROOT_WITNESS: 'http://127.0.0.1:1984/' }).rootWitness).toEqual({ kind: 'arweave', baseUrl: 'http://127.0.0.1:1984' });
    expect(loadConfig({ AUDIT_DOMAIN: 'aws.us.pangea.cloud', AUDIT_TOKEN: 't', ROOT_WITNESS: 'none' }).rootWitness).toEqual({ kind: 'none' });
    expect(() => loadConfig({ ROOT_WITNESS: 'blockchain' })).toThrow(/^ROOT_WITNESS must be/);
    expect(loadConfig({ INTEGRITY_TRUST_ON_FIRST_USE: 'true', TRUSTED_SIGNING_KEYS_FILE: '/etc/gw/keys.json', INTEGRITY_KEY_FILE: '/etc/gw/key', FULL_AUDIT_INTERVAL_MS: '0' })).toMatchObject({
      integrityTrustOnFirstUse: true,
      trustedSigningKeysFile: '/etc/gw/keys.json',
      integrityKeyFile: '/etc/gw/key',
      fullAuditIntervalMs: 0,
    });
    expect(() => loadConfig({ INTEGRITY_TRUST_ON_FIRST_USE: 'maybe' })).toThrow('INTEGRITY_TRUST_ON_FIRST_USE must be true or false');
  });
});
