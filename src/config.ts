// Gateway configuration from the environment. Every problem is reported as one clear line (the
// caller prints it and exits), never as a stack trace.
import { parseRootWitness, type WitnessConfig } from './trust/witness.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type UpstreamConfig =
  | {
      kind: 'embedded';
      dataDir: string;
      token: string | undefined;
      localPort: number;
      publishIntervalMs: number;
      schemaFile: string | undefined;
      /** How long search result sets live (default: the local service's 24 h); tests shorten it. */
      resultTtlMs?: number;
      /**
       * Run the service in a process of its own (gateway/embedded-process.ts) instead of in the
       * gateway's; loadConfig sets it unless LOCAL_AUDIT_IN_PROCESS=true.
       */
      separateProcess?: boolean;
    }
  | { kind: 'remote'; baseUrl: string; /** Empty in pass-through mode. */ token: string; configId: string | undefined; tenantId: string | undefined };

/**
 * How callers prove who they are:
 * - none: no caller authentication; only allowed on a loopback address.
 * - passthrough: each caller sends its own upstream token; the gateway forwards it and holds none.
 * - keys: the gateway holds the upstream token; callers present API keys or JWTs with scopes.
 */
export type AuthMode = { kind: 'none' } | { kind: 'passthrough' } | { kind: 'keys'; file: string | undefined; inline: string | undefined };

export interface GatewayConfig {
  host: string;
  port: number;
  /**
   * The base of every URL the gateway hands out (download links, poll URLs): how clients reach it
   * (PUBLIC_URL, e.g. https://audit.example.com behind a proxy). Default: the address it listens on.
   */
  publicUrl?: string | undefined;
  upstream: UpstreamConfig;
  signingKeyFile: string | undefined;
  /**
   * Secret for cursor HMACs, download links and request handles; generated per data dir or process
   * when unset. loadConfig refuses a CURSOR_SECRET shorter than MIN_CURSOR_SECRET_CHARS.
   */
  cursorSecret: string | undefined;
  maxBodyBytes: number;
  graphiql: boolean;
  /**
   * Plain `log`/`logEvent` requests (not verbose, not verify) arriving together go upstream as one
   * `v2/log` call (LOG_COALESCING, default on; absent in a programmatic config: on).
   */
  logCoalescing?: boolean;
  /** Default { kind: 'none' } (loopback only). */
  auth?: AuthMode;
  /** Allow introspection (default: on, off when NODE_ENV=production). */
  introspection?: boolean;
  /** Outside development, validation errors do not suggest field names. Default false. */
  production?: boolean;
  /**
   * Milliseconds between integrity checks of the upstream's log (INTEGRITY_CHECK_INTERVAL_MS,
   * default 30 000; 0 turns the monitor off). Absent in a programmatic config: no monitor.
   */
  integrityCheckIntervalMs?: number;
  /** Milliseconds between a live-tail watcher's polls of the upstream (LIVE_TAIL_INTERVAL_MS, 100..60 000, default 1000). */
  liveTailIntervalMs?: number;
  /** Where the monitor keeps the verified history's anchor (INTEGRITY_STATE_FILE; default <DATA_DIR>/integrity-state.json when embedded). */
  integrityStateFile?: string | undefined;
  /**
   * The HMAC key that signs the state file, kept apart from DATA_DIR (INTEGRITY_KEY_FILE; default
   * ~/.config/audit-gateway/integrity-key, created on first use).
   */
  integrityKeyFile?: string | undefined;
  /**
   * With no integrity state over a non-empty log, accept the first root seen as the anchor
   * (INTEGRITY_TRUST_ON_FIRST_USE, default false: the state is UNANCHORED until a full audit passes).
   */
  integrityTrustOnFirstUse?: boolean;
  /** The public keys allowed to sign events (TRUSTED_SIGNING_KEYS_FILE); unset = any valid signature. */
  trustedSigningKeysFile?: string | undefined;
  /** The independent copy of published roots (ROOT_WITNESS): arweave for Pangea's cloud, none otherwise by default. */
  rootWitness?: WitnessConfig;
  /** Milliseconds between full audits by the monitor (FULL_AUDIT_INTERVAL_MS, default 24 h; 0 off). */
  fullAuditIntervalMs?: number;
  /**
   * The browser origins allowed to call the gateway cross-origin (CORS_ORIGINS, exact origins such
   * as http://localhost:5173). Default none: a page of any other origin can neither send a
   * preflighted request nor read an answer.
   */
  corsOrigins?: string[];
  /**
   * Without caller authentication, the host names requests may be addressed to (their Host header,
   * any port) besides loopback names and PUBLIC_URL's host (ALLOWED_HOSTS, comma-separated, lower
   * case). Others are refused: a page whose own name was rebound to 127.0.0.1 would otherwise run
   * as the all-scopes local caller. Unused when callers authenticate.
   */
  allowedHosts?: string[];
  /**
   * Automatic Persisted Queries: how many registered documents are kept (APQ_MAX_ENTRIES, default
   * 1000, least recently used dropped first; 0 turns APQ off). Unused with persistedOperationsFile.
   */
  apqMaxEntries?: number;
  /** A JSON map {hash: document} (PERSISTED_OPERATIONS_FILE); when set, only those operations run. */
  persistedOperationsFile?: string | undefined;
  /** Serve GET /metrics (METRICS, default on); with caller auth only when metricsToken is set. */
  metrics?: boolean;
  /** The bearer token /metrics asks for (METRICS_TOKEN); required when callers authenticate. */
  metricsToken?: string | undefined;
  /** One JSON line per request on the log (ACCESS_LOG=json; default off). */
  accessLog?: 'json' | 'off';
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function url(name: string, raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL such as https://audit.aws.us.pangea.cloud, got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  return parsed.toString().replace(/\/+$/, '');
}

/** An http(s) origin, optionally with a path prefix; no query or fragment (URLs are appended to it). */
function publicUrl(raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be a URL such as https://audit-gateway.example.com, got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`PUBLIC_URL must be an http(s) URL, got "${raw}"`);
  if (parsed.search || parsed.hash || parsed.username || parsed.password) throw new ConfigError(`PUBLIC_URL must have no query, fragment or credentials, got "${raw}"`);
  return parsed.toString().replace(/\/+$/, '');
}

export function loadConfig(env: Env = process.env): GatewayConfig {
  const baseUrl = env.AUDIT_BASE_URL || undefined;
  const domain = env.AUDIT_DOMAIN || undefined;
  let upstream: UpstreamConfig;
  if (baseUrl || domain) {
    if (baseUrl && domain) throw new ConfigError('set AUDIT_BASE_URL or AUDIT_DOMAIN, not both');
    const token = env.AUDIT_TOKEN ?? '';
    if (!token && (env.GATEWAY_AUTH || 'none').toLowerCase() !== 'passthrough') {
      throw new ConfigError('AUDIT_TOKEN is required when AUDIT_BASE_URL or AUDIT_DOMAIN is set (or use GATEWAY_AUTH=passthrough)');
    }
    if (domain && !/^[a-z0-9.-]+$/i.test(domain)) throw new ConfigError(`AUDIT_DOMAIN must be a host name such as aws.us.pangea.cloud, got "${domain}"`);
    upstream = {
      kind: 'remote',
      baseUrl: baseUrl ? url('AUDIT_BASE_URL', baseUrl) : `https://audit.${domain}`,
      token,
      configId: env.AUDIT_CONFIG_ID || undefined,
      tenantId: env.AUDIT_TENANT_ID || undefined,
    };
  } else {
    upstream = {
      kind: 'embedded',
      dataDir: env.DATA_DIR || './data',
      token: env.AUDIT_TOKEN || undefined,
      localPort: int(env, 'LOCAL_AUDIT_PORT', 4001, 0, 65535),
      publishIntervalMs: int(env, 'LOCAL_AUDIT_PUBLISH_INTERVAL_MS', 2000),
      schemaFile: env.LOCAL_AUDIT_SCHEMA_FILE || undefined,
      separateProcess: !bool(env, 'LOCAL_AUDIT_IN_PROCESS', false),
    };
  }
  const production = env.NODE_ENV === 'production';
  const authName = (env.GATEWAY_AUTH || 'none').toLowerCase();
  let auth: AuthMode;
  if (authName === 'none') auth = { kind: 'none' };
  else if (authName === 'passthrough') auth = { kind: 'passthrough' };
  else if (authName === 'keys') {
    const file = env.GATEWAY_KEYS_FILE || undefined;
    const inline = env.GATEWAY_KEYS || undefined;
    if (!file && !inline) throw new ConfigError('GATEWAY_AUTH=keys needs GATEWAY_KEYS_FILE (a JSON file) or GATEWAY_KEYS (the JSON itself)');
    if (file && inline) throw new ConfigError('set GATEWAY_KEYS_FILE or GATEWAY_KEYS, not both');
    auth = { kind: 'keys', file, inline };
  } else throw new ConfigError(`GATEWAY_AUTH must be none, passthrough or keys, got "${env.GATEWAY_AUTH}"`);
  const host = env.HOST || '127.0.0.1';
  if (auth.kind === 'none' && !isLoopback(host)) {
    throw new ConfigError(`HOST=${host} would expose the gateway without caller authentication: set GATEWAY_AUTH=keys with GATEWAY_KEYS_FILE (or GATEWAY_KEYS), or GATEWAY_AUTH=passthrough, or HOST=127.0.0.1`);
  }
  if (auth.kind === 'passthrough' && upstream.kind === 'embedded' && !isLoopback(host)) {
    throw new ConfigError('GATEWAY_AUTH=passthrough with the embedded local service would hand its token to remote callers: use GATEWAY_AUTH=keys');
  }
  return {
    host,
    port: int(env, 'PORT', 4000, 0, 65535),
    publicUrl: env.PUBLIC_URL ? publicUrl(env.PUBLIC_URL) : undefined,
    upstream,
    signingKeyFile: env.SIGNING_KEY_FILE || undefined,
    cursorSecret: cursorSecret(env.CURSOR_SECRET),
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1024 * 1024, 1024),
    graphiql: bool(env, 'GRAPHIQL', true),
    auth,
    introspection: bool(env, 'INTROSPECTION', !production),
    production,
    integrityCheckIntervalMs: int(env, 'INTEGRITY_CHECK_INTERVAL_MS', 30_000),
    liveTailIntervalMs: int(env, 'LIVE_TAIL_INTERVAL_MS', 1000, 100, 60_000),
    integrityStateFile: env.INTEGRITY_STATE_FILE || undefined,
    integrityKeyFile: env.INTEGRITY_KEY_FILE || undefined,
    integrityTrustOnFirstUse: bool(env, 'INTEGRITY_TRUST_ON_FIRST_USE', false),
    trustedSigningKeysFile: env.TRUSTED_SIGNING_KEYS_FILE || undefined,
    rootWitness: witness(env, upstream),
    fullAuditIntervalMs: int(env, 'FULL_AUDIT_INTERVAL_MS', 24 * 60 * 60 * 1000),
    corsOrigins: corsOrigins(env.CORS_ORIGINS),
    allowedHosts: allowedHosts(env.ALLOWED_HOSTS),
    apqMaxEntries: int(env, 'APQ_MAX_ENTRIES', 1000, 0, 1_000_000),
    persistedOperationsFile: env.PERSISTED_OPERATIONS_FILE || undefined,
    metrics: bool(env, 'METRICS', true),
    logCoalescing: bool(env, 'LOG_COALESCING', true),
    metricsToken: env.METRICS_TOKEN || undefined,
    accessLog: accessLog(env.ACCESS_LOG),
  };
}

/** The shortest CURSOR_SECRET accepted: 32 characters, as for a JWT HS256 secret (GATEWAY_KEYS). */
export const MIN_CURSOR_SECRET_CHARS = 32;

/**
 * CURSOR_SECRET keys the cursors' MACs and seals download links and request handles. A cursor
 * carries a MAC over data its holder knows, so anyone given one can guess the secret offline; a
 * guessable secret would let them seal links to any URL the gateway then fetches, and request
 * handles of any tenant.
 */
function cursorSecret(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < MIN_CURSOR_SECRET_CHARS) {
    throw new ConfigError(`CURSOR_SECRET must be at least ${MIN_CURSOR_SECRET_CHARS} characters of random data (it has ${raw.length}); make one with: openssl rand -hex 32`);
  }
  return raw;
}

function accessLog(raw: string | undefined): 'json' | 'off' {
  const value = (raw || 'off').toLowerCase();
  if (value === 'json' || value === 'off') return value;
  throw new ConfigError(`ACCESS_LOG must be json or off, got "${raw}"`);
}

/**
 * CORS_ORIGINS: comma-separated origins, each exactly as a browser sends it in its Origin header
 * (scheme, host, port if not the default; no path, no wildcard), since they are compared as text.
 */
export function corsOrigins(raw: string | undefined): string[] {
  const origins: string[] = [];
  for (const entry of (raw ?? '').split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    if (entry === '*' || entry === 'null') throw new ConfigError(`CORS_ORIGINS lists origins one by one (such as http://localhost:5173); "${entry}" is not accepted`);
    let parsed: URL;
    try {
      parsed = new URL(entry);
    } catch {
      throw new ConfigError(`CORS_ORIGINS: "${entry}" is not an origin such as http://localhost:5173 or https://app.example.com`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`CORS_ORIGINS: "${entry}" is not an http(s) origin`);
    const origin = parsed.origin;
    if (origin !== entry) throw new ConfigError(`CORS_ORIGINS: "${entry}" is not an origin as browsers send it (scheme://host[:port], lower case, no path); write "${origin}"`);
    origins.push(origin);
  }
  return origins;
}

/**
 * ALLOWED_HOSTS: comma-separated host names as a browser sends them in Host, without the port
 * (any port is accepted): a DNS name, an IPv4 address or a bracketed IPv6 address.
 */
export function allowedHosts(raw: string | undefined): string[] {
  const hosts: string[] = [];
  for (const entry of (raw ?? '').split(',').map((part) => part.trim().toLowerCase())) {
    if (entry === '') continue;
    const name = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.?$/.test(entry) || /^\[[0-9a-f:.]+\]$/.test(entry);
    if (!name) throw new ConfigError(`ALLOWED_HOSTS lists host names without scheme, port or wildcard (such as audit.internal or 10.0.0.5); "${entry}" is not one`);
    hosts.push(entry.replace(/\.$/, ''));
  }
  return hosts;
}

/**
 * Pangea's cloud publishes its roots to Arweave, so that is the default witness there; the
 * embedded service and any other upstream publish nowhere else, so none.
 */
function witness(env: Env, upstream: UpstreamConfig): WitnessConfig {
  const cloud = upstream.kind === 'remote' && (Boolean(env.AUDIT_DOMAIN) || /\.pangea\.cloud$/i.test(new URL(upstream.baseUrl).hostname));
  try {
    return parseRootWitness(env.ROOT_WITNESS, cloud ? 'arweave' : 'none');
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** Loopback addresses only: 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
