// Gateway-keys mode: API keys and JWTs with scopes, enforced on every field, over real HTTP.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { startSecureGateway, type SecureGateway } from './support.js';

const ADMIN = 'admin-key-0123456789abcdef';
const READER = 'reader-key-0123456789abcdef';
const LOGGER = 'logger-key-0123456789abcdef';
const HS_SECRET = 'an-hs256-secret-that-is-long-enough-0123';
const ed = generateKeyPairSync('ed25519');

const LOG = `mutation { log(event: {message: "hello", actor: "a"}) { __typename ... on LogResult { hash } ... on Error { message } } }`;
const SEARCH = `{ search(query: "", first: 5) { __typename ... on AuditEventConnection { totalCount } ... on Error { message } } }`;
const ROOT = `{ root { __typename ... on Error { message } } }`;

let gw: SecureGateway;
beforeAll(async () => {
  gw = await startSecureGateway({
    kind: 'keys',
    file: undefined,
    inline: JSON.stringify({
      apiKeys: [
        { id: 'admin', key: ADMIN, scopes: ['audit:log', 'audit:search', 'audit:export', 'audit:root'] },
        { id: 'reader', key: READER, scopes: ['audit:search'] },
        // Stored as a digest (as `printf %s key | sha256sum` prints it): the file need not hold the key.
        { id: 'logger', sha256: createHash('sha256').update(LOGGER).digest('hex'), scopes: 'audit:log' },
      ],
      jwt: { hs256Secret: HS_SECRET, eddsaPublicKey: ed.publicKey.export({ type: 'spki', format: 'pem' }), issuer: 'tests', audience: 'audit-gateway' },
    }),
  });
});
afterAll(async () => {
  await gw.close();
});



describe('API keys', () => {
  test('no credential, or an unknown one, is 401 UNAUTHENTICATED before any work', async () => {
    for (const credential of [undefined, 'not-a-key', `${ADMIN}x`]) {
      const r = await gw.call(LOG, credential);
      expect(r.status).toBe(401);
      expect(r.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(r.body)).not.toContain(ADMIN);
    }
    expect(gw.running.local!.log.size).toBe(0);
  });

  test('scopes are enforced per field: a reader can search but not log; a logger can log but not search', async () => {
    const denied = await gw.call(LOG, READER);
    expect(denied.status).toBe(200);
    // Root fields are nullable: the refused field is null, its error says why.
    expect(denied.body.data).toEqual({ log: null });
    expect(denied.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(denied.body.errors[0].message).toMatch(/Mutation\.log/);
    expect(gw.running.local!.log.size).toBe(0);

    const logged = await gw.call(LOG, LOGGER);
    expect(logged.body.data.log.__typename).toBe('LogResult');
    expect((await gw.call(SEARCH, LOGGER)).body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect((await gw.call(SEARCH, READER)).body.data.search.__typename).toBe('AuditEventConnection');
    expect((await gw.call(ROOT, READER)).body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  test('a refused root field is null on its own: the other root fields of the request keep their data', async () => {
    const both = `{ search(query: "", first: 5) { __typename ... on AuditEventConnection { totalCount } } root { __typename } }`;
    const r = await gw.call(both, READER);
    expect(r.status).toBe(200);
    expect(r.body.data.search.__typename).toBe('AuditEventConnection');
    expect(r.body.data.root).toBeNull();
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors[0]).toMatchObject({ path: ['root'], extensions: { code: 'FORBIDDEN' } });

    // Two mutations: the second is refused, the first still reports the hash of what it logged.
    const twice = `mutation { first: log(event: {message: "kept", actor: "a"}) { __typename ... on LogResult { hash } } second: export { __typename } }`;
    const before = gw.running.local!.log.size;
    const m = await gw.call(twice, LOGGER);
    expect(m.body.data.first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(m.body.data.second).toBeNull();
    expect(m.body.errors[0]).toMatchObject({ path: ['second'], extensions: { code: 'FORBIDDEN' } });
    expect(gw.running.local!.log.size).toBe(before + 1);
  });

  test('export needs audit:export; polling an export needs audit:export too', async () => {
    const exp = `mutation { export { __typename ... on AcceptedRequest { requestId } } }`;
    expect((await gw.call(exp, LOGGER)).body.errors[0].extensions.code).toBe('FORBIDDEN');
    const accepted = (await gw.call(exp, ADMIN)).body.data.export;
    expect(accepted.__typename).toBe('AcceptedRequest');
    const poll = `{ pollResult(requestId: "${accepted.requestId}") { __typename ... on PollResult { requestId } } }`;
    expect((await gw.call(poll, ADMIN)).body.data.pollResult.__typename).toBe('PollResult');
    expect((await gw.call(poll, LOGGER)).body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect((await gw.call(poll, READER)).body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('JWTs', () => {
  const hs = (claims: Record<string, unknown>, exp: string | number = '5m') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('tests').setAudience('audit-gateway').setSubject('svc').setExpirationTime(exp).sign(new TextEncoder().encode(HS_SECRET));

  test('an HS256 token grants its scopes', async () => {
    const token = await hs({ scope: 'audit:search audit:root' });
    expect((await gw.call(SEARCH, token)).body.data.search.__typename).toBe('AuditEventConnection');
    expect((await gw.call(LOG, token)).body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  test('an EdDSA token grants its scopes', async () => {
    const token = await new SignJWT({ scopes: ['audit:log'] })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('tests')
      .setAudience('audit-gateway')
      .setSubject('ed-svc')
      .setExpirationTime('5m')
      .sign(ed.privateKey);
    expect((await gw.call(LOG, token)).body.data.log.__typename).toBe('LogResult');
  });

  test('expired, wrongly signed, wrong audience, unsigned and scope-less tokens are 401', async () => {
    const expired = await hs({ scope: 'audit:search' }, Math.floor(Date.now() / 1000) - 60);
    const otherSecret = await new SignJWT({ scope: 'audit:search' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('tests')
      .setAudience('audit-gateway')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    const wrongAudience = await new SignJWT({ scope: 'audit:search' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('tests')
      .setAudience('someone-else')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(HS_SECRET));
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ scope: 'audit:search', exp: Math.floor(Date.now() / 1000) + 300, iss: 'tests', aud: 'audit-gateway' })).toString('base64url');
    const unsigned = `${header}.${payload}.`;
    const noScopes = await hs({});
    const unknownScope = await hs({ scope: 'audit:everything' });
    for (const token of [expired, otherSecret, wrongAudience, unsigned, noScopes, unknownScope]) {
      const r = await gw.call(SEARCH, token);
      expect(r.status).toBe(401);
      expect(r.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  test('a token without a subject is 401: its caller would share an id (and the jobs it owns) with every other such token', async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('tests').setAudience('audit-gateway').setExpirationTime('5m').sign(new TextEncoder().encode(HS_SECRET));
    for (const token of [await sign({ scope: 'audit:log' }), await sign({ scope: 'audit:log', sub: '' }), await sign({ scope: 'audit:log', sub: 42 })]) {
      const before = gw.running.local!.log.size;
      const r = await gw.call(LOG, token);
      expect(r.status).toBe(401);
      expect(r.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(r.body.errors[0].message).toMatch(/\bsub\b/);
      expect(gw.running.local!.log.size).toBe(before);
    }
  });
});

test('GATEWAY_KEYS that is not JSON is refused naming the place, never quoting the keys around it', async () => {
  const { CallerDirectory } = await import('../../src/gateway/callers.js');
  const secret = 'a-secret-api-key-that-must-stay-in-the-file';
  for (const text of [`{"apiKeys": [{"id": "a", "key": ${secret}}]}`, `{"apiKeys": [{"id": "a", "key": "${secret}" "scopes": []}]}`]) {
    let message = '';
    try {
      CallerDirectory.fromJson(text, 'GATEWAY_KEYS');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^GATEWAY_KEYS is not valid JSON: a syntax error( at position \d+)?/);
    expect(message).not.toContain('secret');
  }
});
