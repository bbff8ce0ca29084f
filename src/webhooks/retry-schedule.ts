/**
 * Delays between delivery attempts, in ms, after the first (immediate) one: Svix's schedule,
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, so a receiver can be down most of a day.
 */
export const DEFAULT_WEBHOOK_SCHEDULE_MS: readonly number[] = [5, 300, 1800, 7200, 18000, 36000, 36000].map((s) => s * 1000);

/**
 * Delay before attempt `attemptsMade + 1`: the schedule's entry for `attemptsMade` (1-based:
 * after the first failure comes schedule[0]) with ±20% jitter, and never below the receiver's
 * Retry-After. -1 when the schedule is exhausted (BullMQ then fails the job).
 */
export function webhookRetryDelayMs(
  attemptsMade: number,
  options: { schedule?: readonly number[]; random?: () => number; retryAfterMs?: number } = {},
): number {
  const { schedule = DEFAULT_WEBHOOK_SCHEDULE_MS, random = Math.random, retryAfterMs = 0 } = options;
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return -1;
  return Math.round(Math.max(base * (0.8 + 0.4 * random()), retryAfterMs));
}
