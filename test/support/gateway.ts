// Starts the whole product in-process for end-to-end tests: `startGateway` from src/gateway/start.ts
// with the embedded local audit service over a fresh temp data dir (or a remote upstream URL), on
// 127.0.0.1 port 0. Queries go through POST /graphql on the real listener.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig, UpstreamConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import type { LocalAudit } from '../../src/local-audit/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface GraphQLAnswer {
  status: number;
  body: Json;
}

export interface TestGatewayOptions {
  /** Configure SIGNING_KEY_FILE with a fresh Ed25519 PKCS#8 PEM key (written to the temp dir). */
  signingKey?: boolean;
  maxBodyBytes?: number;
  /** Lifetime of the embedded service's search result sets. */
  resultTtlMs?: number;
  /** A remote upstream instead of the embedded local service. */
  remoteBaseUrl?: string;
  /** A custom event schema for the embedded service (LOCAL_AUDIT_SCHEMA_FILE). */
  schemaFile?: string;
  /** Any other configuration (a witness, trusted keys, …), laid over the defaults. */
  config?: Partial<GatewayConfig>;
}

export interface TestGateway {
  running: RunningGateway;
  /** The GraphQL endpoint, http://127.0.0.1:<port>/graphql. */
  url: string;
  /** http://127.0.0.1:<port> (for /health, /ready). */
  origin: string;
  /** The embedded local audit service, when there is one. */
  local: LocalAudit | undefined;
  dataDir: string;
  /** The configured signing key file, when `signingKey` was asked for. */
  signingKeyFile: string | undefined;
  /** POSTs a GraphQL request and returns the HTTP status and parsed body. */
  graphql(query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer>;
  /** Runs a request that must succeed: no `errors`; returns `data`. */
  runOk(query: string, variables?: Record<string, unknown>): Promise<Json>;
  /**
   * Runs a request whose (first) root field must resolve to the error union member `typename`
   * (the query must select `__typename` on it); returns that object.
   */
  runError(query: string, variables: Record<string, unknown> | undefined, typename: string): Promise<Json>;
  /** Publishes the embedded service's current tree size. */
  publish(): void;
  /** Closes the gateway (and service) and removes the temp dir. */
  close(): Promise<void>;
}

export function tempDir(prefix = 'gateway-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a fresh Ed25519 private key (PKCS#8 PEM) into `dir`; returns its path. */
export function writeSigningKey(dir: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const path = join(dir, 'signing-key.pem');
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  return path;
}

/** A 127.0.0.1 port that refuses connections: bound, then closed. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const signingKeyFile = options.signingKey ? writeSigningKey(dir) : undefined;
  const upstream: UpstreamConfig = options.remoteBaseUrl
    ? { kind: 'remote', baseUrl: options.remoteBaseUrl, token: 'x', configId: undefined, tenantId: undefined }
    : {
        kind: 'embedded',
        dataDir,
        localPort: 0,
        publishIntervalMs: 0,
        token: undefined,
        schemaFile: options.schemaFile,
        ...(options.resultTtlMs !== undefined ? { resultTtlMs: options.resultTtlMs } : {}),
      };
  const config: GatewayConfig = {
    host: '127.0.0.1',
    port: 0,
    upstream,
    signingKeyFile,
    cursorSecret: 'test',
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    graphiql: true,
    // No integrity monitor (and so no persisted anchor) here: the verified history is anchored at
    // the first root a request sees, as INTEGRITY_TRUST_ON_FIRST_USE=true does.
    integrityTrustOnFirstUse: true,
    ...options.config,
  };
  let running: RunningGateway;
  try {
    running = await startGateway(config, () => {});
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const graphql = async (query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer> => {
    const res = await fetch(running.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    });
    const text = await res.text();
    let body: Json;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`POST /graphql answered ${res.status} with a non-JSON body: ${text.slice(0, 300)}`);
    }
    return { status: res.status, body };
  };

  const runOk = async (query: string, variables?: Record<string, unknown>): Promise<Json> => {
    const { status, body } = await graphql(query, variables);
    if (body.errors !== undefined || status !== 200) {
      throw new Error(`expected success, got HTTP ${status}: ${JSON.stringify(body.errors ?? body).slice(0, 2000)}`);
    }
    return body.data;
  };

  const runError = async (query: string, variables: Record<string, unknown> | undefined, typename: string): Promise<Json> => {
    const data = await runOk(query, variables);
    const value = Object.values(data as Record<string, Json>)[0];
    if (value?.__typename !== typename) {
      throw new Error(`expected ${typename}, got ${JSON.stringify(value).slice(0, 2000)}`);
    }
    return value;
  };

  return {
    running,
    url: running.url,
    origin: new URL(running.url).origin,
    local: running.local,
    dataDir,
    signingKeyFile,
    graphql,
    runOk,
    runError,
    publish: () => {
      if (!running.local) throw new Error('no embedded local audit service to publish');
      running.local.publishNow();
    },
    close: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
