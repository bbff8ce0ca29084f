import type { JobState, PollState } from "../../state/job-state.js";
import type { PollContext } from "./step-context.js";
import { waitForRate, type StepOutcome } from "./step-outcome.js";
import { outcomeOfError } from "./error-outcome.js";
import { unreadableAnswerOutcome } from "./unreadable-answers.js";
import { isProviderError } from "../../providers/provider-error.js";
import { assertNever } from "../../util/assert-never.js";
import { usageOf } from "../../billing/usage-of.js";
import { tenantOf } from "../../contract/tenant.js";

/** Progress reports kept in the state for the poll schedule: enough for a rate, a few bytes. */
const PROGRESS_SAMPLES = 4;

/** One status request. Pending: come back when the poll planner says. Done: archive or fail. */
export async function pollStep(state: PollState, ctx: PollContext): Promise<StepOutcome> {
  // behind the provider's rate, a poll takes room first; a full window is waited out (polls never queue
  // behind submits), in a line where polls likelier to find their task done stand further ahead. The
  // first poll after the submit has no chance set: it learns the progress, it stands as a hopeless one
  const roomInMs = await ctx.slots.request(ctx.jobId, tenantOf(ctx.request), state.pollChance ?? 0);
  if (roomInMs > 0) return waitForRate(state, roomInMs, ctx.random);
  let status;
  try {
    status = await ctx.provider.poll(ctx.model, state.taskId);
  } catch (err) {
    if (isProviderError(err) && err.kind === "bad_response") return unreadableAnswerOutcome(err, state, ctx);
    return outcomeOfError(err, state, ctx);
  }
  // a readable answer: the run of unreadable ones, if any, is over
  const polled = { ...state, polls: state.polls + 1, errors: 0, badAnswers: undefined };
  switch (status.state) {
    case "pending": {
      const now = ctx.now();
      const next = {
        ...polled,
        providerStatus: status.providerStatus,
        progress: status.progress ?? polled.progress,
        lastPendingAt: now,
        progressSamples: withSample(polled, status.progress, now),
      };
      const plan = await ctx.planner.plan(next, ctx);
      return { type: "wait", state: { ...next, pollChance: plan.chance }, delayMs: plan.delayMs, reason: status.providerStatus };
    }
    case "succeeded":
      await ctx.planner.learn(polled, ctx);
      return {
        type: "next",
        state: {
          ...polled,
          step: "archive",
          providerStatus: "completed",
          progress: 100,
          providerCompletedAt: ctx.now(),
          sources: status.outputs,
          usage: usageOf(ctx.model, ctx.input, status.usage, status.outputs),
        },
      };
    case "failed":
      return {
        type: "fail",
        state: { ...polled, providerStatus: "failed" },
        error: { code: "task_failed", message: status.message, retryable: false, providerCode: status.code },
      };
    default:
      return assertNever(status, "task status");
  }
}

/** The state's progress samples with this report added (ms since the submit), the oldest dropped. */
function withSample(state: JobState, progress: number | undefined, now: number): JobState["progressSamples"] {
  if (progress === undefined || state.submittedAt === undefined) return state.progressSamples;
  return [...(state.progressSamples ?? []), { atMs: now - state.submittedAt, progress }].slice(-PROGRESS_SAMPLES);
}
