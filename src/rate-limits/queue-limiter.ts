import type { PartitionedQueues } from "../queue/partitioned-queues.js";

/**
 * BullMQ only honours `queue.rateLimit` (used on a 429 at submit) when the worker has a
 * limiter, so one is always set; without a configured rate it is too high to matter.
 */
const UNLIMITED_PER_SECOND = 10_000;

/**
 * BullMQ's limiter for one partition's worker of a provider limited to `perSecond` requests
 * (`KILN_<PROVIDER>_RATE`) across every process: each visit is about one provider request, so
 * limiting visits limits requests, and BullMQ's limiter is per queue, so the `partitions`
 * share the rate evenly and together never exceed it.
 */
export function partitionLimiter(perSecond: number | undefined, partitions: number): { max: number; duration: number } {
  return limiterFor((perSecond ?? UNLIMITED_PER_SECOND) / partitions);
}

/**
 * BullMQ's limiter for `perSecond` requests: `max` per `duration` ms with the same rate, so
 * 0.5/s is 1 per 2000 ms and 2.5/s is 3 per 1200 ms (never rounded up to a faster rate).
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
