// What the client puts on the wire, as a real server records it: method, path, headers and the
// exact JSON body (config_id injection, tenant default, canonical stringification of objects).
import { canonicalJson, signEvent, verifySignature } from '../../src/merkle/index.js';
import { AuditClient } from '../../src/audit-client/index.js';
import { envelope, sendJson, startHttp, TOKEN, type TestServer } from './support/servers.js';

const SEED = new Uint8Array(32).map((_, i) => (i * 7 + 3) % 256);

describe('request wire format', () => {
  let server: TestServer;
  let client: AuditClient;

  beforeAll(async () => {
    server = await startHttp((req, res) => {
      if (req.url === '/v2/log') {
        const count = (JSON.parse(req.body) as { events: unknown[] }).events.length;
        sendJson(res, 200, envelope('Success', 'Logged', { results: Array.from({ length: count }, (_, i) => ({ hash: `h${i}` })) }));
      } else if (req.url === '/v1/root') {
        sendJson(res, 200, envelope('Success', 'ok', { data: { tree_name: 't', size: 1, root_hash: 'ab', published_at: 'x', url: 'u' } }));
      } else {
        sendJson(res, 200, envelope('Success', 'ok', { hash: 'abc' }));
      }
    });
    client = new AuditClient({ baseUrl: `${server.url}/`, token: TOKEN, configId: 'pci_config123', tenantId: 'tenant-a', userAgent: 'wire-test/1' });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });
  beforeEach(() => {
    server.requests.length = 0;
  });

  test('v1/log: bearer token, JSON headers, config_id, tenant default, canonical object fields', async () => {
    const when = new Date('2024-07-25T00:51:46.340Z');
    const out = await client.log({
      event: { message: 'hello', actor: 'alice', new: { z: 1, a: [true, 'é'] }, old: null, timestamp: when, target: undefined },
      verbose: true,
    });
    expect(out.status).toBe('Success');
    expect(out.result.hash).toBe('abc');
    expect(out.requestId).toMatch(/^prq_[a-z0-9]{32}$/);

    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/v1/log');
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers.accept).toBe('application/json');
    expect(req!.headers['user-agent']).toBe('wire-test/1');
    expect(JSON.parse(req!.body)).toEqual({
      event: {
        message: 'hello',
        actor: 'alice',
        new: '{"a":[true,"é"],"z":1}',
        timestamp: '2024-07-25T00:51:46.340Z',
        tenant_id: 'tenant-a',
      },
      verbose: true,
      config_id: 'pci_config123',
    });
    expect(JSON.parse(req!.body).event.new).toBe(canonicalJson({ z: 1, a: [true, 'é'] }));
  });

  test('an explicit tenant_id and config_id are kept', async () => {
    await client.log({ event: { message: 'm', tenant_id: 'other' }, config_id: 'pci_explicit' });
    const body = JSON.parse(server.requests[0]!.body);
    expect(body.event.tenant_id).toBe('other');
    expect(body.config_id).toBe('pci_explicit');
  });

  test('a signer signs the final event (tenant included); a presigned event is sent untouched', async () => {
    const signer = (e: Parameters<typeof signEvent>[0]) => signEvent(e, SEED);
    await client.log({ event: { message: 'signed', new: { k: 'v' } } }, { sign: signer });
    const signed = JSON.parse(server.requests[0]!.body);
    expect(signed.event).toEqual({ message: 'signed', new: '{"k":"v"}', tenant_id: 'tenant-a' });
    expect(verifySignature({ event: signed.event, signature: signed.signature, publicKey: signed.public_key }).status).toBe('PASS');

    await client.log({ event: { message: 'presigned' }, signature: 'c2ln', public_key: 'pk' });
    const presigned = JSON.parse(server.requests[1]!.body);
    expect(presigned).toEqual({ event: { message: 'presigned' }, signature: 'c2ln', public_key: 'pk', config_id: 'pci_config123' });
  });

  test('v2/log: every item prepared, order kept', async () => {
    const out = await client.logBulk({ events: [{ event: { message: 'one', old: { n: 1 } } }, { event: { message: 'two', tenant_id: 't2' } }], verbose: false });
    expect(out.result.results.map((r) => r.hash)).toEqual(['h0', 'h1']);
    expect(JSON.parse(server.requests[0]!.body)).toEqual({
      events: [{ event: { message: 'one', old: '{"n":1}', tenant_id: 'tenant-a' } }, { event: { message: 'two', tenant_id: 't2' } }],
      verbose: false,
      config_id: 'pci_config123',
    });
  });

  test('reads send the request as given plus config_id; root defaults to {}', async () => {
    await client.search({ query: 'actor:alice', limit: 20, order: 'asc', search_restriction: { actor: ['alice'] } });
    await client.root();
    await client.schema();
    expect(server.requests.map((r) => [r.url, JSON.parse(r.body)])).toEqual([
      ['/v1/search', { query: 'actor:alice', limit: 20, order: 'asc', search_restriction: { actor: ['alice'] }, config_id: 'pci_config123' }],
      ['/v1/root', { config_id: 'pci_config123' }],
      ['/v1/schema', { config_id: 'pci_config123' }],
    ]);
  });

  test('log_stream payloads are sent as given (no event preparation)', async () => {
    const payload = { logs: [{ log_id: 'l1', data: { date: '2024-03-29T17:26:50.193Z', type: 's', description: 'd', ip: '127.0.0.1' } }] };
    await client.logStream(payload);
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ ...payload, config_id: 'pci_config123' });
  });

  test('pollResult is a GET on /request/<id> with the token and no body', async () => {
    await client.pollResult('prq_abc');
    const [req] = server.requests;
    expect(req!.method).toBe('GET');
    expect(req!.url).toBe('/request/prq_abc');
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req!.headers['content-type']).toBeUndefined();
    expect(req!.body).toBe('');
  });

  test('domain resolves to https://audit.<domain>; a path prefix in baseUrl is kept', () => {
    const cloud = new AuditClient({ domain: 'aws.us.pangea.cloud', token: TOKEN });
    expect(cloud.baseUrl).toBe('https://audit.aws.us.pangea.cloud');
    const prefixed = new AuditClient({ baseUrl: 'http://127.0.0.1:9/prefix/', token: TOKEN });
    expect(prefixed.baseUrl).toBe('http://127.0.0.1:9/prefix');
    expect(() => new AuditClient({ baseUrl: `http://user:${TOKEN}@127.0.0.1:9`, token: TOKEN })).toThrow(/credentials/);
    expect(() => new AuditClient({ token: TOKEN })).toThrow(/exactly one/);
    return Promise.all([cloud.close(), prefixed.close()]);
  });
});
