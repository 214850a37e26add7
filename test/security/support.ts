// A gateway with caller authentication for security tests: startGateway over an embedded local
// service, with GATEWAY_AUTH-style configuration, and a request helper that sends a credential.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthMode, GatewayConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import { tempDir, type Json } from '../support/gateway.js';

export interface SecureGateway {
  running: RunningGateway;
  url: string;
  call(query: string, credential?: string, variables?: Record<string, unknown>): Promise<{ status: number; body: Json }>;
  close(): Promise<void>;
}

export async function startSecureGateway(auth: AuthMode, extra: Partial<GatewayConfig> = {}): Promise<SecureGateway> {
  const dir = tempDir('gateway-security-');
  const config: GatewayConfig = {
    host: '127.0.0.1',
    port: 0,
    upstream: { kind: 'embedded', dataDir: join(dir, 'data'), token: undefined, localPort: 0, publishIntervalMs: 0, schemaFile: undefined },
    signingKeyFile: undefined,
    cursorSecret: 'security-test',
    maxBodyBytes: 1024 * 1024,
    graphiql: true,
    auth,
    ...extra,
  };
  const running = await startGateway(config, () => {});
  return {
    running,
    url: running.url,
    call: async (query, credential, variables) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (credential !== undefined) headers.authorization = `Bearer ${credential}`;
      const res = await fetch(running.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      return { status: res.status, body: (await res.json()) as Json };
    },
    close: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
