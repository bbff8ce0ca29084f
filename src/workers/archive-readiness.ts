import type { ArchiveStore } from "../storage/archive-store.js";
import { type ArchiveProbe, newProbeKey, probeArchive } from "./start-up-checks.js";

/**
 * The archive probe as `/readyz` reports it. The last outcome answers at once; once it is older
 * than `intervalMs` a new probe starts in the background (one at a time), so a readiness probe
 * every few seconds costs the bucket one put and one delete per interval and never waits on S3.
 * The process keeps one probe key: where deletes are refused, one object stays, not one a probe.
 */
export class ArchiveReadiness {
  private last: { probe: ArchiveProbe; at: number } | undefined;
  private running: Promise<ArchiveProbe> | undefined;
  private readonly key = newProbeKey();

  constructor(
    private readonly store: ArchiveStore,
    private readonly intervalMs: number,
  ) {}

  /** Probes now (start-up's check), and keeps the outcome for `/readyz`. */
  probe(): Promise<ArchiveProbe> {
    this.running ??= probeArchive(this.store, this.key)
      .then((probe) => {
        this.last = { probe, at: Date.now() };
        return probe;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * Not ready only while the last probe failed (S3 refused the put, the directory is not
   * writable); no answer from S3 (a warning at start) is not a reason to leave a load balancer.
   */
  async check(): Promise<{ ok: boolean; error?: string }> {
    const last = this.last;
    if (!last) return verdict(await this.probe());
    if (Date.now() - last.at >= this.intervalMs) void this.probe().catch(() => undefined);
    return verdict(last.probe);
  }
}

function verdict(probe: ArchiveProbe): { ok: boolean; error?: string } {
  return probe.status === "fail" ? { ok: false, error: `${probe.target}: ${probe.detail}` } : { ok: true };
}
