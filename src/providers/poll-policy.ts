import type { ModelKind } from "./model-kind.js";

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
