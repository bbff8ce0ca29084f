import type { Processor, Queue, Worker } from "bullmq";
import type { Logger } from "pino";
import type { RedisConnection } from "./redis.js";
import { FetchWatchdog } from "./fetch-watchdog.js";

export interface WatchedWorkerOptions {
  /** The worker's queue (same name and prefix), read for due work. */
  queue: Queue;
  /** A connection to read it with (not the worker's blocking one). */
  redis: RedisConnection;
  /** `KILN_FETCH_WATCHDOG`, ms; 0 turns the watchdog off. */
  stallAfterMs: number;
  /** The worker's concurrency. */
  concurrency: number;
  log: Logger;
}

/**
 * A BullMQ worker under a fetch watchdog (`FetchWatchdog`): when it has stopped fetching while
 * work is due, a new worker, with a blocking connection of its own, takes its place. The new
 * one takes over every listener of the old one (error and failure handlers, metrics), so what
 * was attached to `worker` stays attached. The old one is closed without waiting: its jobs in
 * progress finish and keep their locks until then, but its fetch loop may never come back.
 */
export class WatchedWorker<Data, Result, Name extends string> {
  private current: Worker<Data, Result, Name>;
  private readonly retired: Array<Worker<Data, Result, Name>> = [];
  private readonly watchdog: FetchWatchdog;
  private readonly recoveryObservers = new Set<() => void>();
  private busy = 0;
  private closing = false;

  /** `make` builds the BullMQ worker around the processor it is given (the one below, counted). */
  constructor(
    private readonly make: (processor: Processor<Data, Result, Name>) => Worker<Data, Result, Name>,
    private readonly processor: Processor<Data, Result, Name>,
    private readonly options: WatchedWorkerOptions,
  ) {
    this.watchdog = new FetchWatchdog({
      queue: options.queue,
      redis: options.redis,
      stallAfterMs: options.stallAfterMs,
      busy: () => this.busy,
      concurrency: options.concurrency,
      recover: async () => this.replace(),
      log: options.log,
    });
    this.current = this.build();
    this.watchdog.start();
  }

  /** The BullMQ worker running the queue now. */
  get worker(): Worker<Data, Result, Name> {
    return this.current;
  }

  /** Calls `observer` each time the watchdog replaces the worker (`kiln_worker_recoveries_total`). */
  onRecovery(observer: () => void): void {
    this.recoveryObservers.add(observer);
  }

  async close(force = false): Promise<void> {
    this.closing = true;
    this.watchdog.stop();
    // a look already under way could still replace the worker: let it end, then close what is current
    await this.watchdog.settled();
    await this.current.close(force);
    // a replaced worker's fetch loop may be stuck for good: it gets a short while, not a shutdown's whole bound
    await Promise.race([Promise.all(this.retired.map((w) => w.close(true))), new Promise((r) => setTimeout(r, 1_000).unref())]);
  }

  private build(): Worker<Data, Result, Name> {
    return this.make(async (job, token, signal) => {
      this.watchdog.picked();
      this.busy++;
      try {
        return await this.processor(job, token, signal);
      } finally {
        if (this.busy-- === this.options.concurrency) this.watchdog.roomFreed();
      }
    });
  }

  private replace(): void {
    // a worker being closed is never replaced: the new one would outlive the shutdown
    if (this.closing) return;
    const old = this.current;
    this.current = this.build();
    for (const event of old.eventNames())
      for (const listener of old.rawListeners(event)) this.current.on(event as "error", listener as (err: Error) => void);
    this.retired.push(old);
    old.close().catch((err: unknown) => this.options.log.warn({ err }, "closing a replaced worker failed"));
    for (const observer of this.recoveryObservers) observer();
  }
}
