import type { Logger } from "pino";
import type { QueueCounts } from "../queue/kiln-queues.js";
import { withTimeout } from "./with-timeout.js";

/**
 * Reads the queue counts at most once per scrape: prom-client collects the job gauges
 * concurrently, so both share the read in flight. A failed or slow read gives no counts
 * (the scrape still answers) and is logged.
 */
export class ScrapeCounts {
  private inFlight: Promise<QueueCounts | undefined> | undefined;

  constructor(
    private readonly read: (() => Promise<QueueCounts>) | undefined,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  get(): Promise<QueueCounts | undefined> {
    const read = this.read;
    if (!read) return Promise.resolve(undefined);
    this.inFlight ??= withTimeout(read(), this.timeoutMs, "queue counts")
      .catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, "metrics: could not read queue counts");
        return undefined;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
