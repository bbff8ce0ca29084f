import type { JobState } from "./job-state.js";
import type { StepContext } from "./step-context.js";
import type { StepOutcome } from "./step-outcome.js";
import { outcomeOfError } from "./error-outcome.js";
import { pollDelayMs } from "../providers/poll-policy.js";
import { isProviderError } from "../providers/provider-error.js";

/**
 * Submits the request to the provider, at most once per job: the call count is stored before
 * the call and the task id right after it, so a re-run that finds a task id goes to polling.
 * The one window left is a crash between the provider's answer and that write; a re-run that
 * finds calls but no task id logs it as `submit_window` (the provider may now run it twice).
 */
export async function submitStep(state: JobState, ctx: StepContext): Promise<StepOutcome> {
  if (state.taskId) return { type: "next", state: { ...state, step: "poll" } };
  if (state.submitCalls > 0) {
    ctx.log.warn({ jobId: ctx.jobId, event: "submit_window", submitCalls: state.submitCalls }, "a previous submit call of this job ended without a stored answer; submitting again");
  }
  if (!state.slot && !(await ctx.slots.acquire(ctx.jobId, ctx.model.id, state.deadlineAt))) {
    // the provider (or model) has as many tasks in flight as allowed: come back without holding a worker slot
    return { type: "wait", state, delayMs: pollDelayMs(0, ctx.model.poll, { random: ctx.random, scale: ctx.pollScale }), reason: "waiting for an in-flight slot" };
  }
  const calling = { ...state, slot: !ctx.slots.uncapped(ctx.model.id), submitCalls: state.submitCalls + 1 };
  await ctx.persist(calling);
  let answer;
  try {
    answer = await ctx.provider.submit(ctx.model, ctx.input);
  } catch (err) {
    // a 4xx answer (429 included) means no task was created: that call does not count towards
    // the submit window. A 5xx, a network error or an unreadable 2xx might have created one.
    const refused = isProviderError(err) && err.status !== undefined && err.status >= 400 && err.status < 500;
    if (isProviderError(err) && err.kind === "bad_response") {
      return { type: "fail", state: calling, error: { code: "internal", message: `${err.message}; the provider may have accepted the request, so it is not submitted again`, retryable: false } };
    }
    return outcomeOfError(err, refused ? { ...calling, submitCalls: state.submitCalls } : calling, ctx);
  }
  const now = ctx.now();
  if (answer.type === "completed") {
    return { type: "next", state: { ...calling, step: "archive", errors: 0, submittedAt: now, providerCompletedAt: now, taskId: answer.providerTaskId, sources: answer.outputs, completion: answer.completion } };
  }
  const next: JobState = { ...calling, step: "poll", errors: 0, taskId: answer.taskId, submittedAt: now, providerStatus: answer.status.state === "pending" ? answer.status.providerStatus : undefined };
  ctx.log.info({ jobId: ctx.jobId, model: ctx.model.id, taskId: answer.taskId }, "submitted");
  return { type: "wait", state: next, delayMs: pollDelayMs(0, ctx.model.poll, { random: ctx.random, scale: ctx.pollScale }), reason: "submitted" };
}
