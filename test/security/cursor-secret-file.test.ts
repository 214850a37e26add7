// <DATA_DIR>/cursor-secret: made once (32 random bytes, 64 hex digits, 0600) and used as it is; a
// file that is anything else stops the gateway before it starts, naming the file, and is left alone.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DownloadLinks } from '../../src/auth/download-links.js';
import { ConfigError, type GatewayConfig } from '../../src/config.js';
import { startGateway } from '../../src/gateway/start.js';
import { tempDir } from '../support/gateway.js';

let dir: string;
beforeEach(() => {
  dir = tempDir('cursor-secret-');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function config(dataDir: string): GatewayConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    upstream: { kind: 'embedded', dataDir, localPort: 0, publishIntervalMs: 0, token: undefined, schemaFile: undefined, separateProcess: false },
    signingKeyFile: undefined,
    cursorSecret: undefined,
    maxBodyBytes: 1024 * 1024,
    graphiql: false,
    integrityTrustOnFirstUse: true,
  };
}

test.each([
  ['empty', ''],
  ['blank', '\n'],
  ['not hex', 'correct horse battery staple'],
  ['short hex', 'abcd'],
  ['63 hex digits', 'a'.repeat(63)],
  ['65 hex digits', 'a'.repeat(65)],
  ['64 hex digits and more', 'a'.repeat(64) + ' zz'],
  ['64 characters, not all hex', 'a'.repeat(62) + 'zz'],
])('a %s secret file is refused, named, and left as it is; nothing starts', async (_name, content) => {
  const path = join(dir, 'cursor-secret');
  writeFileSync(path, content, { mode: 0o600 });
  const started = startGateway(config(dir), () => {});
  await expect(started).rejects.toThrow(ConfigError);
  await expect(startGateway(config(dir), () => {})).rejects.toThrow(`the cursor secret file ${path} must hold exactly 64 hex digits`);
  expect(readFileSync(path, 'utf8')).toBe(content);
  // The embedded service did not start: it would have made its token and database here.
  expect(readdirSync(dir)).toEqual(['cursor-secret']);
});

test('a secret file that is not a readable file is refused, named', async () => {
  const path = join(dir, 'cursor-secret');
  // A directory where the file should be.
  mkdirSync(path);
  await expect(startGateway(config(dir), () => {})).rejects.toThrow(`the cursor secret file ${path} cannot be read`);
});

test('with no secret file, one is made (64 hex digits, 0600) in a data dir that did not exist yet, and used', async () => {
  const dataDir = join(dir, 'data');
  const running = await startGateway(config(dataDir), () => {});
  try {
    const path = join(dataDir, 'cursor-secret');
    const hex = readFileSync(path, 'utf8').trim();
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    // A link sealed under that key opens (the file behind it is unknown: 410, not 403).
    const link = new DownloadLinks(Buffer.from(hex, 'hex')).seal({
      upstreamUrl: `${running.local!.url}/downloads/${'A'.repeat(43)}`,
      callerId: 'local',
      tenantId: undefined,
      format: 'csv',
      expiresAtMs: Date.now() + 60_000,
    });
    const origin = new URL(running.url).origin;
    expect((await fetch(`${origin}/downloads/${link}`)).status).toBe(410);
  } finally {
    await running.close();
  }
});

test('an operator-written secret file (upper-case hex, trailing newline) is used as it is', async () => {
  const secret = randomBytes(32);
  const path = join(dir, 'cursor-secret');
  writeFileSync(path, secret.toString('hex').toUpperCase() + '\n', { mode: 0o600 });
  const running = await startGateway(config(dir), () => {});
  try {
    const link = new DownloadLinks(secret).seal({ upstreamUrl: `${running.local!.url}/downloads/${'A'.repeat(43)}`, callerId: 'local', tenantId: undefined, format: 'csv', expiresAtMs: Date.now() + 60_000 });
    const origin = new URL(running.url).origin;
    expect((await fetch(`${origin}/downloads/${link}`)).status).toBe(410);
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(secret.toString('hex').toUpperCase() + '\n');
  } finally {
    await running.close();
  }
});
