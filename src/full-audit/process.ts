// The full audit in a child process, for a long-running server (the gateway's integrity monitor):
// the audit is CPU-bound for tens of seconds on a big log, and in a child it neither holds up the
// server's event loop nor grows its heap. The child is the CLI itself (`--json`), from the same
// tree as the caller: src/ with tsx, or dist/ with node alone.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FullAuditReport } from './types.js';

// Compiled (dist/), the CLI is JavaScript next to this module and node runs it as it is; from
// source it is TypeScript, run with tsx as the loader.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CLI = fileURLToPath(new URL(`./cli.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));
// An absolute loader URL: the child keeps the caller's working directory (a relative DATA_DIR
// means the same there), which need not be where tsx is installed.
const LOADER_ARGS = FROM_SOURCE ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
/** The most of the child's stderr kept for an error message. */
const STDERR_LIMIT = 64 * 1024;

/** Why the audit could not run: the CLI's exit status 2, with the line it printed. */
export class FullAuditRunError extends Error {
  override name = 'FullAuditRunError';
}

/**
 * Runs `audit:verify --json` in a child process with exactly the environment `env` (DATA_DIR, or
 * AUDIT_BASE_URL/AUDIT_DOMAIN and AUDIT_TOKEN, INTEGRITY_STATE_FILE, INTEGRITY_KEY_FILE...;
 * undefined values are left out) and the caller's working directory. Resolves with its report whether it found something
 * (exit 1) or not (exit 0); rejects with a FullAuditRunError carrying the child's error line when
 * it could not run (exit 2) or died, and with the signal's reason when `signal` aborts (the child
 * is then terminated).
 */
export function runFullAuditProcess(env: Record<string, string | undefined>, signal?: AbortSignal): Promise<FullAuditReport> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  return new Promise<FullAuditReport>((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER_ARGS, CLI, '--json'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
    });
    const onAbort = (): void => {
      child.kill('SIGTERM');
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new FullAuditRunError(`cannot start the audit process: ${err.message}`));
    });
    child.once('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return;
      const lastLine = stderr.trim().split('\n').pop()?.trim() ?? '';
      if (code === 0 || code === 1) {
        try {
          resolve(JSON.parse(Buffer.concat(stdout).toString('utf8')) as FullAuditReport);
        } catch {
          reject(new FullAuditRunError(`the audit process printed no report${lastLine ? `: ${lastLine}` : ''}`));
        }
      } else if (code === 2) {
        reject(new FullAuditRunError(lastLine.replace(/^audit-verify: /, '') || 'the audit could not run'));
      } else {
        reject(new FullAuditRunError(`the audit process ended with ${code !== null ? `exit status ${code}` : `signal ${killedBy}`}${lastLine ? `: ${lastLine}` : ''}`));
      }
    });
  });
}
