import type { ModelKind } from "../providers/model-kind.js";

/** How often to ask for a task's status, and for how long. */
export interface PollPolicy {
  /** Delay before the first status request, in ms. */
  firstDelayMs: number;
  /** Each later delay is the previous one times this. */
  factor: number;
  /** No delay is longer than this, in ms. */
  capMs: number;
  /** Fraction of each delay drawn at random, ±: spreads polls of jobs submitted together. */
  jitter: number;
  /** A job still unfinished this long after it was first picked up fails as `timed_out`. */
  deadlineMs: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * Defaults per kind: an image is ready in seconds, a video or a 3D model in minutes, so
 * asking a video every two seconds would only spend rate limit.
 */
export const POLL_POLICIES: Record<ModelKind, PollPolicy> = {
  image: { firstDelayMs: 2 * SECOND, factor: 1.5, capMs: 15 * SECOND, jitter: 0.2, deadlineMs: 15 * MINUTE },
  video: { firstDelayMs: 10 * SECOND, factor: 1.5, capMs: 60 * SECOND, jitter: 0.2, deadlineMs: 2 * 60 * MINUTE },
  "3d": { firstDelayMs: 10 * SECOND, factor: 1.5, capMs: 60 * SECOND, jitter: 0.2, deadlineMs: 2 * 60 * MINUTE },
  audio: { firstDelayMs: 2 * SECOND, factor: 1.5, capMs: 15 * SECOND, jitter: 0.2, deadlineMs: 15 * MINUTE },
  text: { firstDelayMs: 2 * SECOND, factor: 1.5, capMs: 15 * SECOND, jitter: 0.2, deadlineMs: 15 * MINUTE },
};

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
