import type { Queue } from "bullmq";
import type { Logger } from "pino";
import type { RedisConnection } from "./redis.js";

/** `KILN_FETCH_WATCHDOG`'s default: a worker fetching nothing for 20 s while work is due is recreated. */
export const DEFAULT_FETCH_WATCHDOG_MS = 20_000;

/** What one look at a worker and its queue found. */
export interface FetchLook {
  now: number;
  /** When work became due and stayed due (a waiting job, or a delayed one past its time), or undefined when none is. */
  dueSince: number | undefined;
  /** When the worker last picked up a job (or started, or was last recovered). */
  lastPickupAt: number;
  /** Jobs the worker is running now, and how many it may run at once. */
  busy: number;
  concurrency: number;
  /** The queue is paused or rate limited: a worker then rightly fetches nothing. */
  held: boolean;
}

/**
 * True when the worker has stopped fetching: work has been due for `stallAfterMs` and more,
 * the worker picked nothing up in that time though it had room for a job, and nothing holds
 * the queue back. Pings say nothing of this: a BullMQ worker whose blocking fetch never
 * returned (a Redis Cluster failover can leave it so) answers them while its jobs sit due.
 */
export function fetchStalled(look: FetchLook, stallAfterMs: number): boolean {
  if (look.dueSince === undefined || look.held || look.busy >= look.concurrency) return false;
  const since = Math.max(look.dueSince, look.lastPickupAt);
  return look.now - since >= stallAfterMs;
}

export interface FetchWatchdogOptions {
  /** The worker's queue (same name and prefix): where due work is read. */
  queue: Queue;
  /** A connection to read the queue's keys with. */
  redis: RedisConnection;
  /** `KILN_FETCH_WATCHDOG`: how long due work may wait while the worker fetches nothing, ms. */
  stallAfterMs: number;
  /** How often to look, ms. @defaultValue a quarter of `stallAfterMs`, at most 5 s */
  checkEveryMs?: number;
  /** Jobs the worker runs now. */
  busy: () => number;
  concurrency: number;
  /** Replaces the stuck worker with a new one. */
  recover: () => Promise<void>;
  log: Logger;
}

/**
 * Watches a BullMQ worker's progress (its fetches and the promotion of its delayed jobs, not
 * its connection) and recreates it when it has stopped fetching while work is due. The worker
 * reports each job it picks up (`picked`); the watchdog reads its queue's wait list, prioritized
 * set, earliest delayed job, pause flag and rate limit every few seconds: four reads on the
 * queue's own hash slot.
 */
export class FetchWatchdog {
  private timer?: NodeJS.Timeout;
  private lastPickupAt = Date.now();
  private dueSince: number | undefined;
  /** When the queue was last seen paused or rate limited: due work waits rightly until then. */
  private heldAt = 0;
  private checking = false;

  constructor(private readonly options: FetchWatchdogOptions) {}

  start(): void {
    if (this.timer || this.options.stallAfterMs <= 0) return;
    this.lastPickupAt = Date.now();
    const every = this.options.checkEveryMs ?? Math.min(5_000, Math.max(250, this.options.stallAfterMs / 4));
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The worker picked up a job: it is fetching. */
  picked(): void {
    this.lastPickupAt = Date.now();
  }

  /**
   * A job ended while the worker was full: it has room again, and its next fetch is only now
   * starting, so a look in between must not take the wait while it was full for a stall.
   */
  roomFreed(): void {
    this.lastPickupAt = Date.now();
  }

  /** Waits for a look in progress to end (after `stop`, none starts again). */
  async settled(): Promise<void> {
    while (this.checking) await new Promise((r) => setTimeout(r, 10));
  }

  /** One look; never throws (a failing read is a Redis outage, which the worker rides out by itself). */
  async check(): Promise<boolean> {
    if (this.checking) return false;
    this.checking = true;
    try {
      const { due, earliestDelayedAt, held } = await this.readQueue();
      const now = Date.now();
      if (!due) this.dueSince = undefined;
      else this.dueSince = Math.min(this.dueSince ?? now, earliestDelayedAt ?? now);
      // a hold that just ended (a 429's wait) leaves work due since before it: the fetch clock starts at its end
      if (held) this.heldAt = now;
      const look = {
        now,
        dueSince: this.dueSince,
        lastPickupAt: Math.max(this.lastPickupAt, this.heldAt),
        busy: this.options.busy(),
        concurrency: this.options.concurrency,
        held,
      };
      if (!fetchStalled(look, this.options.stallAfterMs)) return false;
      this.options.log.error(
        {
          event: "worker_stalled",
          queue: this.options.queue.name,
          dueForMs: now - Math.max(this.dueSince!, this.lastPickupAt),
          busy: look.busy,
        },
        "worker picked up no job while jobs were due: recreating its BullMQ worker",
      );
      await this.options.recover();
      this.lastPickupAt = Date.now();
      this.dueSince = undefined;
      return true;
    } catch (err) {
      this.options.log.warn({ err }, "fetch watchdog could not read the queue");
      return false;
    } finally {
      this.checking = false;
    }
  }

  private async readQueue(): Promise<{ due: boolean; earliestDelayedAt?: number; held: boolean }> {
    const { queue, redis: client } = this.options;
    const [waiting, prioritized, delayed, limitTtl, paused] = await Promise.all([
      client.llen(queue.keys.wait!),
      client.zcard(queue.keys.prioritized!),
      client.zrange(queue.keys.delayed!, 0, 0, "WITHSCORES"),
      client.pttl(queue.keys.limiter!),
      queue.isPaused(),
    ]);
    // BullMQ scores a delayed job by its due time in ms × 0x1000 (the low 12 bits order jobs due in the same ms)
    const earliestDelayedAt = delayed[1] === undefined ? undefined : Math.floor(Number(delayed[1]) / 0x1000);
    const delayedDue = earliestDelayedAt !== undefined && earliestDelayedAt <= Date.now();
    return {
      due: waiting + prioritized > 0 || delayedDue,
      earliestDelayedAt: delayedDue ? earliestDelayedAt : undefined,
      held: paused || limitTtl > 0,
    };
  }
}
