// Publishes the current tree size on an interval (and on demand), like the cloud's periodic
// publication of roots. Errors are reported, never thrown out of the timer.
import type { AuditLog } from './audit-log.js';

export class Publisher {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: AuditLog,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => this.publishNow(), this.intervalMs);
    this.timer.unref();
  }

  publishNow(): void {
    try {
      this.log.publish();
    } catch (err) {
      this.onError(err);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
