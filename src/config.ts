// Gateway configuration from the environment. Every problem is reported as one clear line (the
// caller prints it and exits), never as a stack trace.

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
    }
  | { kind: 'remote'; baseUrl: string; token: string; configId: string | undefined; tenantId: string | undefined };

export interface GatewayConfig {
  host: string;
  port: number;
  upstream: UpstreamConfig;
  signingKeyFile: string | undefined;
  /** Secret for cursor HMACs; generated per data dir or process when unset. */
  cursorSecret: string | undefined;
  maxBodyBytes: number;
  graphiql: boolean;
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

export function loadConfig(env: Env = process.env): GatewayConfig {
  const baseUrl = env.AUDIT_BASE_URL || undefined;
  const domain = env.AUDIT_DOMAIN || undefined;
  let upstream: UpstreamConfig;
  if (baseUrl || domain) {
    if (baseUrl && domain) throw new ConfigError('set AUDIT_BASE_URL or AUDIT_DOMAIN, not both');
    const token = env.AUDIT_TOKEN;
    if (!token) throw new ConfigError('AUDIT_TOKEN is required when AUDIT_BASE_URL or AUDIT_DOMAIN is set');
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
    };
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 4000, 0, 65535),
    upstream,
    signingKeyFile: env.SIGNING_KEY_FILE || undefined,
    cursorSecret: env.CURSOR_SECRET || undefined,
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1024 * 1024, 1024),
    graphiql: bool(env, 'GRAPHIQL', true),
  };
}
