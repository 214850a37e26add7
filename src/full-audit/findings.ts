// Findings as the audit makes them: listed up to a cap, every one counted by kind, so a log that
// was rewritten wholesale still gives a bounded report that says how much is wrong.
import { FINDING_KINDS, type Finding, type FindingKind } from './types.js';

export const DEFAULT_MAX_FINDINGS = 1000;

export class FindingLog {
  readonly listed: Finding[] = [];
  omitted = 0;
  readonly counts = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;

  constructor(private readonly max = DEFAULT_MAX_FINDINGS) {}

  get total(): number {
    return this.listed.length + this.omitted;
  }

  add(finding: Finding): void {
    this.counts[finding.kind]++;
    if (this.listed.length < this.max) this.listed.push(finding);
    else this.omitted++;
  }
}
