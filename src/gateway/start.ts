// Starts the whole product from a configuration: the embedded local audit service (when no
// upstream is configured), the audit client, and the gateway's HTTP server. Used by main.ts and
// by end-to-end tests.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { AuditAbortError, AuditClient, type AuditClientOptions, type EventSigner } from '../audit-client/index.js';
import { ConfigError, type AuthMode, type GatewayConfig } from '../config.js';
import { CursorCodec } from '../graphql/cursor.js';
import { loadSigner } from '../graphql/signing.js';
import { createUpstreamState, type UpstreamState } from '../graphql/upstream-state.js';
import { startLocalAudit, type LocalAudit } from '../local-audit/index.js';
import { runFullAuditProcess } from '../full-audit/index.js';
import { defaultIntegrityKeyFile, loadOrCreateIntegrityKey, stateMarksDir } from '../trust/state-file.js';
import { loadTrustedKeys, type TrustedKeys } from '../trust/trusted-keys.js';
import { VerifiedHistory } from '../trust/verified-history.js';
import { createRootWitness, type RootWitness } from '../trust/witness.js';
import { loadOrCreateToken } from '../local-audit/token.js';
import { prepareDataDir } from '../local-audit/data-dir.js';
import type { Caller } from '../auth/caller.js';
import { createAuthenticate } from './authentication.js';
import { createDownloads } from './download-route.js';
import { startEmbeddedProcess, type EmbeddedProcess } from './embedded-process.js';
import { ClientPool } from './client-pool.js';
import { protectionPlugins } from './protections.js';
import { persistedOperationPlugins, persistedOperationsMode } from './persisted-operations.js';
import { IntegrityMonitor } from './integrity-monitor.js';
import { GatewayMetrics } from './metrics.js';
import { startTracing, upstreamObserver } from './otel.js';
import { createGateway, type Gateway } from './server.js';
import { closeLiveTails } from '../graphql/live-tail/hub.js';

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

/**
 * A cursor secret that survives restarts when there is a data dir to keep it in. It keys cursor
 * MACs and seals download links and request handles, so a file that is not the 32 random bytes
 * (64 hex digits) written here is refused: read as hex it would become a short or empty key, and
 * replacing it would silently end every cursor, link and handle issued under it.
 */
function cursorSecret(config: GatewayConfig): Buffer {
  if (config.cursorSecret) return Buffer.from(config.cursorSecret, 'utf8');
  if (config.upstream.kind !== 'embedded') return randomBytes(32);
  const dataDir = resolve(config.upstream.dataDir);
  const path = join(dataDir, 'cursor-secret');
  if (existsSync(path)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`the cursor secret file ${path} cannot be read: ${(err as Error).message}`);
    }
    if (!/^[0-9a-f]{64}$/i.test(text)) {
      throw new ConfigError(
        `the cursor secret file ${path} must hold exactly 64 hex digits (32 random bytes), as the gateway writes it: remove it to have a new one made ` +
          `(cursors, download links and request handles issued under the old one stop working), write one with: openssl rand -hex 32, or set CURSOR_SECRET`,
      );
    }
    return Buffer.from(text, 'hex');
  }
  // Read before the embedded service starts (a bad file stops nothing half-started), so the data dir may not exist yet.
  prepareDataDir(dataDir);
  const secret = randomBytes(32);
  try {
    // wx: never written through a dangling symlink or over a file another process just made.
    writeFileSync(path, secret.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new ConfigError(`the cursor secret file ${path} cannot be created: ${(err as Error).message}`);
  }
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

/** The audit service the gateway talks to, and the embedded one when it runs it. */
interface ConnectedUpstream {
  client: AuditClient;
  local: LocalAudit | undefined;
  child: EmbeddedProcess | undefined;
}

type EmbeddedConfig = Extract<GatewayConfig['upstream'], { kind: 'embedded' }>;

/** What every AuditClient of the gateway is made with besides its base and token: the metrics' observer, log coalescing. */
type SharedClientOptions = Pick<AuditClientOptions, 'onCall' | 'coalesceLogs'>;

/** The embedded service in a process of its own; the gateway holds its token and hands it over. */
async function startEmbeddedChild(upstream: EmbeddedConfig, log: (line: string) => void, sharedClientOptions: SharedClientOptions): Promise<ConnectedUpstream> {
  const dataDir = resolve(upstream.dataDir);
  for (const warning of prepareDataDir(dataDir)) log(`audit-gateway: ${warning}`);
  // The token is generated once and kept in the data dir.
  const { token, generated } = loadOrCreateToken(dataDir, upstream.token);
  if (generated) log(`audit-gateway: generated a bearer token for the local audit service (stored in ${dataDir}/token)`);
  const child = await startEmbeddedProcess({
    dataDir,
    port: upstream.localPort,
    token,
    publishIntervalMs: upstream.publishIntervalMs,
    schemaFile: upstream.schemaFile,
    log,
  });
  return { client: new AuditClient({ baseUrl: child.url, token, ...sharedClientOptions }), local: undefined, child };
}

/** The embedded service inside the gateway's process (LOCAL_AUDIT_IN_PROCESS). */
async function startEmbeddedInProcess(upstream: EmbeddedConfig, sharedClientOptions: SharedClientOptions): Promise<ConnectedUpstream> {
  const local = await startLocalAudit({
    dataDir: upstream.dataDir,
    port: upstream.localPort,
    host: '127.0.0.1',
    publishIntervalMs: upstream.publishIntervalMs,
    ...(upstream.token ? { token: upstream.token } : {}),
    ...(upstream.schemaFile ? { schema: upstream.schemaFile } : {}),
    resultTtlMs: upstream.resultTtlMs,
  });
  return { client: new AuditClient({ baseUrl: local.url, token: local.token, ...sharedClientOptions }), local, child: undefined };
}

async function connectUpstream(config: GatewayConfig, log: (line: string) => void, sharedClientOptions: SharedClientOptions): Promise<ConnectedUpstream> {
  if (config.upstream.kind === 'embedded') {
    return config.upstream.separateProcess ? startEmbeddedChild(config.upstream, log, sharedClientOptions) : startEmbeddedInProcess(config.upstream, sharedClientOptions);
  }
  // In pass-through mode the gateway holds no token: its own client only probes readiness.
  const client = new AuditClient({ ...remoteClientOptions(config.upstream), token: config.upstream.token || 'no-token-readiness-probe', ...sharedClientOptions });
  return { client, local: undefined, child: undefined };
}

/** What verdicts are held against, shared by the request path, the monitor and pass-through clients. */
interface Trust {
  oneEventPerLeaf: boolean;
  trustOnFirstUse: boolean;
  trustedKeys: TrustedKeys | undefined;
  witness: RootWitness;
  history: VerifiedHistory;
}

function createTrust(config: GatewayConfig, signer: EventSigner | undefined): Trust {
  return {
    oneEventPerLeaf: config.upstream.kind === 'embedded',
    trustOnFirstUse: config.integrityTrustOnFirstUse ?? false,
    trustedKeys: trustedSigningKeys(config, signer),
    witness: createRootWitness(config.rootWitness ?? { kind: 'none' }),
    history: new VerifiedHistory(),
  };
}

/** Pass-through mode: a client, root cache and verified history per caller token. */
function createPassthroughPool(config: GatewayConfig, auth: AuthMode, client: AuditClient, trust: Trust, log: (line: string) => void, sharedClientOptions: SharedClientOptions): ClientPool | undefined {
  if (auth.kind !== 'passthrough') return undefined;
  const { oneEventPerLeaf, trustOnFirstUse, trustedKeys, witness } = trust;
  return new ClientPool({ ...(config.upstream.kind === 'embedded' ? { baseUrl: client.baseUrl } : remoteClientOptions(config.upstream)), ...sharedClientOptions }, {
    oneEventPerLeaf,
    trustOnFirstUse,
    trustedKeys,
    witness,
    log,
  });
}

/** Whether the upstream takes a pass-through token: one root read with it. */
async function confirmPassthroughToken(pool: ClientPool, token: string): Promise<'valid' | 'invalid'> {
  try {
    await pool.forToken(token).client.root({}, { signal: AbortSignal.timeout(5000) });
    return 'valid';
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TreeNotFoundError') return 'valid';
    if (name === 'UnauthorizedError' || name === 'ServiceNotEnabledError') return 'invalid';
    throw err;
  }
}

/** The integrity monitor, when configured; it needs a token of its own: not in pass-through mode against a remote upstream. */
function createIntegrityMonitor(config: GatewayConfig, client: AuditClient, upstream: UpstreamState, trust: Trust, log: (line: string) => void): IntegrityMonitor | undefined {
  const intervalMs = config.integrityCheckIntervalMs ?? 0;
  const stateFile = config.integrityStateFile ?? (config.upstream.kind === 'embedded' ? join(resolve(config.upstream.dataDir), 'integrity-state.json') : undefined);
  const integrityKeyFile = config.integrityKeyFile ?? defaultIntegrityKeyFile();
  const auditEnv = fullAuditEnvironment(config, stateFile, integrityKeyFile);
  if (!(intervalMs > 0 && (config.upstream.kind === 'embedded' || config.upstream.token))) return undefined;
  return new IntegrityMonitor({
    client,
    intervalMs,
    history: trust.history,
    prover: upstream.prover,
    oneEventPerLeaf: trust.oneEventPerLeaf,
    trustOnFirstUse: trust.trustOnFirstUse,
    stateFile,
    stateKey: stateFile ? loadOrCreateIntegrityKey(integrityKeyFile) : undefined,
    stateMarks: stateMarksDir(integrityKeyFile),
    upstreamId: config.upstream.kind === 'embedded' ? 'embedded' : config.upstream.baseUrl,
    ...(config.fullAuditIntervalMs ? { fullAudit: { intervalMs: config.fullAuditIntervalMs, run: (signal: AbortSignal) => runFullAuditProcess(auditEnv, signal) } } : {}),
    log,
  });
}

/**
 * Metrics unless METRICS=off. When callers authenticate, /metrics is no more open than GraphQL:
 * it asks for METRICS_TOKEN, and without one it is off.
 */
function metricsFor(config: GatewayConfig, auth: AuthMode, log: (line: string) => void): GatewayMetrics | undefined {
  if (config.metrics === false) return undefined;
  if (auth.kind !== 'none' && !config.metricsToken) {
    log(`audit-gateway: /metrics is off: GATEWAY_AUTH=${auth.kind} needs METRICS_TOKEN to serve it`);
    return undefined;
  }
  return new GatewayMetrics();
}

function logUnexpectedError(err: unknown): void {
  // A client that went away mid-request (or was cut at the end of a drain) is not news, nor is an
  // upstream call its leaving stopped (the resolver's error, which nobody is left to read).
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code === 'ECONNRESET' && e.message === 'aborted') return;
  if (err instanceof AuditAbortError || (err as { originalError?: unknown } | undefined)?.originalError instanceof AuditAbortError) return;
  console.error('[gateway] unexpected error:', err);
}

/**
 * /ready: the integrity monitor has not failed, is anchored and its checks still finish (a check
 * error that persists leaves the state OK but the verified history frozen), and the upstream answers.
 */
function readinessCheck(
  client: AuditClient,
  integrity: IntegrityMonitor | undefined,
  auth: AuthMode,
  embeddedReadyUrl: string | undefined,
): () => Promise<{ ok: boolean; detail: string }> {
  return async () => {
    const status = integrity?.status();
    if (status?.state === 'FAILED') return { ok: false, detail: `integrity check failed: ${status.failure}` };
    if (status?.state === 'UNANCHORED') return { ok: false, detail: `integrity unanchored: ${status.failure}` };
    // The embedded service knows what a root read cannot show: its writes failing, a damaged file.
    if (embeddedReadyUrl) {
      const service = await embeddedReadiness(embeddedReadyUrl);
      if (service) return { ok: false, detail: `local audit service not ready: ${service}` };
    }
    const audit = status?.fullAudit;
    const audited = audit ? `; last full audit ${audit.ranAt}: ${audit.error ? `could not run (${audit.error})` : `${audit.events} events, clean`}` : '';
    const reachable = await upstreamReachable(client, auth, audited);
    // After the root read: when the upstream cannot be reached, that is why the checks fail, and
    // the more direct thing to say.
    if (reachable.ok && status?.persistentCheckError) return { ok: false, detail: `integrity checks failing: ${status.persistentCheckError}` };
    return reachable;
  };
}

/** /ready's own read of the latest root: whether the upstream answers at all. */
async function upstreamReachable(client: AuditClient, auth: AuthMode, audited: string): Promise<{ ok: boolean; detail: string }> {
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
}

/** Why the embedded service says it is not ready, or undefined when it is (or cannot be asked: the root read below then says so). */
async function embeddedReadiness(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const body = (await res.json().catch(() => ({}))) as { detail?: unknown };
    return typeof body.detail === 'string' ? body.detail : `HTTP ${res.status}`;
  } catch {
    return undefined;
  }
}

/** Stops the server accepting and lets requests in flight finish; true when they did within `drainMs`. */
type Drain = (drainMs: number) => Promise<boolean>;

/**
 * Counts requests in flight per connection, so a drain can end idle connections at once. While
 * draining, answers ask clients to close and finished connections are closed. Node's
 * closeIdleConnections() alone leaves a connection that has not sent a request yet (a
 * preconnect), which would hold the drain to its bound.
 */
function trackConnectionsForDrain(server: Server): Drain {
  let draining = false;
  const inFlight = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    if (draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      if (inFlight.has(socket)) inFlight.set(socket, Math.max(0, inFlight.get(socket)! - 1));
      if (draining) socket.end();
    });
  });
  return (drainMs) => {
    draining = true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), drainMs);
      server.close(() => {
        clearTimeout(timer);
        resolve(true);
      });
      server.closeIdleConnections();
      for (const [socket, requests] of inFlight) if (requests === 0) socket.end();
    });
  };
}

/** Listens on the configured host and port; resolves to the GraphQL endpoint's URL. */
async function listen(server: Server, config: GatewayConfig): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/graphql`;
}

function announce(log: (line: string) => void, url: string, { local, child }: ConnectedUpstream, auth: AuthMode): void {
  if (local) log(`audit-gateway: embedded local audit service at ${local.url} (data in ${local.dataDir}, ${local.log.size} events)`);
  if (child) log(`audit-gateway: embedded local audit service at ${child.url} (its own process, pid ${child.pid()})`);
  log(`audit-gateway: GraphQL at ${url} (GraphiQL: open it in a browser)`);
  log(howToCall(url, auth.kind));
}

export async function startGateway(config: GatewayConfig, log: (line: string) => void = console.log): Promise<RunningGateway> {
  const signer: EventSigner | undefined = config.signingKeyFile ? loadSigner(config.signingKeyFile) : undefined;
  const persisted = persistedOperationsMode(config);
  // The callers are read before anything starts: a missing keys file is one line, nothing else.
  const auth = config.auth ?? { kind: 'none' };
  // Pass-through tokens are confirmed with the upstream through the pool made once it is connected.
  const passthrough: { pool?: ClientPool } = {};
  const authenticate = createAuthenticate(auth, (token) => confirmPassthroughToken(passthrough.pool!, token));
  // Before anything starts, like the callers: a bad secret file is one line, nothing left running.
  const secret = cursorSecret(config);
  const metrics = metricsFor(config, auth, log);
  // Configured by the standard OTEL_* variables, which the OpenTelemetry SDK reads itself.
  const tracing = startTracing(process.env);
  const sharedClientOptions: SharedClientOptions = { ...upstreamObserver(metrics, tracing), coalesceLogs: config.logCoalescing ?? true };
  const connected = await connectUpstream(config, log, sharedClientOptions);
  const { client, local, child } = connected;
  const trust = createTrust(config, signer);
  const { oneEventPerLeaf, trustOnFirstUse, history, trustedKeys, witness } = trust;
  const upstream = createUpstreamState({ client, oneEventPerLeaf, trustOnFirstUse, history, trustedKeys, witness, log });
  const pool = createPassthroughPool(config, auth, client, trust, log, sharedClientOptions);
  passthrough.pool = pool;
  const integrity = createIntegrityMonitor(config, client, upstream, trust, log);
  metrics?.watchIntegrity(integrity);
  if (!config.cursorSecret && config.upstream.kind !== 'embedded') {
    log('audit-gateway: CURSOR_SECRET is not set: cursors, download links and request handles of this process die with it, and replicas need one shared CURSOR_SECRET');
  }
  // Until the server listens (port 0 is chosen then), the public URL is not known; no URL is made before.
  let publicUrl = config.publicUrl;
  const downloads = createDownloads({
    client,
    publicUrl: () => publicUrl!,
    // Links survive a restart exactly when cursors do: both keys come from the cursor secret.
    secret,
    authenticate,
    logError: logUnexpectedError,
    trustedDocumentsOnly: persisted.kind === 'trusted',
  });
  const gateway = createGateway({
    downloads,
    client,
    upstream,
    integrity,
    ...(authenticate ? { authenticate } : {}),
    ...(pool ? { clientFor: (caller: Caller) => pool.forToken(caller.upstreamToken!) } : {}),
    plugins: [...protectionPlugins({ introspection: config.introspection ?? true, blockFieldSuggestions: config.production ?? false }), ...persistedOperationPlugins(persisted)],
    cursors: new CursorCodec(secret),
    signer,
    maxBodyBytes: config.maxBodyBytes,
    // GraphiQL sends query text, which trusted-documents mode refuses.
    graphiql: config.graphiql && persisted.kind !== 'trusted',
    corsOrigins: config.corsOrigins ?? [],
    allowedHosts: config.allowedHosts ?? [],
    liveTailIntervalMs: config.liveTailIntervalMs,
    logError: logUnexpectedError,
    metrics,
    metricsToken: config.metricsToken,
    accessLog: config.accessLog === 'json' ? log : undefined,
    traced: tracing !== undefined,
    // Operations over a WebSocket carry query text, which trusted-documents mode refuses.
    webSocket: persisted.kind !== 'trusted',
    ready: readinessCheck(client, integrity, auth, config.upstream.kind === 'embedded' ? `${client.baseUrl}/ready` : undefined),
  });
  const drain = trackConnectionsForDrain(gateway.server);
  // Over the embedded service, a gateway with no verified history yet checks before it listens:
  // a fresh data directory is then anchored at its empty log before any request can log into it.
  // Started after listening, a first event logged before the first check left the history
  // unanchored (its events PENDING) until a full audit found a published root.
  if (integrity && config.upstream.kind === 'embedded' && !integrity.history.anchored) await integrity.start();
  const url = await listen(gateway.server, config);
  publicUrl ??= new URL(url).origin;
  announce(log, url, connected, auth);
  void integrity?.start();
  // Started now, the service's search threads no longer compete with this process's start.
  child?.warmSearchWorkers();
  local?.warmSearchWorkers();
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
        const drainMs = options?.drainMs ?? 10_000;
        // Live tails never finish on their own: end them so the drain does not wait its bound.
        for (const upstreamClient of [client, ...(pool?.clientsInUse() ?? [])]) closeLiveTails(upstreamClient);
        // WebSocket clients are told to go (1001) while the listener stops accepting at once.
        const webSocketsClosed = gateway.webSocket?.close();
        if (!(await drain(drainMs))) {
          log(`audit-gateway: requests still running after ${drainMs} ms: closing their connections`);
          gateway.server.closeAllConnections();
        }
        await webSocketsClosed;
        await integrity?.stop();
        await witness.close();
        await client.close();
        await pool?.close();
        await local?.close();
        await child?.close();
        await tracing?.shutdown();
      })()),
  };
}
