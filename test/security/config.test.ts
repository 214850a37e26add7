// Configuration: unsafe or malformed settings stop the gateway with one clear line.
import { ConfigError, isLoopback, loadConfig } from '../../src/config.js';

const base = { DATA_DIR: '/tmp/x' };

test.each([
  [{ HOST: '0.0.0.0' }, /without caller authentication/],
  [{ HOST: '10.1.2.3', GATEWAY_AUTH: 'none' }, /without caller authentication/],
  [{ GATEWAY_AUTH: 'keys' }, /GATEWAY_KEYS_FILE/],
  [{ GATEWAY_AUTH: 'magic' }, /GATEWAY_AUTH must be/],
  [{ HOST: '0.0.0.0', GATEWAY_AUTH: 'passthrough' }, /embedded local service/],
  [{ PORT: '70000' }, /PORT must be an integer/],
  [{ AUDIT_BASE_URL: 'ftp://x', AUDIT_TOKEN: 't' }, /http\(s\) URL/],
  [{ AUDIT_DOMAIN: 'aws.us.pangea.cloud' }, /AUDIT_TOKEN is required/],
  [{ AUDIT_DOMAIN: 'a', AUDIT_BASE_URL: 'https://b' }, /not both/],
  [{ INTROSPECTION: 'maybe' }, /INTROSPECTION must be true or false/],
  [{ CURSOR_SECRET: 'test' }, /CURSOR_SECRET must be at least 32 characters .*openssl rand -hex 32/],
  [{ CURSOR_SECRET: 'x'.repeat(31) }, /CURSOR_SECRET must be at least 32 characters of random data \(it has 31\)/],
])('%j is refused', (env, message) => {
  expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
  expect(() => loadConfig({ ...base, ...env })).toThrow(message);
});

test('the defaults are safe: loopback, no caller auth, embedded service, introspection on outside production', () => {
  const config = loadConfig(base);
  expect(config.host).toBe('127.0.0.1');
  expect(config.auth).toEqual({ kind: 'none' });
  expect(config.upstream.kind).toBe('embedded');
  expect(config.introspection).toBe(true);
  expect(loadConfig({ ...base, NODE_ENV: 'production' })).toMatchObject({ introspection: false, production: true });
});

test('the embedded service runs in its own process unless LOCAL_AUDIT_IN_PROCESS says otherwise', () => {
  expect(loadConfig(base).upstream).toMatchObject({ kind: 'embedded', separateProcess: true });
  expect(loadConfig({ ...base, LOCAL_AUDIT_IN_PROCESS: 'true' }).upstream).toMatchObject({ kind: 'embedded', separateProcess: false });
  expect(() => loadConfig({ ...base, LOCAL_AUDIT_IN_PROCESS: 'sometimes' })).toThrow(/LOCAL_AUDIT_IN_PROCESS must be true or false/);
});

test('a public interface is allowed with caller authentication; pass-through needs no gateway token', () => {
  expect(loadConfig({ ...base, HOST: '0.0.0.0', GATEWAY_AUTH: 'keys', GATEWAY_KEYS_FILE: '/etc/keys.json' }).auth).toEqual({ kind: 'keys', file: '/etc/keys.json', inline: undefined });
  const remote = loadConfig({ HOST: '0.0.0.0', GATEWAY_AUTH: 'passthrough', AUDIT_DOMAIN: 'aws.us.pangea.cloud' });
  expect(remote.upstream).toMatchObject({ kind: 'remote', baseUrl: 'https://audit.aws.us.pangea.cloud', token: '' });
});

test('loopback detection', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopback(h)).toBe(true);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '127.0.0.1.example.com']) expect(isLoopback(h)).toBe(false);
});

test('CURSOR_SECRET: unset leaves the gateway to make one; 32 characters or more are taken as given', () => {
  expect(loadConfig(base).cursorSecret).toBeUndefined();
  expect(loadConfig({ ...base, CURSOR_SECRET: '' }).cursorSecret).toBeUndefined();
  const secret = 'a1'.repeat(32);
  expect(loadConfig({ ...base, CURSOR_SECRET: secret }).cursorSecret).toBe(secret);
  expect(loadConfig({ ...base, CURSOR_SECRET: 'y'.repeat(32) }).cursorSecret).toBe('y'.repeat(32));
});
