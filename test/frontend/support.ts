// A real gateway for frontend tests: startGateway with the embedded local audit service over a
// fresh temp directory, both on port 0, no timed publishing (tests call publishNow), and an
// Ed25519 signing key so signLocal works.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import type { LocalAudit } from '../../src/local-audit/index.js';

export interface TestGateway {
  running: RunningGateway;
  /** The GraphQL endpoint, e.g. http://127.0.0.1:40123/graphql. */
  url: string;
  local: LocalAudit;
  close(): Promise<void>;
}

export async function startTestGateway(prefix: string): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const keyFile = join(dataDir, 'signing-key.pem');
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const running = await startGateway(
    {
      host: '127.0.0.1',
      port: 0,
      upstream: { kind: 'embedded', dataDir, token: undefined, localPort: 0, publishIntervalMs: 0, schemaFile: undefined },
      signingKeyFile: keyFile,
      cursorSecret: undefined,
      maxBodyBytes: 1024 * 1024,
      graphiql: true,
      // As npm start runs it: the integrity monitor anchors the verified history at the empty log.
      integrityCheckIntervalMs: 600_000,
      integrityKeyFile: join(dataDir, 'integrity-key'),
    },
    () => {},
  );
  await running.integrity?.checkNow();
  if (!running.local) throw new Error('expected the embedded local audit service');
  return {
    running,
    url: running.url,
    local: running.local,
    close: async () => {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
