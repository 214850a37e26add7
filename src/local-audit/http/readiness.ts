// /health (the process answers) and /ready (it can do its work: writes to the store succeed), both
// without authentication as probes of orchestrators call them. Neither says anything secret.
import type { RawResponse } from './router.js';

export interface Readiness {
  ok: boolean;
  detail: string;
}

function json(statusCode: number, body: unknown): RawResponse {
  return { statusCode, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify(body) };
}

/** The answer for /health or /ready; undefined for any other path. */
export function readinessAnswer(path: string, ready: () => Readiness): RawResponse | undefined {
  if (path === '/health') return json(200, { status: 'ok' });
  if (path !== '/ready') return undefined;
  const state = ready();
  return json(state.ok ? 200 : 503, { status: state.ok ? 'ready' : 'not ready', detail: state.detail });
}
