import type { PollPolicy } from "../providers/poll-policy.js";

const SECOND = 1000;

/**
 * Delay before status request number `visit` (0 = the first), in ms:
 * `min(cap, first * factor^visit) * (1 + jitter * (2r - 1))`, r uniform in [0, 1),
 * never below `retryAfterMs` when the provider asked us to wait. Everything is multiplied
 * by `scale` (KILN_POLL_SCALE; 1 in production, small in tests and the demo).
 */
export function pollDelayMs(
  visit: number,
  policy: PollPolicy,
  options: { random?: () => number; retryAfterMs?: number; scale?: number } = {},
): number {
  const { random = Math.random, retryAfterMs = 0, scale = 1 } = options;
  const base = Math.min(policy.capMs, policy.firstDelayMs * policy.factor ** Math.max(0, visit));
  const jittered = base * (1 + policy.jitter * (2 * random() - 1));
  return Math.round(Math.max(jittered * scale, retryAfterMs));
}

/**
 * Delay before retry number `attempt` (0 = the first) after a transient error: 1 s doubling to
 * 30 s, ±20% jitter, scaled like poll delays. Used for archive downloads, where the URL may
 * expire soon, so retries stay tight.
 */
export function retryDelayMs(attempt: number, options: { random?: () => number; retryAfterMs?: number; scale?: number } = {}): number {
  return pollDelayMs(attempt, { firstDelayMs: SECOND, factor: 2, capMs: 30 * SECOND, jitter: 0.2, deadlineMs: 0 }, options);
}
