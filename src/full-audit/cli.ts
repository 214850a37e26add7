// `npm run audit:verify [-- --json]`: a full audit of the log the gateway is configured for (the
// same environment as `npm start`). Exit 0: no findings; 1: findings; 2: the audit could not run
// (one line on stderr saying why). A progress bar goes to stderr when it is a terminal.
import { runFullAudit, fullAuditOptionsFromEnv } from './run.js';
import { formatSummary, ProgressBar } from './summary.js';
import type { FullAuditReport } from './types.js';

const USAGE = `usage: npm run audit:verify [-- --json]

Streams every event of the audit log (DATA_DIR, or AUDIT_BASE_URL/AUDIT_DOMAIN with AUDIT_TOKEN),
recomputes every event hash, rebuilds the Merkle tree and compares it with the published roots and
the roots the gateway verified (INTEGRITY_STATE_FILE, default <DATA_DIR>/integrity-state.json,
signed under INTEGRITY_KEY_FILE, default ~/.config/audit-gateway/integrity-key).

  --json   print one JSON report on stdout instead of the summary
Exit status: 0 no findings, 1 findings, 2 the audit could not run.
`;

/** Ends the process with one line on stderr: the audit did not run. */
function cannotRun(message: string): never {
  process.stderr.write(`audit-verify: ${message}\n`);
  process.exit(2);
}

function finish(text: string, code: number): void {
  // Exit once the output is flushed (a pipe to a slow reader must get the whole report).
  process.stdout.write(text, () => process.exit(code));
}

async function main(): Promise<void> {
  let json = false;
  for (const arg of process.argv.slice(2)) {
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      return;
    } else cannotRun(`unknown argument "${arg}" (try --help)`);
  }
  const options = fullAuditOptionsFromEnv(process.env);
  const bar = process.stderr.isTTY ? new ProgressBar(process.stderr) : undefined;
  if (options.upstream.kind === 'remote') bar?.note(`exporting the log from ${options.upstream.baseUrl} …`);
  const controller = new AbortController();
  process.once('SIGINT', () => {
    bar?.clear();
    controller.abort(new Error('interrupted'));
  });
  process.once('SIGTERM', () => controller.abort(new Error('terminated')));
  let report: FullAuditReport;
  try {
    report = await runFullAudit({ ...options, signal: controller.signal, ...(bar ? { onProgress: (p) => bar.update(p) } : {}) });
  } finally {
    bar?.clear();
  }
  finish(json ? JSON.stringify(report) + '\n' : formatSummary(report), report.ok ? 0 : 1);
}

const oneLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
process.on('uncaughtException', (err) => cannotRun(oneLine(err)));
process.on('unhandledRejection', (err) => cannotRun(oneLine(err)));
main().catch((err: unknown) => cannotRun(oneLine(err)));
