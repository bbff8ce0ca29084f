import type { JobState } from "../contract/job-state.js";
import type { StepContext } from "./step-context.js";
import type { StepOutcome } from "./step-outcome.js";
import { outcomeOfError } from "./error-outcome.js";
import { pollDelayMs } from "../providers/poll-policy.js";
import { assertNever } from "../util/assert-never.js";

/** One status request. Pending: come back later (backoff per model kind). Done: archive or fail. */
export async function pollStep(state: JobState, ctx: StepContext): Promise<StepOutcome> {
  if (!state.taskId) return { type: "next", state: { ...state, step: "submit" } };
  let status;
  try {
    status = await ctx.provider.poll(ctx.model, state.taskId);
  } catch (err) {
    return outcomeOfError(err, state, ctx);
  }
  const polled = { ...state, polls: state.polls + 1, errors: 0 };
  switch (status.state) {
    case "pending": {
      const next = { ...polled, providerStatus: status.providerStatus, progress: status.progress ?? polled.progress };
      return { type: "wait", state: next, delayMs: pollDelayMs(polled.polls, ctx.model.poll, { random: ctx.random, scale: ctx.pollScale }), reason: status.providerStatus };
    }
    case "succeeded":
      return { type: "next", state: { ...polled, step: "archive", providerStatus: "completed", progress: 100, providerCompletedAt: ctx.now(), sources: status.outputs } };
    case "failed":
      return { type: "fail", state: { ...polled, providerStatus: "failed" }, error: { code: "task_failed", message: status.message, retryable: false, providerCode: status.code } };
    default:
      return assertNever(status, "task status");
  }
}
