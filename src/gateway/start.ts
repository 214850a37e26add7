// Starts the whole product from a configuration: the embedded local audit service (when no
// upstream is configured), the audit client, and the gateway's HTTP server. Used by main.ts and
// by end-to-end tests.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { AuditClient } from '../audit-client/index.js';
import type { GatewayConfig } from '../config.js';
import { CursorCodec } from '../graphql/cursor.js';
import { loadSigner, type EventSigner } from '../graphql/signing.js';
import { createUpstreamState } from '../graphql/upstream-state.js';
import { startLocalAudit, type LocalAudit } from '../local-audit/index.js';
import { runFullAuditProcess } from '../full-audit/index.js';
import { defaultIntegrityKeyFile, loadOrCreateIntegrityKey } from '../trust/state-file.js';
import { loadTrustedKeys, type TrustedKeys } from '../trust/trusted-keys.js';
import { VerifiedHistory } from '../trust/verified-history.js';
import { createRootWitness } from '../trust/witness.js';
import { loadOrCreateToken } from '../local-audit/token.js';
import type { Caller } from './auth.js';
import { createAuthenticate } from './authentication.js';
import { startEmbeddedProcess, type EmbeddedProcess } from './embedded-process.js';
import { ClientPool } from './client-pool.js';
import { protectionPlugins } from './protections.js';
import { IntegrityMonitor } from './integrity-monitor.js';
import { createGateway, type Gateway } from './server.js';

export interface RunningGateway {
  url: string;
  gateway: Gateway;
  client: AuditClient;
  /** The embedded local audit service when it runs in the gateway's process. */
  local: LocalAudit | undefined;
  /** The embedded local audit service when it runs in a process of its own. */
  embeddedProcess: EmbeddedProcess | undefined;
  /** The integrity monitor, when one runs (see integrity-monitor.ts). */
  integrity: IntegrityMonitor | undefined;
  /**
   * Graceful shutdown: stops accepting, lets in-flight requests finish (at most `drainMs`, default
   * 10 s; then their connections are cut), then closes the monitor, client pools and the
   * embedded service. Calling it again returns the same promise.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

/** A cursor secret that survives restarts when there is a data dir to keep it in. */
function cursorSecret(config: GatewayConfig): Buffer {
  if (config.cursorSecret) return Buffer.from(config.cursorSecret, 'utf8');
  if (config.upstream.kind !== 'embedded') return randomBytes(32);
  const path = join(config.upstream.dataDir, 'cursor-secret');
  if (existsSync(path)) return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  const secret = randomBytes(32);
  writeFileSync(path, secret.toString('hex') + '\n', { mode: 0o600 });
  return secret;
}

function remoteClientOptions(upstream: Extract<GatewayConfig['upstream'], { kind: 'remote' }>) {
  return {
    baseUrl: upstream.baseUrl,
    ...(upstream.configId ? { configId: upstream.configId } : {}),
    ...(upstream.tenantId ? { tenantId: upstream.tenantId } : {}),
  };
}

/** One line telling a new user how to call the gateway they just started. */
function howToCall(url: string, mode: string): string {
  const auth = mode === 'none' ? '' : ` -H 'authorization: Bearer <${mode === 'passthrough' ? 'your audit token' : 'your API key'}>'`;
  return `audit-gateway: try: curl -s ${url} -H 'content-type: application/json'${auth} -d '{"query":"{ root { ... on PublishedRoot { size rootHash consistency } ... on Error { message } } }"}'`;
}

/**
 * What `npm run audit:verify` reads to audit the same log the gateway serves, for the monitor's
 * periodic audit in a child process: the upstream, the state file and its key; nothing else of
 * the gateway's environment (its callers, keys and ports are not the audit's business).
 */
function fullAuditEnvironment(config: GatewayConfig, stateFile: string | undefined, keyFile: string): Record<string, string | undefined> {
  const upstream = config.upstream;
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(upstream.kind === 'embedded'
      ? { DATA_DIR: resolve(upstream.dataDir), LOCAL_AUDIT_SCHEMA_FILE: upstream.schemaFile }
      : { AUDIT_BASE_URL: upstream.baseUrl, AUDIT_TOKEN: upstream.token, AUDIT_CONFIG_ID: upstream.configId }),
    INTEGRITY_STATE_FILE: stateFile,
    INTEGRITY_KEY_FILE: keyFile,
  };
}

/** The operator's list of signing keys, plus the gateway's own signLocal key. */
function trustedSigningKeys(config: GatewayConfig, signer: EventSigner | undefined): TrustedKeys | undefined {
  if (!config.trustedSigningKeysFile) return undefined;
  const keys = loadTrustedKeys(config.trustedSigningKeysFile);
  return signer ? keys.withKey(signer({ message: 'key probe' }).public_key) : keys;
}

export async function startGateway(config: GatewayConfig, log: (line: string) => void = console.log): Promise<RunningGateway> {
  const signer: EventSigner | undefined = config.signingKeyFile ? loadSigner(config.signingKeyFile) : undefined;
  let local: LocalAudit | undefined;
  let child: EmbeddedProcess | undefined;
  let client: AuditClient;
  if (config.upstream.kind === 'embedded' && config.upstream.separateProcess) {
    const dataDir = resolve(config.upstream.dataDir);
    mkdirSync(dataDir, { recursive: true });
    // The gateway holds the token (generated once, kept in the data dir) and hands it to the child.
    const { token, generated } = loadOrCreateToken(dataDir, config.upstream.token);
    if (generated) log(`audit-gateway: generated a bearer token for the local audit service (stored in ${dataDir}/token)`);
    child = await startEmbeddedProcess({
      dataDir,
      port: config.upstream.localPort,
      token,
      publishIntervalMs: config.upstream.publishIntervalMs,
      schemaFile: config.upstream.schemaFile,
      log,
    });
    client = new AuditClient({ baseUrl: child.url, token });
  } else if (config.upstream.kind === 'embedded') {
    local = await startLocalAudit({
      dataDir: config.upstream.dataDir,
      port: config.upstream.localPort,
      host: '127.0.0.1',
      publishIntervalMs: config.upstream.publishIntervalMs,
      ...(config.upstream.token ? { token: config.upstream.token } : {}),
      ...(config.upstream.schemaFile ? { schema: config.upstream.schemaFile } : {}),
      ...(config.upstream.resultTtlMs !== undefined ? { resultTtlMs: config.upstream.resultTtlMs } : {}),
    });
    client = new AuditClient({ baseUrl: local.url, token: local.token });
  } else {
    // In pass-through mode the gateway holds no token: its own client only probes readiness.
    client = new AuditClient({ ...remoteClientOptions(config.upstream), token: config.upstream.token || 'no-token-readiness-probe' });
  }
  const oneEventPerLeaf = config.upstream.kind === 'embedded';
  const trustOnFirstUse = config.integrityTrustOnFirstUse ?? false;
  const trustedKeys = trustedSigningKeys(config, signer);
  const witness = createRootWitness(config.rootWitness ?? { kind: 'none' });
  const history = new VerifiedHistory();
  const upstream = createUpstreamState({ client, oneEventPerLeaf, trustOnFirstUse, history, trustedKeys, witness, log });
  const auth = config.auth ?? { kind: 'none' };
  const authenticate = createAuthenticate(auth);
  const pool =
    auth.kind === 'passthrough'
      ? new ClientPool(config.upstream.kind === 'embedded' ? { baseUrl: client.baseUrl } : remoteClientOptions(config.upstream), {
          oneEventPerLeaf,
          trustOnFirstUse,
          trustedKeys,
          witness,
          log,
        })
      : undefined;
  // The monitor needs a token of its own: not in pass-through mode against a remote upstream.
  const intervalMs = config.integrityCheckIntervalMs ?? 0;
  const stateFile = config.integrityStateFile ?? (config.upstream.kind === 'embedded' ? join(resolve(config.upstream.dataDir), 'integrity-state.json') : undefined);
  const integrityKeyFile = config.integrityKeyFile ?? defaultIntegrityKeyFile();
  const auditEnv = fullAuditEnvironment(config, stateFile, integrityKeyFile);
  const integrity =
    intervalMs > 0 && (config.upstream.kind === 'embedded' || config.upstream.token)
      ? new IntegrityMonitor({
          client,
          intervalMs,
          history,
          prover: upstream.prover,
          oneEventPerLeaf,
          trustOnFirstUse,
          stateFile,
          stateKey: stateFile ? loadOrCreateIntegrityKey(integrityKeyFile) : undefined,
          upstreamId: config.upstream.kind === 'embedded' ? 'embedded' : config.upstream.baseUrl,
          ...(config.fullAuditIntervalMs ? { fullAudit: { intervalMs: config.fullAuditIntervalMs, run: (signal: AbortSignal) => runFullAuditProcess(auditEnv, signal) } } : {}),
          log,
        })
      : undefined;
  const gateway = createGateway({
    client,
    upstream,
    integrity,
    ...(authenticate ? { authenticate } : {}),
    ...(pool ? { clientFor: (caller: Caller) => pool.forToken(caller.upstreamToken!) } : {}),
    plugins: protectionPlugins({ introspection: config.introspection ?? true, blockFieldSuggestions: config.production ?? false }),
    cursors: new CursorCodec(cursorSecret(config)),
    signer,
    maxBodyBytes: config.maxBodyBytes,
    graphiql: config.graphiql,
    logError: (err) => {
      // A client that went away mid-request (or was cut at the end of a drain) is not news.
      const e = err as NodeJS.ErrnoException | undefined;
      if (e?.code === 'ECONNRESET' && e.message === 'aborted') return;
      console.error('[gateway] unexpected error:', err);
    },
    ready: async () => {
      const status = integrity?.status();
      if (status?.state === 'FAILED') return { ok: false, detail: `integrity check failed: ${status.failure}` };
      if (status?.state === 'UNANCHORED') return { ok: false, detail: `integrity unanchored: ${status.failure}` };
      const audit = status?.fullAudit;
      const audited = audit ? `; last full audit ${audit.ranAt}: ${audit.error ? `could not run (${audit.error})` : `${audit.events} events, clean`}` : '';
      try {
        await client.root({}, { signal: AbortSignal.timeout(3000) });
        return { ok: true, detail: `audit service reachable${audited}` };
      } catch (err) {
        const name = (err as Error).name;
        // A tree with nothing published yet still proves the service answers.
        if (name === 'TreeNotFoundError') return { ok: true, detail: 'audit service reachable (no published root yet)' };
        // Without a token of its own (pass-through), an Unauthorized answer proves the same.
        if (name === 'UnauthorizedError' && auth.kind === 'passthrough') return { ok: true, detail: 'audit service reachable' };
        return { ok: false, detail: `audit service not reachable: ${name}` };
      }
    },
  });
  // While draining, answers ask clients to close, and finished connections are closed. Requests in
  // flight per connection are counted: Node's closeIdleConnections() leaves alone a connection
  // that has not sent a request yet (a preconnect), which would hold the drain to its bound.
  let draining = false;
  const inFlight = new Map<Socket, number>();
  gateway.server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  gateway.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    if (draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      if (inFlight.has(socket)) inFlight.set(socket, Math.max(0, inFlight.get(socket)! - 1));
      if (draining) socket.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    gateway.server.once('error', reject);
    gateway.server.listen(config.port, config.host, () => resolve());
  });
  const { port } = gateway.server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/graphql`;
  if (local) log(`audit-gateway: embedded local audit service at ${local.url} (data in ${local.dataDir}, ${local.log.size} events)`);
  if (child) log(`audit-gateway: embedded local audit service at ${child.url} (its own process, pid ${child.pid()})`);
  log(`audit-gateway: GraphQL at ${url} (GraphiQL: open it in a browser)`);
  log(howToCall(url, auth.kind));
  integrity?.start();
  let closing: Promise<void> | undefined;
  return {
    url,
    gateway,
    client,
    local,
    embeddedProcess: child,
    integrity,
    close: (options) =>
      (closing ??= (async () => {
        draining = true;
        const drainMs = options?.drainMs ?? 10_000;
        const drained = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), drainMs);
          gateway.server.close(() => {
            clearTimeout(timer);
            resolve(true);
          });
          gateway.server.closeIdleConnections();
          for (const [socket, requests] of inFlight) if (requests === 0) socket.end();
        });
        if (!drained) {
          log(`audit-gateway: requests still running after ${drainMs} ms: closing their connections`);
          gateway.server.closeAllConnections();
        }
        await integrity?.stop();
        await witness.close();
        await client.close();
        await pool?.close();
        await local?.close();
        await child?.close();
      })()),
  };
}
