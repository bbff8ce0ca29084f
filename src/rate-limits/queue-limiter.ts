import type { PartitionedQueues } from "../queue/partitioned-queues.js";

/**
 * BullMQ only honours `queue.rateLimit` (used on a 429) when the worker has a limiter, so one
 * is always set, too high to matter. A provider's own rate (`KILN_<PROVIDER>_RATE`) is not
 * BullMQ's limiter: that one takes a token for every job it starts, in queue order, so a bulk
 * ahead in the queue would pass it first whatever its tenant. The rate is a window of provider
 * requests kept with the in-flight slots (`InflightSlots`), shared fairly between tenants.
 */
export const BULL_LIMITER = { max: 10_000, duration: 1000 };

/**
 * `perSecond` requests as `max` per `duration` ms with the same rate, so 0.5/s is 1 per 2000 ms
 * and 2.5/s is 3 per 1200 ms (never rounded up to a faster rate).
 */
export function limiterFor(perSecond: number): { max: number; duration: number } {
  const max = Math.max(1, Math.round(perSecond));
  return { max, duration: Math.round((1000 * max) / perSecond) };
}

/**
 * The provider refused a submit for its rate (a 429): every worker of its queues, in every
 * partition, waits out `delayMs` (BullMQ's queue rate limit). The job that met the 429 goes
 * back to waiting with no attempt spent (the worker throws `Worker.RateLimitError()`).
 */
export async function throttleProvider(queues: PartitionedQueues, provider: string, delayMs: number): Promise<void> {
  await Promise.all(queues.all().map((p) => p.generation(provider).rateLimit(delayMs)));
}
