import type { ArchiveStore } from "../storage/archive-store.js";
import { type ArchiveProbe, probeArchive } from "./start-up-checks.js";

/**
 * The archive probe as `/readyz` reports it: the last outcome is reused for `intervalMs`, so a
 * readiness probe every few seconds costs the bucket one put and one delete per interval, not
 * per request; concurrent asks share one probe.
 */
export class ArchiveReadiness {
  private last: { probe: ArchiveProbe; at: number } | undefined;
  private running: Promise<ArchiveProbe> | undefined;

  constructor(
    private readonly store: ArchiveStore,
    private readonly intervalMs: number,
  ) {}

  /** Seeds the cache with start-up's own probe, so the first `/readyz` costs nothing. */
  remember(probe: ArchiveProbe): void {
    this.last = { probe, at: Date.now() };
  }

  /** Ready while the last put went through; the detail of the probe that said otherwise. */
  async check(): Promise<{ ok: boolean; error?: string }> {
    const probe = await this.current();
    return probe.writable ? { ok: true } : { ok: false, error: `${probe.target}: ${probe.detail}` };
  }

  private current(): Promise<ArchiveProbe> {
    if (this.last && Date.now() - this.last.at < this.intervalMs) return Promise.resolve(this.last.probe);
    this.running ??= probeArchive(this.store)
      .then((probe) => {
        this.remember(probe);
        return probe;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
