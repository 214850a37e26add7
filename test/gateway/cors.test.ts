// CORS is closed by default: no origin gets an Access-Control-Allow-Origin header, and a preflight
// gets no allow headers. CORS_ORIGINS opens it for the origins it lists, exactly, and is checked
// at start. (test/frontend/cors.test.ts shows what a real browser then can and cannot do.)
import { ConfigError, corsOrigins, loadConfig } from '../../src/config.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const APP = 'http://localhost:5173';
const OTHER = 'http://127.0.0.1:8081';
const QUERY = JSON.stringify({ query: '{ __typename }' });

let closed: TestGateway;
let open: TestGateway;
beforeAll(async () => {
  closed = await startTestGateway();
  open = await startTestGateway({ config: { corsOrigins: [APP, 'https://app.example.com'] } });
});
afterAll(async () => {
  await closed?.close();
  await open?.close();
});

const preflight = (url: string, origin: string): Promise<Response> =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });

const post = (url: string, origin: string): Promise<Response> => fetch(url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: QUERY });

function corsHeaders(res: Response): Record<string, string> {
  const found: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name.startsWith('access-control-')) found[name] = value;
  });
  return found;
}

describe('without CORS_ORIGINS', () => {
  test.each([APP, OTHER, 'null'])('origin %s: the preflight and the answer carry no CORS header', async (origin) => {
    expect(corsHeaders(await preflight(closed.url, origin))).toEqual({});
    const res = await post(closed.url, origin);
    // A request sent anyway (not from a browser) is answered; a browser would not show it.
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({});
  });
});

describe('with CORS_ORIGINS', () => {
  test.each([APP, 'https://app.example.com'])('a listed origin (%s) is allowed, without credentials', async (origin) => {
    const pre = corsHeaders(await preflight(open.url, origin));
    expect(pre['access-control-allow-origin']).toBe(origin);
    expect(pre['access-control-allow-methods']).toBe('GET, POST');
    expect(pre['access-control-allow-headers']).toContain('content-type');
    expect(pre['access-control-allow-headers']).toContain('authorization');
    expect(pre['access-control-allow-credentials']).toBeUndefined();
    const answer = corsHeaders(await post(open.url, origin));
    expect(answer['access-control-allow-origin']).toBe(origin);
    expect(answer['access-control-allow-credentials']).toBeUndefined();
  });

  test.each([OTHER, 'null', 'http://localhost:5174', 'http://localhost:5173.evil.example'])('an unlisted origin (%s) gets no CORS header', async (origin) => {
    expect(corsHeaders(await preflight(open.url, origin))).toEqual({});
    expect(corsHeaders(await post(open.url, origin))).toEqual({});
  });
});

describe('CORS_ORIGINS is validated at start', () => {
  test('a comma-separated list of exact origins, spaces and empty entries ignored', () => {
    expect(corsOrigins(undefined)).toEqual([]);
    expect(corsOrigins('')).toEqual([]);
    expect(corsOrigins(' http://localhost:5173 , https://app.example.com,')).toEqual(['http://localhost:5173', 'https://app.example.com']);
    expect(corsOrigins('http://[::1]:8080')).toEqual(['http://[::1]:8080']);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com' }).corsOrigins).toEqual(['https://app.example.com']);
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  test.each([
    ['*', /one by one/],
    ['null', /one by one/],
    ['localhost:5173', /not an http\(s\) origin/],
    ['app.example.com', /not an origin such as/],
    ['http://localhost:5173/', /write "http:\/\/localhost:5173"/],
    ['https://app.example.com/app', /write "https:\/\/app.example.com"/],
    ['https://app.example.com:443', /write "https:\/\/app.example.com"/],
    ['HTTP://LOCALHOST:5173', /write "http:\/\/localhost:5173"/],
    ['ftp://files.example.com', /not an http\(s\) origin/],
    ['http://localhost:5173;https://app.example.com', /CORS_ORIGINS/],
  ])('%s is refused with a clear error', (raw, message) => {
    expect(() => loadConfig({ CORS_ORIGINS: raw })).toThrow(ConfigError);
    expect(() => loadConfig({ CORS_ORIGINS: raw })).toThrow(message);
  });
});
