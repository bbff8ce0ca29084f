import type { Logger } from "pino";
import { withTimeout } from "./with-timeout.js";

/** What the watch needs of a BullMQ job: where it lives, and a fresh read of its state. */
export interface WatchedJob {
  id?: string;
  queueQualifiedName: string;
  getState(): Promise<string>;
}

interface Entry {
  provider: string;
  /** When the provider finished the task (ms): the archive step began then. */
  since: number;
  job: WatchedJob;
}

/** Once a job is at the archive step it only leaves it by finishing: these states (and a removed job) end the watch. */
const GONE = new Set(["completed", "failed", "unknown"]);

/** How many jobs one process watches at most: beyond it, the newest arrivals are not added (the oldest decide the gauge). */
const DEFAULT_LIMIT = 1000;

/**
 * The jobs this process's workers found at the archive step (provider done, outputs not yet
 * archived), for `kiln_archive_oldest_seconds`. No worker event tells when such a job leaves:
 * a transient failure parks it as delayed (no event), and another process may finish it. So a
 * scrape asks Redis for each watched job's BullMQ state and drops those that finished or are
 * gone; what stays has been at the archive step since its provider completed.
 */
export class ArchiveWatch {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
    private readonly limit = DEFAULT_LIMIT,
  ) {}

  /** A job became active at `step`: watched from `providerCompletedAt` when that is the archive step, else no longer. */
  seen(provider: string, job: WatchedJob, step: string | undefined, providerCompletedAt: number | undefined): void {
    const key = keyOf(job);
    if (step !== "archive" || providerCompletedAt === undefined) this.entries.delete(key);
    else if (this.entries.has(key) || this.entries.size < this.limit) this.entries.set(key, { provider, since: providerCompletedAt, job });
  }

  /**
   * Seconds since the oldest still-archiving job's provider completed, by provider. A job whose
   * state cannot be read in time stays watched (and counts): a Redis outage must not hide a stuck archive.
   */
  async oldestSeconds(now: number): Promise<Map<string, number>> {
    await Promise.all([...this.entries].map(([key, entry]) => this.recheck(key, entry)));
    const oldest = new Map<string, number>();
    for (const { provider, since } of this.entries.values()) {
      oldest.set(provider, Math.max(oldest.get(provider) ?? 0, Math.max(0, (now - since) / 1000)));
    }
    return oldest;
  }

  private async recheck(key: string, entry: Entry): Promise<void> {
    try {
      if (GONE.has(await withTimeout(entry.job.getState(), this.timeoutMs, "archive job state"))) this.entries.delete(key);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, jobId: entry.job.id }, "metrics: could not read an archiving job's state");
    }
  }
}

function keyOf(job: WatchedJob): string {
  return `${job.queueQualifiedName}:${job.id}`;
}
