// Starts a real local audit service on 127.0.0.1 (port 0) over a fresh SQLite directory, and a
// tiny client that speaks its wire format with fetch, for tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalAudit, type LocalAudit, type LocalAuditOptions } from '../../src/local-audit/index.js';

export interface RestAnswer<T = Record<string, unknown>> {
  http: number;
  status: string;
  summary: string;
  request_id: string;
  result: T;
  raw: Record<string, unknown>;
}

export interface TestService extends LocalAudit {
  post<T = Record<string, unknown>>(path: string, body: unknown, token?: string): Promise<RestAnswer<T>>;
  /** Removes the data directory after closing. */
  destroy(): Promise<void>;
}

export function tempDir(prefix = 'audit-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestService(options: LocalAuditOptions = {}): Promise<TestService> {
  const dataDir = options.dataDir ?? tempDir();
  const service = await startLocalAudit({ port: 0, publishIntervalMs: 0, token: 'test-token', onError: () => {}, ...options, dataDir });
  const post = async <T,>(path: string, body: unknown, token = service.token): Promise<RestAnswer<T>> => {
    const res = await fetch(`${service.url}/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const raw = (await res.json()) as Record<string, unknown>;
    return {
      http: res.status,
      status: raw.status as string,
      summary: raw.summary as string,
      request_id: raw.request_id as string,
      result: raw.result as T,
      raw,
    };
  };
  return Object.assign(service, {
    post,
    destroy: async () => {
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
