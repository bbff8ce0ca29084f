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
 * How far below `KILN_<PROVIDER>_RATE` kiln stays: its window of requests is this much longer
 * than the rate's. kiln counts a request when it takes room, the provider when the request
 * arrives, a few milliseconds later and not always the same few; without a margin, a request
 * held up behind the one before it lands one over the limit in the provider's second now and
 * then, and earns a 429.
 */
const RATE_MARGIN = 0.05;

/** The window kiln keeps a provider's requests in: `limiterFor`'s, RATE_MARGIN longer. */
export function rateWindowFor(perSecond: number): { max: number; windowMs: number } {
  const { max, duration } = limiterFor(perSecond);
  return { max, windowMs: Math.ceil(duration * (1 + RATE_MARGIN)) };
}

/**
 * The provider refused a submit for its rate (a 429): every worker of its queues, in every
 * partition, waits out `delayMs` (BullMQ's queue rate limit). The job that met the 429 goes
 * back to waiting with no attempt spent (the worker throws `Worker.RateLimitError()`).
 */
export async function throttleProvider(queues: PartitionedQueues, provider: string, delayMs: number): Promise<void> {
  await Promise.all(queues.all().map((p) => p.generation(provider).rateLimit(delayMs)));
}
