import type { GenerationError } from "../contract/generation-result.js";
import type { JobState } from "../state/job-state.js";
import type { ModelKind } from "../providers/model-kind.js";
import type { ModelSpec } from "../providers/model-spec.js";

/**
 * A job's deadline, in one place: how long a task may take, when that time starts, when it is
 * checked and how archiving extends it.
 *
 * - Length: `KILN_DEADLINE_<KIND>` when set, else the model kind's poll policy (15 min for
 *   images, speech and text; 2 h for video and 3D).
 * - Start: the first submit. Waiting in the queue or for an in-flight slot costs none of it;
 *   until then the state's `deadlineAt` is a placeholder that nothing checks.
 * - Check: before every step but archiving, and before every retry's wait (a retry that would
 *   end past the deadline fails the job at once instead of waiting for nothing).
 * - Extension: archiving gets `KILN_ARCHIVE_DEADLINE` (1 h) after the provider finished,
 *   however long the task took, and never less than the task's own deadline.
 */

/** How long archiving may go on retrying after the provider finished, by default (`KILN_ARCHIVE_DEADLINE`). */
export const DEFAULT_ARCHIVE_WINDOW_MS = 60 * 60 * 1000;

/** How long a task of `model` may take, ms: the operator's setting for its kind, else the kind's default. */
export function deadlineMsFor(model: Pick<ModelSpec, "kind" | "poll">, overrides?: Partial<Record<ModelKind, number>>): number {
  return overrides?.[model.kind] ?? model.poll.deadlineMs;
}

/** The deadline a submit runs under: `deadlineMs` from now at the first submit, the stored one at a re-submit. */
export function deadlineAtSubmit(state: JobState, now: number, deadlineMs: number): number {
  return state.submitCalls === 0 ? now + deadlineMs : state.deadlineAt;
}

/** The job's deadline for its current step: archiving's own window once the provider finished. */
export function deadlineOf(state: JobState, archiveWindowMs = DEFAULT_ARCHIVE_WINDOW_MS): number {
  if (state.step === "archive" && state.providerCompletedAt) return Math.max(state.deadlineAt, state.providerCompletedAt + archiveWindowMs);
  return state.deadlineAt;
}

/**
 * The error that ends a job found past its deadline before a step, if it is: never a job still
 * waiting for its first submit (no deadline yet) nor one archiving (retries check its window).
 */
export function pastDeadline(state: JobState, now: number): GenerationError | undefined {
  const waitingToSubmit = state.step === "submit" && state.submitCalls === 0;
  if (state.step === "archive" || waitingToSubmit || now <= state.deadlineAt) return undefined;
  return {
    code: "timed_out",
    message: `no result before the deadline (${new Date(state.deadlineAt).toISOString()}); last provider status: ${state.providerStatus ?? "none"}`,
    retryable: true,
  };
}

/** Whether a retry waiting `delayMs` from `now` would end past the job's deadline (archiving's window included). */
export function retryEndsPastDeadline(state: JobState, now: number, delayMs: number, archiveWindowMs: number): boolean {
  return now + delayMs > deadlineOf(state, archiveWindowMs);
}
