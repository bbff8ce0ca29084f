import type { Logger } from "pino";
import { withTimeout } from "../util/with-timeout.js";

/**
 * One Redis read shared by the gauges that need it, at most once per scrape: prom-client
 * collects gauges concurrently, so they share the read in flight. A failed or slow read gives
 * nothing (the scrape still answers, without those gauges' series) and is logged.
 */
export class ScrapeRead<T> {
  private inFlight: Promise<T | undefined> | undefined;

  constructor(
    private readonly read: (() => Promise<T>) | undefined,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    /** What is read, for the timeout error and the log: "queue counts". */
    private readonly what: string,
  ) {}

  get(): Promise<T | undefined> {
    const read = this.read;
    if (!read) return Promise.resolve(undefined);
    this.inFlight ??= withTimeout(read(), this.timeoutMs, this.what)
      .catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, `metrics: could not read ${this.what}`);
        return undefined;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
