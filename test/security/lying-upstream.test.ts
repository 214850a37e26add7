// The gateway against a lying upstream: the real gateway (startGateway, remote upstream) talks to
// the real local audit service through test/support/lying-upstream.ts, which forwards everything
// and, when told to, lies. For every lie, the events it touches must come back FAILED (or be
// removed and counted), Query.integrity must say what it knows, and nothing the lie touches may
// ever be `verified: true`. Through the same proxy with no lie switched on, published events
// are VERIFIED once the gateway has anchored its verified history, unpublished ones PENDING.
//
// Each test gets its own service, proxy and gateway: a FAILED integrity state is sticky, and a
// lie one test tells must not leak into the next one's verified history or root cache.
import { jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditClient } from '../../src/audit-client/index.js';
import type { AuthMode, GatewayConfig } from '../../src/config.js';
import type { IntegrityStatus } from '../../src/gateway/integrity-monitor.js';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import { publicKeyPem, signEvent } from '../../src/merkle/index.js';
import { tempDir, type Json } from '../support/gateway.js';
import { startLyingUpstream, type LyingUpstream } from '../support/lying-upstream.js';
import { countedSince, verificationChecks } from '../support/verification-metrics.js';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

const ADMIN = 'admin-key-0123456789abcdef';
const T1 = 'tenant-one-key-0123456789';
const T2 = 'tenant-two-key-0123456789';
const ALL_SCOPES = ['audit:log', 'audit:search', 'audit:export', 'audit:root'];
const KEYS: AuthMode = {
  kind: 'keys',
  file: undefined,
  inline: JSON.stringify({
    apiKeys: [
      { id: 'admin', key: ADMIN, scopes: ALL_SCOPES },
      { id: 't1', key: T1, scopes: ALL_SCOPES, tenantId: 't1' },
      { id: 't2', key: T2, scopes: ALL_SCOPES, tenantId: 't2' },
    ],
  }),
};

const VERIFICATION = 'verification { hash membership consistency signature witness verdict verdictReason verified failures }';
/** What a client shows of an event. */
const NODE = `leafIndex published hash message tenantId ${VERIFICATION}`;
/** Only the verdicts: for lies that withhold a field the full selection names (see the strip tests). */
const VERDICTS_ONLY = `leafIndex tenantId ${VERIFICATION}`;
const connection = (node: string) =>
  `__typename ... on AuditEventConnection { totalCount foreignEvents missingEvents resultId root { size rootHash } edges { cursor node { ${node} } } pageInfo { endCursor hasNextPage } } ... on Error { message }`;
const SEARCH = (node = NODE) => `query S($q: String!, $first: Int, $after: String, $r: [SearchRestrictionInput!]) {
  search(query: $q, first: $first, after: $after, order: ASC, searchRestriction: $r) { ${connection(node)} } }`;
const RESULTS = (node = NODE) => `query R($id: ID!, $first: Int, $after: String) { results(resultId: $id, first: $first, after: $after) { ${connection(node)} } }`;
const INTEGRITY = `{ integrity { state failure anchor lastVerifiedSize latestPublishedSize tamperingEvidence lastTamperingEvidence } }`;
const LOG_VERIFY = `mutation L($e: AuditEventInput!) { log(event: $e, options: { verify: true }) {
  __typename ... on LogResult { hash unpublishedRoot consistencyProof verification { hash membership consistency signature verdict verdictReason verified failures } } ... on Error { message } } }`;

const LOG_PLAIN = `mutation L($e: AuditEventInput!) { log(event: $e) {
  __typename ... on LogResult { hash verification { hash membership consistency signature verdict verdictReason verified failures } } ... on Error { message } } }`;

interface Verification {
  hash: string;
  membership: string;
  consistency: string;
  signature: string;
  witness: string;
  verdict: 'VERIFIED' | 'PENDING' | 'FAILED';
  verdictReason: string | null;
  verified: boolean;
  failures: string[];
}
interface EventNode {
  leafIndex: number | null;
  published: boolean;
  hash: string;
  message: string | null;
  tenantId: string | null;
  verification: Verification;
}
interface Connection {
  __typename: string;
  totalCount: number;
  foreignEvents: number;
  missingEvents: number;
  resultId: string;
  root: { size: number; rootHash: string } | null;
  edges: Array<{ cursor: string; node: EventNode }>;
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

const newKey = (): string => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

/** What a failed event says, all in one string, for matching the reason. */
const said = (v: Verification): string => [v.verdictReason ?? '', ...v.failures].join(' | ');

/** The event is FAILED, not verified, and the reason names the problem. */
function expectFailed(node: EventNode, reason: RegExp): void {
  const v = node.verification;
  if (v.verdict !== 'FAILED' || v.verified || !reason.test(said(v)) || v.failures.length === 0) {
    throw new Error(`expected leaf ${node.leafIndex} FAILED with a reason matching ${reason}, got ${JSON.stringify(v)}`);
  }
}

function expectVerified(node: EventNode): void {
  const v = node.verification;
  if (v.verdict !== 'VERIFIED' || !v.verified || v.failures.length !== 0 || v.verdictReason !== null) {
    throw new Error(`expected leaf ${node.leafIndex} VERIFIED, got ${JSON.stringify(v)}`);
  }
}

interface Scenario {
  up: LyingUpstream;
  running: RunningGateway;
  /** Runs a request that must succeed (HTTP 200, no errors); returns data. */
  gql(query: string, variables?: Record<string, unknown>, credential?: string): Promise<Json>;
  search(query: string, options?: PageOptions & { restriction?: Array<{ field: string; values: string[] }> }): Promise<Connection>;
  results(resultId: string, options?: PageOptions): Promise<Connection>;
  integrity(): Promise<Json>;
  /** One integrity check now. */
  check(): Promise<IntegrityStatus>;
  /** Logs `n` events through the gateway (one logBulk); publishes unless told not to. */
  log(n: number, tag: string, options?: { tenantId?: string; publish?: boolean; credential?: string }): Promise<void>;
}

interface PageOptions {
  first?: number;
  after?: string;
  credential?: string;
  /** The selection of each node (default NODE). */
  node?: string;
}

interface ScenarioOptions {
  auth?: AuthMode;
  /** Public keys (or private keys, whose public half is listed) for TRUSTED_SIGNING_KEYS_FILE. */
  trustedKeys?: string[];
  /** TRUSTED_SIGNING_KEYS_FILE's requireSignatures. */
  requireSignatures?: boolean | string[];
  /** The gateway's own signLocal key (PKCS#8 PEM). */
  signingKey?: string;
  /** An upstream to reuse (another gateway over the same lies). */
  upstream?: LyingUpstream;
  /** INTEGRITY_CHECK_INTERVAL_MS (default 10 minutes: only the start-up check and the tests' own run). */
  integrityCheckIntervalMs?: number;
}

describe('the gateway against a lying upstream', () => {
  const cleanups: Array<() => Promise<void>> = [];
  // The monitor raises its alarms on console.error: collected here, and asserted where they matter.
  let errorSpy: jest.SpiedFunction<typeof console.error>;
  beforeEach(() => {
    errorSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    errorSpy.mockRestore();
  });
  const alarms = (): string[] => errorSpy.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('INTEGRITY FAILURE'));

  async function scenario(options: ScenarioOptions = {}): Promise<Scenario> {
    const up = options.upstream ?? (await startLyingUpstream());
    if (!options.upstream) cleanups.push(() => up.close());
    const dir = tempDir('lying-upstream-gw-');
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    let trustedSigningKeysFile: string | undefined;
    if (options.trustedKeys) {
      trustedSigningKeysFile = join(dir, 'trusted-keys.json');
      const keys = options.trustedKeys.map((k) => (k.includes('PRIVATE KEY') ? publicKeyPem(k) : k));
      writeFileSync(trustedSigningKeysFile, JSON.stringify({ keys, ...(options.requireSignatures !== undefined ? { requireSignatures: options.requireSignatures } : {}) }));
    }
    let signingKeyFile: string | undefined;
    if (options.signingKey) {
      signingKeyFile = join(dir, 'signing-key.pem');
      writeFileSync(signingKeyFile, options.signingKey, { mode: 0o600 });
    }
    const config: GatewayConfig = {
      host: '127.0.0.1',
      port: 0,
      upstream: { kind: 'remote', baseUrl: up.url, token: up.token, configId: undefined, tenantId: undefined },
      signingKeyFile,
      cursorSecret: 'lying-upstream-test',
      maxBodyBytes: 1024 * 1024,
      graphiql: false,
      auth: options.auth ?? { kind: 'none' },
      // Long enough that only the start-up check and the tests' own checks run.
      integrityCheckIntervalMs: options.integrityCheckIntervalMs ?? 600_000,
      integrityTrustOnFirstUse: true,
      trustedSigningKeysFile,
    };
    const running = await startGateway(config, () => undefined);
    cleanups.push(() => running.close());
    // Settle the start-up check, so a later check is not joined to one that began earlier.
    await running.integrity!.checkNow();
    const defaultCredential = config.auth?.kind === 'keys' ? ADMIN : undefined;
    const gql = async (query: string, variables?: Record<string, unknown>, credential = defaultCredential): Promise<Json> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (credential !== undefined) headers.authorization = `Bearer ${credential}`;
      const res = await fetch(running.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as Json;
      if (res.status !== 200 || body.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body).slice(0, 3000)}`);
      return body.data;
    };
    const page = (value: Json): Connection => {
      if (value.__typename !== 'AuditEventConnection') throw new Error(`expected a page, got ${JSON.stringify(value)}`);
      return value as Connection;
    };
    return {
      up,
      running,
      gql,
      search: async (query, o = {}) =>
        page((await gql(SEARCH(o.node), { q: query, first: o.first ?? 100, ...(o.after ? { after: o.after } : {}), ...(o.restriction ? { r: o.restriction } : {}) }, o.credential ?? defaultCredential)).search),
      results: async (resultId, o = {}) =>
        page((await gql(RESULTS(o.node), { id: resultId, first: o.first ?? 100, ...(o.after ? { after: o.after } : {}) }, o.credential ?? defaultCredential)).results),
      integrity: async () => (await gql(INTEGRITY, undefined, defaultCredential)).integrity,
      check: () => running.integrity!.checkNow(),
      log: async (n, tag, o = {}) => {
        const events = Array.from({ length: n }, (_, i) => ({ message: `${tag} ${i}`, actor: tag, ...(o.tenantId ? { tenantId: o.tenantId } : {}) }));
        const data = await gql(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { count } } }`, { e: events }, o.credential ?? defaultCredential);
        expect(data.logBulk).toEqual({ __typename: 'LogBulkResult', count: n });
        if (o.publish ?? true) up.publish();
      },
    };
  }

  /** 31 published events (the gateway's history verified up to them) and 3 unpublished ones. */
  async function anchored(options: ScenarioOptions = {}): Promise<Scenario> {
    const s = await scenario(options);
    await s.log(31, 'alice');
    expect(await s.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 31 });
    await s.log(3, 'alice', { publish: false });
    return s;
  }

  const readiness = async (s: Scenario): Promise<{ status: number; body: Json }> => {
    const res = await fetch(new URL('/ready', s.running.url));
    return { status: res.status, body: await res.json() };
  };

  /** The integrity gauges of the gateway's /metrics (the state gauge: the value for OK). */
  const integrityGauges = async (s: Scenario): Promise<Record<string, number>> => {
    const text = await (await fetch(new URL('/metrics', s.running.url))).text();
    const families = parsePrometheusTextFormat(text) as Array<{ name: string; metrics: Array<{ labels?: Record<string, string>; value?: string }> }>;
    const gauges: Record<string, number> = {};
    for (const family of families) {
      if (!family.name.startsWith('audit_gateway_integrity_')) continue;
      const series = family.name === 'audit_gateway_integrity_state' ? family.metrics.find((m) => m.labels?.state === 'OK') : family.metrics[0];
      if (series?.value !== undefined) gauges[family.name] = Number(series.value);
    }
    return gauges;
  };

  const published = (page: Connection) => page.edges.map((e) => e.node).filter((n) => n.published);
  const unpublished = (page: Connection) => page.edges.map((e) => e.node).filter((n) => !n.published);

  test('honest baseline through the proxy: published events VERIFIED, unpublished PENDING, integrity OK, logs VERIFIED', async () => {
    const s = await anchored();
    const page = await s.search('actor:alice');
    expect(page).toMatchObject({ totalCount: 34, foreignEvents: 0, missingEvents: 0, root: { size: 31 } });
    expect(published(page)).toHaveLength(31);
    for (const node of published(page)) {
      expectVerified(node);
      expect(node.verification).toMatchObject({ hash: 'PASS', membership: 'PASS', consistency: 'PASS', signature: 'NONE', witness: 'NONE' });
    }
    expect(unpublished(page)).toHaveLength(3);
    for (const node of unpublished(page)) {
      expect(node.verification).toMatchObject({ verdict: 'PENDING', verified: false, failures: [], hash: 'PASS', membership: 'PASS' });
      expect(node.verification.verdictReason).toBeTruthy();
    }
    // Paging on keeps the verdicts.
    const first = await s.search('actor:alice', { first: 10 });
    const next = await s.search('actor:alice', { first: 10, after: first.pageInfo.endCursor! });
    expect(next.edges.map((e) => e.node.leafIndex)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    next.edges.forEach((e) => expectVerified(e.node));
    // A verified log chains from the verified root.
    const logged = (await s.gql(LOG_VERIFY, { e: { message: 'honest log', actor: 'alice' } })).log;
    expect(logged.verification).toMatchObject({ hash: 'PASS', membership: 'PASS', consistency: 'PASS', verdict: 'VERIFIED', verified: true, failures: [] });
    expect(await s.integrity()).toMatchObject({ state: 'OK', failure: null, tamperingEvidence: 0 });
    expect(s.up.calls.length).toBeGreaterThan(0);
    expect(s.up.calls.every((c) => c.lies.length === 0)).toBe(true);
  });

  test('the issue’s scenario: 31 events VERIFIED, then the upstream switches to a forked history: every event FAILED, integrity FAILED', async () => {
    const s = await scenario();
    await s.log(31, 'alice');
    expect(await s.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 31 });
    const before = await s.search('actor:alice');
    expect(before.edges).toHaveLength(31);
    before.edges.forEach((e) => expectVerified(e.node));

    await s.up.fork(true, { leaf: 3 });
    const after = await s.search('actor:alice');
    expect(after.root?.size).toBe(31);
    expect(after.root?.rootHash).not.toBe(before.root?.rootHash);
    expect(after.edges).toHaveLength(31);
    // Even the events both histories share: the page's root contradicts the verified one.
    for (const { node } of after.edges) expectFailed(node, /root\(31\).*(another|two) histor/);
    const integrity = await s.integrity();
    expect(integrity.state).toBe('FAILED');
    expect(integrity.failure).toMatch(/root\(31\)/);
    expect(alarms().some((line) => line.includes(integrity.failure))).toBe(true);
    // The next check keeps it.
    expect((await s.check()).state).toBe('FAILED');
    // Going back to the honest history does not make the gateway forget.
    await s.up.fork(false);
    expect((await s.integrity()).state).toBe('FAILED');
  });

  test('a fork that is ahead of the verified root (new roots over a rewritten past) is FAILED too', async () => {
    const s = await scenario();
    await s.log(20, 'alice');
    expect(await s.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 20 });
    await s.log(6, 'alice'); // published as 26, not yet seen by the gateway
    await s.up.fork(true, { leaf: 7 });
    const page = await s.search('actor:alice');
    expect(page.root?.size).toBe(26);
    for (const { node } of page.edges) expectFailed(node, /consistency.*root\(20\)|root\(26\).*histor/);
    const checked = await s.check();
    expect(checked.state).toBe('FAILED');
    expect((await s.integrity()).state).toBe('FAILED');
  });

  test('strip hash: every event FAILED, hash FAIL naming the withheld hash', async () => {
    const s = await anchored();
    s.up.strip({ hash: true });
    const page = await s.search('actor:alice', { node: VERDICTS_ONLY });
    expect(page.edges).toHaveLength(34);
    for (const { node } of page.edges) {
      expectFailed(node, /hash/i);
      expect(node.verification.hash).toBe('FAIL');
      expect(said(node.verification)).toMatch(/withheld|missing|absent|no event hash/i);
    }
    // A client selecting the event's hash must still get the page, not an error in its place.
    const shown = await s.search('actor:alice');
    for (const { node } of shown.edges) expectFailed(node, /hash/i);
  });

  test('strip membership proofs: every event FAILED, membership FAIL naming the withheld proof', async () => {
    const s = await anchored();
    s.up.strip({ membershipProof: true });
    const page = await s.search('actor:alice');
    for (const { node } of page.edges) {
      expectFailed(node, /membership proof.*withheld/i);
      expect(node.verification.membership).toBe('FAIL');
    }
  });

  test('alter the membership proof of events the gateway verified before: those FAILED (membership), the rest VERIFIED; honest again, VERIFIED', async () => {
    const s = await anchored();
    const honest = await s.search('actor:alice');
    published(honest).forEach(expectVerified);
    // The same events again, two of them (one published, one not) with a proof that leads elsewhere.
    // Published leaf 12, and the second of the unpublished events (they have no leaf index yet).
    const isAltered = (published: boolean | undefined, leaf: number | null | undefined, message: unknown): boolean =>
      published === true ? leaf === 12 : message === 'alice 1';
    s.up.alterMembershipProof((e) => isAltered(e.published, e.leaf_index, e.envelope.event.message));
    const page = await s.search('actor:alice');
    expect(s.up.calls.at(-1)?.lies).toContain('altered the membership proof of 2 events');
    for (const { node } of page.edges) {
      if (isAltered(node.published, node.leafIndex, node.message)) {
        expectFailed(node, /membership/i);
        expect(node.verification.membership).toBe('FAIL');
      } else if (node.published) expectVerified(node);
      else expect(node.verification.verdict).toBe('PENDING');
    }
    s.up.honest();
    published(await s.search('actor:alice')).forEach(expectVerified);
  });

  test('strip the page root: published events FAILED naming the root; unpublished ones unaffected', async () => {
    const s = await anchored();
    s.up.strip({ root: true });
    const page = await s.search('actor:alice');
    expect(page.root).toBeNull();
    expect(published(page)).toHaveLength(31);
    for (const node of published(page)) expectFailed(node, /published root.*withheld/i);
    for (const node of unpublished(page)) expect(node.verification.verdict).toBe('PENDING');
  });

  test('strip the unpublished root: unpublished events FAILED naming it; published ones still VERIFIED', async () => {
    const s = await anchored();
    s.up.strip({ unpublishedRoot: true });
    const page = await s.search('actor:alice');
    expect(unpublished(page)).toHaveLength(3);
    for (const node of unpublished(page)) expectFailed(node, /unpublished root.*withheld/i);
    for (const node of published(page)) expectVerified(node);
  });

  test('strip the published flag: every event FAILED naming it, none taken for unpublished', async () => {
    const s = await anchored();
    s.up.strip({ published: true });
    const page = await s.search('actor:alice', { node: VERDICTS_ONLY });
    expect(page.edges).toHaveLength(34);
    for (const { node } of page.edges) expectFailed(node, /published flag.*withheld/i);
    // A client selecting `published` must still get the page, not an error in its place.
    const shown = await s.search('actor:alice');
    for (const { node } of shown.edges) {
      expectFailed(node, /published/i);
      expect(node.published).not.toBe(true);
    }
  });

  test('strip leaf indexes: published events FAILED naming the leaf index', async () => {
    const s = await anchored();
    s.up.strip({ leafIndex: true });
    const page = await s.search('actor:alice');
    const claimed = page.edges.map((e) => e.node).filter((n) => n.published);
    expect(claimed).toHaveLength(31);
    for (const node of claimed) expectFailed(node, /leaf index.*withheld/i);
  });

  test('strip the published roots’ consistency proofs (v1/root and the page root): events that need one FAILED naming it', async () => {
    const s = await anchored();
    s.up.strip({ consistencyProofOfRoot: true });
    const page = await s.search('actor:alice');
    // Leaf 0's root(1) needs no proof; every other published event's root(L+1) does.
    const needing = published(page).filter((n) => n.leafIndex! > 0);
    expect(needing).toHaveLength(30);
    for (const node of needing) expectFailed(node, /consistency proof.*withheld/i);
    expect(published(page).some((n) => n.verification.verified && n.leafIndex! > 0)).toBe(false);
  });

  test('strip the published roots’ consistency proofs: the integrity monitor does not take new roots without them', async () => {
    const s = await anchored();
    s.up.strip({ consistencyProofOfRoot: true });
    await s.log(4, 'alice'); // published: 38
    const checked = await s.check();
    expect(checked.lastVerifiedSize).toBe(31);
    expect(checked.state).toBe('FAILED');
    expect(checked.failure).toMatch(/consistency proof/i);
    // Nor does a page whose root is the new one.
    const page = await s.search('actor:alice');
    expect(page.root?.size).toBe(38);
    for (const node of published(page)) expect(node.verification.verified).toBe(false);
  });

  test('strip on v1/results: a later page of an honest search is FAILED once the proofs are withheld', async () => {
    const s = await anchored();
    const first = await s.search('actor:alice', { first: 10 });
    first.edges.forEach((e) => expectVerified(e.node));
    s.up.strip({ membershipProof: true, leafIndex: true });
    const second = await s.search('actor:alice', { first: 10, after: first.pageInfo.endCursor! });
    expect(second.edges).toHaveLength(10);
    for (const { node } of second.edges) expectFailed(node, /(membership proof|leaf index).*withheld/i);
    const viaResults = await s.results(first.resultId, { first: 5 });
    for (const { node } of viaResults.edges) expectFailed(node, /(membership proof|leaf index).*withheld/i);
  });

  test('dropEvents: the page shows how many are missing, and each drop is tampering evidence in Query.integrity', async () => {
    const s = await anchored();
    s.up.dropEvents(2);
    const page = await s.search('actor:alice');
    expect(page.totalCount).toBe(34);
    expect(page.missingEvents).toBe(2);
    expect(page.edges).toHaveLength(32);
    for (const node of published(page)) expectVerified(node);
    s.up.dropEvents((e) => e.leaf_index === 5 || e.leaf_index === 6);
    const chosen = await s.search('actor:alice');
    expect(chosen.missingEvents).toBe(2);
    expect(chosen.edges.map((e) => e.node.leafIndex)).not.toContain(5);
    const integrity = await s.integrity();
    expect(integrity.tamperingEvidence).toBeGreaterThanOrEqual(1);
    expect(integrity.lastTamperingEvidence).toMatch(/missing|gone|not return|removed|dropped/i);
  });

  test('ignoreRestriction: another tenant’s events are removed and counted in foreignEvents, and reported in Query.integrity', async () => {
    const s = await scenario({ auth: KEYS });
    await s.log(6, 'shared', { tenantId: 't1', publish: false });
    await s.log(4, 'shared', { tenantId: 't2' });
    expect(await s.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 10 });
    const honest = await s.search('actor:shared', { credential: T1 });
    expect(honest).toMatchObject({ totalCount: 6, foreignEvents: 0 });

    s.up.ignoreRestriction(true);
    const lying = await s.search('actor:shared', { credential: T1 });
    const call = s.up.calls.filter((c) => c.path === '/v1/search').at(-1)!;
    expect(call.request.search_restriction).toEqual({ tenant_id: ['t1'] });
    expect(call.forwarded).not.toHaveProperty('search_restriction');
    expect(lying.foreignEvents).toBe(4);
    expect(lying.edges).toHaveLength(6);
    for (const { node } of lying.edges) {
      expect(node.tenantId).toBe('t1');
      expectVerified(node);
    }
    // Paging on (v1/results, whose assert_search_restriction is dropped too).
    const firstPage = await s.search('actor:shared', { first: 5, credential: T1 });
    expect(firstPage.foreignEvents).toBe(0);
    const secondPage = await s.search('actor:shared', { first: 5, after: firstPage.pageInfo.endCursor!, credential: T1 });
    expect(s.up.calls.filter((c) => c.path === '/v1/results').at(-1)!.lies.join()).toMatch(/assert_search_restriction/);
    expect(secondPage.foreignEvents).toBe(4);
    expect(secondPage.edges.map((e) => e.node.tenantId)).toEqual(['t1']);
    const byId = await s.results(firstPage.resultId, { first: 10, credential: T1 });
    expect(byId.foreignEvents).toBe(4);
    expect(byId.edges.every((e) => e.node.tenantId === 't1')).toBe(true);
    // An explicit searchRestriction of a caller without a tenant is enforced the same way.
    const admin = await s.search('actor:shared', { restriction: [{ field: 'tenant_id', values: ['t2'] }] });
    expect(admin.foreignEvents).toBe(6);
    expect(admin.edges.map((e) => e.node.tenantId)).toEqual(['t2', 't2', 't2', 't2']);

    const integrity = await s.integrity();
    expect(integrity.tamperingEvidence).toBeGreaterThanOrEqual(4);
    expect(integrity.lastTamperingEvidence).toMatch(/restriction/);
  });

  test('withholdLogConsistencyProof: a verified log is FAILED (consistency); every verified log is proven from the verified history, not from a log', async () => {
    const s = await anchored();
    const logged = async (message: string) => (await s.gql(LOG_VERIFY, { e: { message, actor: 'logger' } })).log;
    const lastPrevRoot = () => s.up.calls.filter((c) => c.path === '/v1/log').at(-1)!.request.prev_root as string | undefined;
    const verifiedRoot = s.running.integrity!.status().lastVerifiedRootHash;
    expect(verifiedRoot).toMatch(/^[0-9a-f]{64}$/);
    const one = await logged('one');
    expect(one.verification.verdict).toBe('VERIFIED');
    expect(lastPrevRoot()).toBe(verifiedRoot);

    s.up.withholdLogConsistencyProof(true);
    const two = await logged('two');
    expect(lastPrevRoot()).toBe(verifiedRoot);
    expect(two.consistencyProof).toBeNull();
    expect(two.verification).toMatchObject({ consistency: 'FAIL', verdict: 'FAILED', verified: false });
    expect(said(two.verification)).toMatch(/consistency/i);
    expect(said(two.verification)).toMatch(/withheld|missing|not returned/i);

    // The next log is proven from the verified history's root again, never from a log's root.
    s.up.withholdLogConsistencyProof(false);
    const three = await logged('three');
    expect(lastPrevRoot()).toBe(verifiedRoot);
    expect([one.unpublishedRoot, two.unpublishedRoot]).not.toContain(lastPrevRoot());
    expect(three.verification).toMatchObject({ consistency: 'PASS', verdict: 'VERIFIED', verified: true });
  });

  test('forgeLogChain: a log root with junk before the old tree, whose proofs fold and reach it, is FAILED (consistency shape)', async () => {
    const s = await anchored();
    s.up.forgeLogChain(true);
    const forged = (await s.gql(LOG_VERIFY, { e: { message: 'forged chain', actor: 'logger' } })).log;
    expect(s.up.calls.filter((c) => c.path === '/v1/log').at(-1)!.lies).toEqual(['forged a root with junk before the old tree']);
    expect(forged.verification).toMatchObject({ hash: 'PASS', membership: 'PASS', consistency: 'FAIL', verdict: 'FAILED', verified: false });
    expect(said(forged.verification)).toMatch(/consistency: a proof from size 31 has 5 items, this one has 1|cannot be the block/);
    s.up.forgeLogChain(false);
    expect((await s.gql(LOG_VERIFY, { e: { message: 'honest chain', actor: 'logger' } })).log.verification.verdict).toBe('VERIFIED');
  });

  test('forgeLogEnvelope: a plain log answered with an envelope it did not ask for checks it, and a forged one is FAILED', async () => {
    const s = await anchored();
    const plain = async (message: string) => (await s.gql(LOG_PLAIN, { e: { message, actor: 'logger' } })).log;
    const honest = await plain('plain one');
    expect(honest.verification).toMatchObject({ hash: 'NONE', verdict: 'PENDING', verified: false, failures: [] });

    s.up.forgeLogEnvelope(true);
    const forged = await plain('plain two');
    expect(s.up.calls.filter((c) => c.path === '/v1/log').at(-1)!.lies).toEqual(['forged an unasked envelope']);
    expect(forged.verification).toMatchObject({ hash: 'FAIL', verdict: 'FAILED', verified: false });
    expect(said(forged.verification)).toMatch(/hash/i);

    // The forged answer changes nothing for the plain logs after it.
    s.up.forgeLogEnvelope(false);
    expect((await plain('plain three')).verification).toEqual(honest.verification);
  });

  test('alterLoggedEvents: a verified log the upstream stored changed has genuine proofs, and is FAILED (hash: not the event sent)', async () => {
    const s = await anchored();
    const logged = async (message: string, extra: Record<string, unknown> = {}) => (await s.gql(LOG_VERIFY, { e: { message, actor: 'logger', ...extra } })).log;
    const lastPrevRoot = () => s.up.calls.filter((c) => c.path === '/v1/log').at(-1)!.request.prev_root as string | undefined;
    const one = await logged('one');
    expect(one.verification.verdict).toBe('VERIFIED');

    s.up.alterLoggedEvents((item) => ({ ...item, event: { ...item.event, message: 'something else' } }));
    const changed = await logged('two');
    expect(s.up.calls.filter((c) => c.path === '/v1/log').at(-1)!.lies).toEqual(['stored another event than the one sent']);
    // Everything the service returned is true of the event it stored: only the comparison with the sent event catches it.
    expect(changed.verification).toMatchObject({ hash: 'FAIL', membership: 'PASS', consistency: 'PASS', verdict: 'FAILED', verified: false });
    expect(said(changed.verification)).toMatch(/not the event sent: message differ/);

    s.up.alterLoggedEvents(({ event }) => {
      const { tenant_id: _dropped, ...rest } = event;
      return { event: rest };
    });
    const untenanted = await logged('three', { tenantId: 't1' });
    expect(untenanted.verification).toMatchObject({ hash: 'FAIL', verdict: 'FAILED', verified: false });
    expect(said(untenanted.verification)).toMatch(/tenant_id differ/);

    // Nothing from those answers was taken: the next honest log is proven from the verified history's root.
    s.up.alterLoggedEvents(null);
    const four = await logged('four');
    expect(lastPrevRoot()).toBe(s.running.integrity!.status().lastVerifiedRootHash);
    expect(four.verification).toMatchObject({ hash: 'PASS', consistency: 'PASS', verdict: 'VERIFIED', verified: true });
  });

  test('alterLoggedEvents with signLocal: a stripped signature is FAILED, not NONE', async () => {
    const s = await scenario({ signingKey: newKey() });
    const signedLog = `mutation L($e: AuditEventInput!) { log(event: $e, options: { verbose: true, signLocal: true }) {
      __typename ... on LogResult { verification { hash signature verdict failures } } ... on Error { message } } }`;
    const honest = (await s.gql(signedLog, { e: { message: 'signed', actor: 'signer' } })).log;
    expect(honest.verification).toMatchObject({ hash: 'PASS', signature: 'PASS' });

    s.up.alterLoggedEvents(({ event }) => ({ event }));
    const stripped = (await s.gql(signedLog, { e: { message: 'signed too', actor: 'signer' } })).log;
    expect(stripped.verification).toMatchObject({ hash: 'FAIL', signature: 'NONE', verdict: 'FAILED' });
    expect(stripped.verification.failures.join(' ')).toMatch(/does not carry the signature sent/);
  });

  test('logBulk: events stored changed are FAIL each (verbose), and an answer short of results is an error, not fewer events logged', async () => {
    const s = await anchored();
    const bulk = `mutation B($e: [AuditEventInput!]!) { logBulk(events: $e, options: { verbose: true }) {
      __typename ... on LogBulkResult { count results { hash hashVerification } } ... on Error { message } } }`;
    const events = (tag: string) => Array.from({ length: 4 }, (_, i) => ({ message: `${tag} ${i}`, actor: 'bulk' }));
    const honest = (await s.gql(bulk, { e: events('honest') })).logBulk;
    expect(honest.results.map((r: Json) => r.hashVerification)).toEqual(['PASS', 'PASS', 'PASS', 'PASS']);

    s.up.alterLoggedEvents((item) => (item.event.message === 'changed 2' ? { ...item, event: { ...item.event, message: 'not what was sent' } } : item));
    const changed = (await s.gql(bulk, { e: events('changed') })).logBulk;
    expect(changed.results.map((r: Json) => r.hashVerification)).toEqual(['PASS', 'PASS', 'FAIL', 'PASS']);
    s.up.alterLoggedEvents(null);

    s.up.dropLogResults(1);
    const short = (await s.gql(bulk, { e: events('short') })).logBulk;
    // The events reached the service: whether they were stored is unknown, and said so.
    expect(short.__typename).toBe('WriteOutcomeUnknownError');
    expect(short.message).toMatch(/3 results for 4 events: which events were stored is unknown\): the events may have been stored; search for the events before sending them again/);
    expect(short.message).not.toContain(s.up.url);
    s.up.dropLogResults(0);

    // Every result listed, one without its hash: that event's fate is unknown too, never a null
    // hash that would empty the whole answer.
    s.up.withholdLogResultHashes((i) => i === 2);
    const unhashed = await s.gql(bulk, { e: events('unhashed') });
    expect(unhashed.logBulk.__typename).toBe('WriteOutcomeUnknownError');
    expect(unhashed.logBulk.message).toMatch(/result 2 without a hash: whether that event was stored is unknown/);
    const plain = await s.gql(`mutation B($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { results { hash } } ... on Error { message } } }`, { e: events('plain') });
    expect(plain.logBulk.__typename).toBe('WriteOutcomeUnknownError');
  });

  test('rollback: pages whose root was rolled back are FAILED, and the monitor reports the rollback', async () => {
    const s = await anchored();
    await s.log(5, 'alice'); // published: 39 (the 31, the 3 logged unpublished, these 5)
    expect(await s.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 39 });
    s.up.rollback(3);
    const page = await s.search('actor:alice');
    expect(page.root?.size).toBe(36);
    const claimed = published(page);
    expect(claimed.length).toBeGreaterThan(0);
    for (const node of claimed) expectFailed(node, /membership: .*(root|tree of size 36)/i);
    const checked = await s.check();
    expect(checked.state).toBe('FAILED');
    expect(checked.failure).toMatch(/rolled back|smaller/);
    expect((await s.integrity()).state).toBe('FAILED');
  });

  const ROOT = `{ root { __typename ... on PublishedRoot { size rootHash } ... on Error { message } } }`;

  test('forgeRoot: forged roots of sizes the gateway proved are contradictions, never kept: the events that needed them FAILED, honest answers after them VERIFIED again', async () => {
    const s = await anchored();
    await s.log(5, 'alice'); // published: 39
    expect(await s.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 39 });
    const history = s.running.integrity!.history;
    const proven31 = history.get(31)?.rootHash;
    const proven39 = history.get(39)?.rootHash;
    expect(proven31 && proven39).toBeTruthy();

    // v1/root lies about root(31), which leaves 30 and 31 need; the page's root (39) is honest.
    s.up.forgeRoot((size) => size === 31);
    const lying = await s.search('actor:alice');
    expect(s.up.calls.some((c) => c.lies.includes('forged the v1/root root(31)'))).toBe(true);
    expect(lying.root).toEqual({ size: 39, rootHash: proven39 });
    for (const node of published(lying)) {
      if (node.leafIndex === 30 || node.leafIndex === 31) expectFailed(node, /root\(31\) is [0-9a-f]{64}, but the gateway verified [0-9a-f]{64} for that size/);
      else expectVerified(node);
    }
    // One more lie, for one call: the latest root (the page root of every search after it).
    s.up.forgeRoot((size) => size === 39);
    const offered = (await s.gql(ROOT)).root;
    expect(offered).toMatchObject({ __typename: 'PublishedRoot', size: 39 });
    expect(offered.rootHash).not.toBe(proven39);

    s.up.forgeRoot(null);
    const honest = await s.search('actor:alice');
    expect(honest.root).toEqual({ size: 39, rootHash: proven39 });
    expect(published(honest)).toHaveLength(39);
    for (const node of published(honest)) expectVerified(node);
    expect((await s.gql(`{ root(treeSize: 31) { ... on PublishedRoot { rootHash } } }`)).root.rootHash).toBe(proven31);
    const integrity = await s.integrity();
    expect(integrity.state).toBe('FAILED');
    expect(integrity.failure).toMatch(/root\(31\) is [0-9a-f]{64}, but the gateway verified/);
    expect(alarms().some((line) => line.includes(integrity.failure))).toBe(true);
  });

  test('forgeRoot before the proof: a kept root that a root proven later contradicts is forgotten and reported, and the events that need it VERIFIED against the proven one', async () => {
    const s = await anchored();
    await s.log(5, 'alice'); // published: 39, not proven yet
    const history = s.running.integrity!.history;
    s.up.forgeRoot((size) => size === 39);
    const offered = (await s.gql(ROOT)).root;
    s.up.forgeRoot(null);
    expect(offered).toMatchObject({ __typename: 'PublishedRoot', size: 39 });
    // Nothing contradicted it yet: it is only the upstream's claim.
    expect(history.get(39)).toBeUndefined();
    expect((await s.integrity()).state).toBe('OK');

    expect(await s.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 39 });
    expect(history.get(39)!.rootHash).not.toBe(offered.rootHash);
    await s.log(2, 'alice'); // published: 41; the pages' root is no longer the forged size
    const page = await s.search('actor:alice');
    expect(page.root?.size).toBe(41);
    expect(published(page)).toHaveLength(41);
    for (const node of published(page)) expectVerified(node);
    const integrity = await s.integrity();
    expect(integrity.state).toBe('FAILED');
    expect(integrity.failure).toBe(`root(39) is ${offered.rootHash}, but the gateway verified ${history.get(39)!.rootHash} for that size: the audit service serves another history`);
  });

  test('forgeRoot of a size never proven: a kept forged root the page disproves is fetched again, not a FAILED for honest answers; a fresh one FAILs; both are tampering evidence', async () => {
    const s = await anchored();
    await s.log(5, 'alice'); // published: 39
    expect(await s.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 39 });
    const history = s.running.integrity!.history;
    // Sizes a page of 39 events needs (root(L) and root(L + 1) for each leaf L) that the verified
    // history does not hold: only the upstream's word stands for them.
    const unheld = Array.from({ length: 37 }, (_, i) => i + 2).filter((size) => !history.get(size) && !history.get(size - 1) && !history.get(size + 1));
    expect(unheld.length).toBeGreaterThanOrEqual(2);
    const [kept, fresh] = [unheld[0]!, unheld.at(-1)!];

    // An earlier answer forged root(kept), and the gateway kept it as a claim.
    s.up.forgeRoot((size) => size === kept);
    const forged = (await s.gql(`{ root(treeSize: ${kept}) { ... on PublishedRoot { rootHash } } }`)).root.rootHash;
    const before = (await s.integrity()).tamperingEvidence;

    // Now the upstream answers root(kept) honestly, and forges root(fresh) within the request.
    // The page's root (39) is proven, so leaf kept - 1's path proves the kept root(kept) false: it
    // is asked for again, and the events that need it VERIFY. The forged root(fresh) is the
    // upstream's word in this very request: the events that need it FAIL.
    s.up.forgeRoot((size) => size === fresh);
    const page = await s.search('actor:alice');
    expect(page.root?.size).toBe(39);
    expect(published(page)).toHaveLength(39);
    for (const node of published(page)) {
      if (node.leafIndex === fresh - 1 || node.leafIndex === fresh) expectFailed(node, new RegExp(`root\\(${fresh}\\)`));
      else expectVerified(node);
    }
    expect(s.up.calls.filter((c) => c.path === '/v1/root' && c.request.tree_size === kept)).toHaveLength(2);
    const integrity = await s.integrity();
    expect(integrity.tamperingEvidence).toBe(before + 2);
    const evidence = errorSpy.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('TAMPERING EVIDENCE'));
    expect(evidence.some((line) => line.includes(`published root(${kept}) ${forged} is not the first ${kept} leaves of the proven root(39)`))).toBe(true);
    expect(evidence.some((line) => line.includes(`published root(${fresh})`))).toBe(true);
    expect(integrity.state).toBe('OK');

    // Neither forged root was kept: honest answers VERIFY every event.
    s.up.forgeRoot(null);
    const honest = await s.search('actor:alice');
    for (const node of published(honest)) expectVerified(node);
  });

  test('resign in transit: events re-signed by an attacker (hash recomputed) are FAILED: not in the tree, and signed by an untrusted key', async () => {
    const legit = newKey();
    const s = await scenario({ signingKey: legit, trustedKeys: [legit] });
    const data = await s.gql(`mutation { logBulk(events: [${Array.from({ length: 8 }, (_, i) => `{message: "signed ${i}", actor: "signer"}`).join(',')}], options: {signLocal: true}) { __typename } }`);
    expect(data.logBulk.__typename).toBe('LogBulkResult');
    s.up.publish();
    expect(await s.check()).toMatchObject({ state: 'OK', lastVerifiedSize: 8 });
    const honest = await s.search('actor:signer');
    for (const { node } of honest.edges) {
      expectVerified(node);
      expect(node.verification.signature).toBe('PASS');
    }

    s.up.resign(newKey());
    const page = await s.search('actor:signer');
    expect(page.edges).toHaveLength(8);
    for (const { node } of page.edges) {
      expectFailed(node, /membership/i);
      expect(node.verification.hash).toBe('PASS');
      expect(node.verification.membership).toBe('FAIL');
      expect(node.verification.signature).toBe('FAIL');
      expect(node.verification.failures.join(' ')).toMatch(/signed by an untrusted key/);
    }
  });

  test('resign at rest: hash, membership and consistency all PASS, and only the trusted keys catch it', async () => {
    const up = await startLyingUpstream();
    cleanups.push(() => up.close());
    const legit = newKey();
    const attacker = newKey();
    const client = new AuditClient({ baseUrl: up.url, token: up.token, signer: (event) => signEvent(event as Record<string, unknown>, legit) });
    cleanups.push(() => client.close());
    await client.logBulk({ events: Array.from({ length: 10 }, (_, i) => ({ event: { message: `signed ${i}`, actor: 'signer' } })) });
    up.publish();
    const rewritten = up.resignAtRest(attacker, [2, 5]);
    expect(rewritten.map((r) => r.leaf)).toEqual([2, 5]);

    // A gateway that trusts only the legitimate key, anchored (trust on first use) after the rewrite.
    const s = await scenario({ upstream: up, trustedKeys: [legit] });
    expect((await s.integrity()).state).toBe('OK');
    const page = await s.search('actor:signer');
    expect(page.edges).toHaveLength(10);
    for (const { node } of page.edges) {
      expect(node.verification).toMatchObject({ hash: 'PASS', membership: 'PASS', consistency: 'PASS' });
      if (node.leafIndex === 2 || node.leafIndex === 5) {
        expectFailed(node, /signed by an untrusted key/);
        expect(node.verification.signature).toBe('FAIL');
      } else {
        expectVerified(node);
        expect(node.verification.signature).toBe('PASS');
      }
    }
    // Without a list of trusted keys, nothing else could have told.
    const trusting = await scenario({ upstream: up });
    const unaware = await trusting.search('actor:signer');
    for (const { node } of unaware.edges) expectVerified(node);
  });

  test('signatures stripped at rest: NONE passes under the keys alone; with requireSignatures the stripped events are FAILED', async () => {
    const up = await startLyingUpstream();
    cleanups.push(() => up.close());
    const legit = newKey();
    const client = new AuditClient({ baseUrl: up.url, token: up.token, signer: (event) => signEvent(event as Record<string, unknown>, legit) });
    cleanups.push(() => client.close());
    await client.logBulk({ events: Array.from({ length: 6 }, (_, i) => ({ event: { message: `signed ${i}`, actor: 'signer' } })) });
    up.publish();
    expect(up.resignAtRest(null, [1, 4]).map((r) => r.leaf)).toEqual([1, 4]);

    const keysOnly = await scenario({ upstream: up, trustedKeys: [legit] });
    for (const { node } of (await keysOnly.search('actor:signer')).edges) {
      expectVerified(node);
      expect(node.verification.signature).toBe(node.leafIndex === 1 || node.leafIndex === 4 ? 'NONE' : 'PASS');
    }
    const required = await scenario({ upstream: up, trustedKeys: [legit], requireSignatures: true });
    const page = await required.search('actor:signer');
    expect(page.edges).toHaveLength(6);
    for (const { node } of page.edges) {
      expect(node.verification).toMatchObject({ hash: 'PASS', membership: 'PASS', consistency: 'PASS' });
      if (node.leafIndex === 1 || node.leafIndex === 4) {
        expectFailed(node, /unsigned, but TRUSTED_SIGNING_KEYS_FILE requires every event to be signed/);
        expect(node.verification.signature).toBe('FAIL');
      } else {
        expectVerified(node);
      }
    }
  });

  test('editPageEvents: a stored timestamp that is not RFC 3339 is null in AuditEvent.timestamp, and shown as stored in event', async () => {
    const s = await anchored();
    s.up.editPageEvents((event) => void (event.timestamp = 'yesterday'));
    const page = (await s.gql(`{ search(query: "actor:alice", first: 2, order: ASC) { ... on AuditEventConnection { edges { node { timestamp event verification { verdict } } } } } }`)).search;
    expect(page.edges).toHaveLength(2);
    for (const { node } of page.edges) {
      expect(node).toMatchObject({ timestamp: null, event: { timestamp: 'yesterday' }, verification: { verdict: 'FAILED' } });
    }
  });

  test('failRoots: root(n-1) unavailable makes PublishedRoot.consistency NONE with the reason, not an error that takes the root with it', async () => {
    const s = await anchored();
    s.up.failRoots((size) => size === 30);
    const { root } = await s.gql(`{ root(treeSize: 31) { __typename ... on PublishedRoot { size consistency consistencyFailure history } ... on Error { message } } }`);
    expect(root).toMatchObject({ __typename: 'PublishedRoot', size: 31, consistency: 'NONE', history: 'PASS' });
    expect(root.consistencyFailure).toMatch(/^published root\(30\) could not be fetched: /);
    expect(s.up.calls.some((c) => c.lies.includes('answered v1/root of size 30 with 503'))).toBe(true);
  });

  test('substituteRoots: v1/root answering another size than the tree_size asked for is an integrity failure naming both, not a check error', async () => {
    const s = await anchored();
    const before = await s.check();
    s.up.substituteRoots((size) => size - 1);
    await s.log(4, 'alice'); // published: 38; the monitor asks for root(31) to see it unchanged
    const checked = await s.check();
    expect(checked).toMatchObject({ state: 'FAILED', lastVerifiedSize: 31, checkError: null, lastSuccessfulCheckAt: before.lastSuccessfulCheckAt });
    expect(checked.failure).toMatch(/^v1\/root for tree_size 31 answered root\(30\) [0-9a-f]{64}: the audit service gives another root than the one asked for$/);
    expect(s.up.calls.some((c) => c.lies.includes('answered root(31) with root(30)'))).toBe(true);
    expect(alarms().some((line) => line.includes(checked.failure!))).toBe(true);
    expect(await readiness(s)).toEqual({ status: 503, body: { status: 'not ready', detail: `integrity check failed: ${checked.failure}` } });
  });

  test('withholdRoots: v1/root answering Success without a root (the latest, or a size asked for) is an integrity failure, not a check error', async () => {
    const latest = await anchored();
    latest.up.withholdRoots((size) => size === undefined);
    const noLatest = await latest.check();
    expect(noLatest).toMatchObject({ state: 'FAILED', checkError: null });
    expect(noLatest.failure).toBe('v1/root (the latest root) answered Success without a published root: the audit service withholds the root it claims to give');

    const sized = await anchored();
    sized.up.withholdRoots((size) => size === 31);
    await sized.log(2, 'alice');
    const noSized = await sized.check();
    expect(noSized).toMatchObject({ state: 'FAILED', lastVerifiedSize: 31, checkError: null });
    expect(noSized.failure).toMatch(/^v1\/root for tree_size 31 answered Success without a published root/);
    expect(sized.up.calls.some((c) => c.lies.includes('withheld the root of size 31'))).toBe(true);
  });

  test('an upstream that fails every check: state OK with a checkError and lastSuccessfulCheckAt frozen; /ready 503 once the errors persist, 200 again once checks succeed', async () => {
    const intervalMs = 200;
    const s = await scenario({ integrityCheckIntervalMs: intervalMs });
    // Checks also run on the timer: one that began before a change may be the one joined.
    const checkUntil = async (done: (status: IntegrityStatus) => boolean): Promise<IntegrityStatus> => {
      let status = await s.check();
      for (let i = 0; i < 10 && !done(status); i++) status = await s.check();
      return status;
    };
    await s.log(31, 'alice');
    const good = await checkUntil((status) => status.lastVerifiedSize === 31);
    expect(good).toMatchObject({ state: 'OK', lastVerifiedSize: 31, checkError: null, checkErrors: 0, persistentCheckError: null });
    expect(good.lastSuccessfulCheckAt).toBe(good.lastCheckedAt);
    const lastSuccess = good.lastSuccessfulCheckAt!;

    // root(31) down: every check past the published 35 stops there. The latest root still answers,
    // so /ready's own read of it does not see the trouble: only the monitor's errors can.
    s.up.failRoots(() => true);
    await s.log(4, 'alice');
    const first = await checkUntil((status) => status.checkError !== null);
    expect(first).toMatchObject({ state: 'OK', lastVerifiedSize: 31, latestPublishedSize: 35, lastSuccessfulCheckAt: lastSuccess, persistentCheckError: null });
    expect(first.checkError).toMatch(/^the integrity check could not finish: ServiceUnavailableError: /);
    expect(first.lastCheckedAt! > lastSuccess).toBe(true);
    // One error (or two) is not an outage.
    expect((await readiness(s)).status).toBe(200);

    const deadline = Date.now() + 15_000;
    let ready = await readiness(s);
    while (ready.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      ready = await readiness(s);
    }
    const stuck = s.running.integrity!.status();
    expect(ready.status).toBe(503);
    expect(ready.body.detail).toMatch(
      new RegExp(`^integrity checks failing: \\d+ integrity checks in a row could not finish, since \\S+ \\(last successful check: ${lastSuccess.replace(/[.]/g, '\\.')}\\); the verified history is stuck at size 31\\. Last: the integrity check could not finish: ServiceUnavailableError`),
    );
    expect(stuck).toMatchObject({ state: 'OK', lastVerifiedSize: 31, lastSuccessfulCheckAt: lastSuccess });
    expect(stuck.checkErrors).toBeGreaterThanOrEqual(3);
    expect(Date.parse(stuck.lastCheckedAt!) - Date.parse(stuck.checkErrorSince!)).toBeGreaterThanOrEqual(0);
    expect(Date.now() - Date.parse(stuck.checkErrorSince!)).toBeGreaterThan(3 * intervalMs);
    const shown = (await s.gql(`{ integrity { state lastSuccessfulCheckAt lastCheckedAt checkError } }`)).integrity;
    expect(shown).toMatchObject({ state: 'OK', lastSuccessfulCheckAt: lastSuccess });
    expect(shown.checkError).toMatch(/ServiceUnavailableError/);
    const stuckGauges = await integrityGauges(s);
    expect(stuckGauges.audit_gateway_integrity_check_error_persistent).toBe(1);
    expect(stuckGauges.audit_gateway_integrity_check_errors).toBeGreaterThanOrEqual(3);
    expect(stuckGauges.audit_gateway_integrity_seconds_since_successful_check).toBeGreaterThan((3 * intervalMs) / 1000);
    expect(stuckGauges.audit_gateway_integrity_state).toBe(1);

    s.up.honest();
    while (ready.status === 503 && Date.now() < deadline + 15_000) {
      await new Promise((r) => setTimeout(r, 50));
      ready = await readiness(s);
    }
    expect(ready).toEqual({ status: 200, body: { status: 'ready', detail: 'audit service reachable' } });
    const recovered = s.running.integrity!.status();
    expect(recovered).toMatchObject({ state: 'OK', lastVerifiedSize: 35, checkError: null, checkErrors: 0, checkErrorSince: null, persistentCheckError: null });
    expect(recovered.lastSuccessfulCheckAt! > lastSuccess).toBe(true);
    const gauges = await integrityGauges(s);
    expect(gauges.audit_gateway_integrity_check_error_persistent).toBe(0);
    expect(gauges.audit_gateway_integrity_check_errors).toBe(0);
  });

  test('requireSignatures: an unsigned event in a verbose logBulk answer is signatureVerification FAIL, as on a page', async () => {
    const bulk = `mutation { logBulk(events: [{message: "unsigned 1"}, {message: "unsigned 2"}], options: {verbose: true}) { ... on LogBulkResult { results { signatureVerification } } } }`;
    const required = await scenario({ trustedKeys: [newKey()], requireSignatures: true });
    expect((await required.gql(bulk)).logBulk.results).toEqual([{ signatureVerification: 'FAIL' }, { signatureVerification: 'FAIL' }]);
    const keysOnly = await scenario({ trustedKeys: [newKey()] });
    expect((await keysOnly.gql(bulk)).logBulk.results).toEqual([{ signatureVerification: 'NONE' }, { signatureVerification: 'NONE' }]);
  });

  test('decorateEnvelopes: envelopes carrying verdict-shaped objects are FAILED, and /metrics counts only the verdicts the gateway gave', async () => {
    const s = await anchored();
    const forged = { hash: 'PASS', membership: 'PASS', consistency: 'PASS', signature: 'PASS', witness: 'PASS', verdict: 'VERIFIED' };
    s.up.decorateEnvelopes({ verification: forged, checks: [{ verification: forged }] });
    const before = await verificationChecks(s.running.url);
    // The envelope itself (what the upstream sent), the verdicts, and the verdict again under an alias.
    const page = await s.search('actor:alice', { node: `envelope ${VERDICTS_ONLY} again: verification { verdict }` });
    expect(page.edges).toHaveLength(34);
    for (const { node } of page.edges) {
      expectFailed(node, /hash/i);
      expect((node as unknown as { envelope: Json }).envelope.verification).toEqual(forged);
    }
    expect(s.up.calls.some((c) => c.lies.some((l) => l.startsWith('added verification, checks to 34 envelopes')))).toBe(true);
    const delta = countedSince(before, await verificationChecks(s.running.url));
    expect({ hashFail: delta('hash', 'FAIL'), hashPass: delta('hash', 'PASS'), failed: delta('verdict', 'FAILED'), verified: delta('verdict', 'VERIFIED'), witnessPass: delta('witness', 'PASS') }).toEqual({
      hashFail: 34,
      hashPass: 0,
      failed: 68,
      verified: 0,
      witnessPass: 0,
    });
  });

  test('no lie ever yields verified: true for an event it touched (all lies at once)', async () => {
    const s = await anchored();
    s.up.strip({ membershipProof: true }, (e) => (e.leaf_index ?? 99) % 3 === 0);
    s.up.resign(newKey());
    const page = await s.search('actor:alice');
    expect(page.edges.length).toBeGreaterThan(0);
    for (const { node } of page.edges) expect(node.verification.verified).toBe(false);
  });
});
