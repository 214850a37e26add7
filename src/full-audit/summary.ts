// What `npm run audit:verify` shows people: the summary on stdout, and the progress bar on stderr.
import { FINDING_KINDS, type AuditProgress, type Finding, type FullAuditReport } from './types.js';

const n = (value: number): string => value.toLocaleString('en');

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function where(f: Finding): string {
  if (f.leafIndex !== undefined) return `leaf ${f.leafIndex}`;
  if (f.size !== undefined) return `size ${f.size}`;
  return '';
}

export function formatSummary(report: FullAuditReport): string {
  const lines: string[] = [];
  lines.push(`Full audit of the ${report.source} log at ${report.location}`);
  const order = report.leafOrder === 'leaf_index' ? "the events' leaf indexes" : 'received_at order (the export gave no leaf indexes)';
  lines.push(`  events            ${n(report.events)} (leaf order: ${order})`);
  lines.push(`  rebuilt tree      ${n(report.treeSize)} leaves, root ${report.rootHash ?? '(empty)'}`);
  lines.push(`  published roots   ${n(report.publishedRootsChecked)} compared`);
  lines.push(`  verified roots    ${n(report.verifiedRootsChecked)} compared`);
  lines.push(`  time              ${seconds(report.durationMs)} (${n(report.eventsPerSecond)} events/s)`);
  const total = report.findings.length + report.findingsOmitted;
  if (total === 0) {
    lines.push('  result            OK: every event, leaf and root agrees');
    return lines.join('\n') + '\n';
  }
  const counts = FINDING_KINDS.filter((k) => report.findingCounts[k] > 0).map((k) => `${k} ${n(report.findingCounts[k])}`);
  lines.push(`  result            ${n(total)} FINDING${total === 1 ? '' : 'S'} (${counts.join(', ')})`);
  const width = Math.max(...report.findings.map((f) => where(f).length));
  for (const f of report.findings) lines.push(`    ${where(f).padEnd(width)}  ${f.kind.padEnd(13)}  ${f.detail}`);
  if (report.findingsOmitted > 0) lines.push(`    … and ${n(report.findingsOmitted)} more not listed`);
  return lines.join('\n') + '\n';
}

/** A one-line progress bar redrawn in place on a terminal, at most every 100 ms. */
export class ProgressBar {
  private drawnAt = 0;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(p: AuditProgress): void {
    const now = performance.now();
    if (now - this.drawnAt < 100) return;
    this.drawnAt = now;
    const rate = p.elapsedMs > 0 ? p.events / (p.elapsedMs / 1000) : 0;
    let line: string;
    if (p.expected !== undefined && p.expected > 0) {
      const fraction = Math.min(1, p.events / p.expected);
      const cells = 24;
      const filled = Math.round(fraction * cells);
      const eta = rate > 0 ? Math.max(0, (p.expected - p.events) / rate) : Number.NaN;
      line = `[${'#'.repeat(filled)}${'-'.repeat(cells - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}%  ${n(p.events)} / ${n(p.expected)} events  ${n(Math.round(rate))} events/s  ETA ${Number.isFinite(eta) ? seconds(eta * 1000) : '?'}`;
    } else line = `${n(p.events)} events  ${n(Math.round(rate))} events/s`;
    const columns = this.out.columns || 100;
    this.out.write(`\r${line.slice(0, columns - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** A line in the bar's place until the first update (what the audit is waiting for). */
  note(text: string): void {
    const columns = this.out.columns || 100;
    this.out.write(`\r${text.slice(0, columns - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** Removes the bar so the summary starts on a clean line. */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
