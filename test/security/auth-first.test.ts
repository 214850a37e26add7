// Authentication comes first: in `keys` and `passthrough` modes a request without valid
// credentials is refused with 401 on its headers alone, before its body is read and before any
// GraphQL parsing or validation (an unauthenticated caller learns nothing of the schema).
import { connect } from 'node:net';
import { startSecureGateway, type SecureGateway } from './support.js';

const KEY = 'auth-first-key-0123456789abcdef';
/** Misspelt field and argument: a validation error would name them and suggest the right ones. */
const INVALID = '{ serch(querry: "") { __typename } }';
const VALIDATION_TEXT = /Cannot query field|Unknown argument|Did you mean|serch|querry/;

let keys: SecureGateway;
let passthrough: SecureGateway;
beforeAll(async () => {
  keys = await startSecureGateway({ kind: 'keys', file: undefined, inline: JSON.stringify({ apiKeys: [{ id: 'admin', key: KEY, scopes: ['audit:log', 'audit:search', 'audit:root'] }] }) });
  passthrough = await startSecureGateway({ kind: 'passthrough' });
});
afterAll(async () => {
  await keys?.close();
  await passthrough?.close();
});

interface RawAnswer {
  /** Everything the gateway sent before it closed the connection. */
  text: string;
  status: number;
}

/**
 * Declares a body of `declared` bytes (under the gateway's 1 MiB limit) but sends only `sent`
 * bytes of it, then waits for the gateway to answer and close the connection. A gateway that
 * reads bodies before authenticating would wait for the rest forever.
 */
function partialPost(url: string, headers: Record<string, string>, declared: number, sent: number): Promise<RawAnswer> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0) }));
    const head = [`POST ${pathname} HTTP/1.1`, `host: ${hostname}:${port}`, 'content-type: application/json', `content-length: ${declared}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    socket.write(`{"query":"${' '.repeat(Math.max(0, sent - 12))}`);
  });
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe.each([
  ['keys', () => keys],
  ['passthrough', () => passthrough],
])('GATEWAY_AUTH=%s', (_mode, gateway) => {
  test('an unauthenticated invalid query is 401 UNAUTHENTICATED, with no validation error', async () => {
    for (const authorization of [undefined, '', 'Bearer ', 'Basic dXNlcjpwYXNz']) {
      const r = await post(gateway().url, JSON.stringify({ query: INVALID }), authorization === undefined ? {} : { authorization });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
      const body = JSON.parse(r.text) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(r.text).not.toMatch(VALIDATION_TEXT);
    }
  });

  test('an unauthenticated GET query is 401 before it is parsed or validated', async () => {
    const res = await fetch(`${gateway().url}?query=${encodeURIComponent(INVALID)}`, { headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' } });
    const text = await res.text();
    expect(res.status).toBe(401);
    expect(text).toContain('UNAUTHENTICATED');
    expect(text).not.toMatch(VALIDATION_TEXT);
  });

  test('an unauthenticated body is not read: the 401 comes while the client is still sending, and the connection is closed', async () => {
    const answer = await partialPost(gateway().url, {}, 1_000_000, 1024);
    expect(answer.status).toBe(401);
    expect(answer.text.toLowerCase()).toContain('connection: close');
    expect(answer.text).toContain('UNAUTHENTICATED');
  });

  test('GraphiQL’s page still needs no credentials (the browser loads it before any header can be set)', async () => {
    const res = await fetch(gateway().url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<html');
  });
});

test('keys: a wrong key is refused before the body is read too', async () => {
  const answer = await partialPost(keys.url, { authorization: 'Bearer not-the-key-0123456789' }, 1_000_000, 1024);
  expect(answer.status).toBe(401);
  expect(answer.text).toContain('unknown API key');
  expect(answer.text).not.toContain('not-the-key');
});

test('passthrough: a token the upstream does not accept is refused before the body is read; the real one is read and runs', async () => {
  const answer = await partialPost(passthrough.url, { authorization: 'Bearer made-up-token-0123456789' }, 1_000_000, 1024);
  expect(answer.status).toBe(401);
  expect(answer.text).toContain('the audit service does not accept this token');
  expect(answer.text).not.toContain('made-up-token');
  const token = passthrough.running.local!.token;
  const invalid = await post(passthrough.url, JSON.stringify({ query: INVALID }), { authorization: `Bearer ${token}` });
  expect((JSON.parse(invalid.text) as { errors: Array<{ message: string }> }).errors[0]!.message).toMatch(/Cannot query field "serch"/);
  const ok = await post(passthrough.url, JSON.stringify({ query: '{ __typename }' }), { authorization: `Bearer ${token}` });
  expect(JSON.parse(ok.text)).toEqual({ data: { __typename: 'Query' } });
});

test('keys: an authenticated caller still gets validation errors, and its queries run', async () => {
  const invalid = await post(keys.url, JSON.stringify({ query: INVALID }), { authorization: `Bearer ${KEY}` });
  expect((JSON.parse(invalid.text) as { errors: Array<{ message: string }> }).errors[0]!.message).toMatch(/Cannot query field "serch"/);
  const ok = await post(keys.url, JSON.stringify({ query: '{ __typename }' }), { authorization: `Bearer ${KEY}` });
  expect(ok.status).toBe(200);
  expect(JSON.parse(ok.text)).toEqual({ data: { __typename: 'Query' } });
});
