import type { Logger } from "pino";
import { withTimeout } from "../util/with-timeout.js";

/** A job at the archive step, as the watch keeps it: its Redis key, and a fresh read of whether it ended. */
export interface WatchedJob {
  /** Names the job uniquely across queues and partitions (`<prefix>:<queue>:<id>`). */
  key: string;
  /** True once the job finished (completed or failed) or is gone. */
  ended(): Promise<boolean>;
}

interface Entry {
  provider: string;
  /** When the provider finished the task (ms): the archive step began then. */
  since: number;
  job: WatchedJob;
}

/** How many jobs one process watches at most: beyond it, the youngest make room for older ones (the oldest decide the gauge). */
const DEFAULT_LIMIT = 1000;

/**
 * The jobs this process's workers took up at the archive step (provider done, outputs not yet
 * archived), for `kiln_archive_oldest_seconds`. No worker event tells when such a job leaves:
 * a transient failure parks it as delayed (no event), and another process may finish it. So a
 * scrape asks Redis whether each watched job ended (once at the archive step, a job only leaves
 * it by finishing) and drops those; what stays has been archiving since its provider completed.
 * Entries hold a key and a read, never the job (its data may be large).
 */
export class ArchiveWatch {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
    private readonly limit = DEFAULT_LIMIT,
  ) {}

  /** A job became active at the archive step; its provider finished at `providerCompletedAt`. */
  archiving(provider: string, job: WatchedJob, providerCompletedAt: number): void {
    if (this.entries.size >= this.limit && !this.entries.has(job.key)) {
      const youngest = [...this.entries.values()].reduce((a, b) => (b.since > a.since ? b : a));
      if (youngest.since <= providerCompletedAt) return;
      this.entries.delete(youngest.job.key);
    }
    this.entries.set(job.key, { provider, since: providerCompletedAt, job });
  }

  /**
   * Seconds since the oldest still-archiving job's provider completed, by provider. A job whose
   * state cannot be read in time stays watched (and counts): a Redis outage must not hide a stuck archive.
   */
  async oldestSeconds(now: number): Promise<Map<string, number>> {
    await Promise.all([...this.entries.values()].map((entry) => this.recheck(entry)));
    const oldest = new Map<string, number>();
    for (const { provider, since } of this.entries.values()) {
      oldest.set(provider, Math.max(oldest.get(provider) ?? 0, Math.max(0, (now - since) / 1000)));
    }
    return oldest;
  }

  private async recheck(entry: Entry): Promise<void> {
    try {
      if (await withTimeout(entry.job.ended(), this.timeoutMs, "archive job state")) this.entries.delete(entry.job.key);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, job: entry.job.key }, "metrics: could not read an archiving job's state");
    }
  }
}
