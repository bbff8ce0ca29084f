import type { GenerationError } from "../../contract/generation-result.js";
import type { JobState } from "../../state/job-state.js";
import type { FallbackReason } from "../fallback-targets.js";

/**
 * What a step decided. Steps never touch BullMQ: the generation worker turns outcomes into
 * `updateData`, `moveToDelayed` + `DelayedError` or `UnrecoverableError`, in one place.
 */
export type StepOutcome =
  /** Persist `state` and run its step now. */
  | { type: "next"; state: JobState }
  /** Persist `state` and come back in `delayMs` without holding a worker slot. */
  | { type: "wait"; state: JobState; delayMs: number; reason: string }
  /**
   * No in-flight slot: the job has joined the wait for one. Persist `state` and park until a
   * release hands it a slot and wakes it, or `delayMs` passes (its own re-check, should the
   * wake-up be lost).
   */
  | { type: "park"; state: JobState; delayMs: number; reason: string }
  /**
   * The provider rate-limited a submit: the whole queue waits `delayMs` (BullMQ's queue rate
   * limit), the job goes back to waiting, and no attempt is spent.
   */
  | { type: "throttle"; state: JobState; delayMs: number; reason: string }
  /**
   * End as failed: build the failed result and notify. With `fallback`, a trigger the step saw
   * (a refusal no task came of): the job moves on to its next model instead, where it has one.
   */
  | { type: "fail"; state: JobState; error: GenerationError; fallback?: FallbackReason };

/**
 * The provider's rate has no room for this request for another `roomInMs` (a poll in line: until
 * its turn should come): come back then, plus up to a quarter more at random, so the requests
 * waiting for it do not all come back at once.
 */
export function waitForRate(state: JobState, roomInMs: number, random: () => number): StepOutcome {
  return { type: "wait", state, delayMs: roomInMs + Math.round(random() * roomInMs * 0.25), reason: "waiting for the provider's rate" };
}
