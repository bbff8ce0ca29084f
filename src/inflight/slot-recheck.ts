/**
 * How often a job waiting for an in-flight slot looks again by itself, in case the wake-up that
 * hands it a slot was lost (a Redis failover can lose a hand-off or a place in line written just
 * before it). The job `ahead` waiters from the front re-checks after
 *
 *   min(MAX, lease · (1 + ahead / SPREAD))
 *
 * so the head and the next few look every lease, where a lost wake-up would cost capacity,
 * while the rest of a long line spreads out: the total rate of re-checks grows with the
 * logarithm of the line's length, about (SPREAD / lease) · ln(1 + n / SPREAD) plus n / MAX,
 * instead of n / lease (100,000 waiters: about 30 visits/s, not 4,000). Nobody waits past MAX
 * for a look of its own.
 */
export function slotRecheckDelayMs(ahead: number, leaseMs: number): number {
  return Math.min(MAX_RECHECK_MS, leaseMs * (1 + Math.max(0, ahead) / RECHECK_SPREAD));
}

/** Waiters this close to the front re-check about every lease. */
const RECHECK_SPREAD = 10;

/** The longest a waiting job goes without a look of its own. */
export const MAX_RECHECK_MS = 3_600_000;
