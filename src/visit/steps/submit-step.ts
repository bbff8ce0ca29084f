import type { JobState, SubmitState } from "../../state/job-state.js";
import type { SubmitContext } from "./step-context.js";
import { waitForRate, type StepOutcome } from "./step-outcome.js";
import { outcomeOfError } from "./error-outcome.js";
import { isProviderError } from "../../providers/provider-error.js";
import { isNotDelivered } from "../../providers/http-json.js";
import type { SubmitResult } from "../../providers/provider.js";
import { usageOf } from "../../billing/usage-of.js";
import { deadlineAtSubmit } from "../deadlines.js";
import { tenantOf } from "../../contract/tenant.js";

/**
 * Submits the request to the provider, at most once per job but for one documented window: the
 * call count is stored before the call and the task id the moment the answer is parsed, before
 * anything else (logs, progress, metrics), so a re-run that finds a task id goes to polling.
 *
 * Outcome-unknown submits (a 5xx, a reset or timeout after the request was sent, a 2xx whose
 * body cannot be read, a crash before the task id was stored) follow one rule, `ctx.onUnknownSubmit`:
 * `retry` (default) submits again, counted in `kiln_submit_window_total` and logged with every
 * task id kiln saw; `fail` ends the job with `submit_unknown` rather than risk paying twice.
 */
export async function submitStep(state: SubmitState, ctx: SubmitContext): Promise<StepOutcome> {
  if (state.taskId) return { type: "next", state: { ...state, step: "poll", taskId: state.taskId } };
  if (state.submitCalls > 0) {
    if (ctx.onUnknownSubmit === "fail")
      return unknownOutcomeFailure(state, "a previous submit call ended without a stored answer (the worker stopped mid-call)");
    ctx.log.warn(
      { jobId: ctx.jobId, event: "submit_window", submitCalls: state.submitCalls, earlierTaskIds: state.unknownTaskIds },
      "a previous submit call of this job ended without a stored answer; submitting again",
    );
  }
  const tenant = tenantOf(ctx.request);
  if (!state.slot && !(await ctx.slots.acquire(ctx.jobId, ctx.model.id, ctx.enqueuedAt, tenant))) {
    // the provider (or model) has as many tasks in flight as allowed: wait in line, holding no worker
    // slot; the later in line, the rarer the job's own re-check (a wake-up hands it the slot first)
    const reason = ctx.slots.holdsSlot(ctx.model.id, tenant) ? "waiting for an in-flight slot" : "waiting for the provider's rate";
    return parked(state, ctx, reason);
  }
  // a job that kept its slot through an earlier call (a 429, an unknown outcome) still needs room in the provider's rate
  const roomInMs = state.slot ? await ctx.slots.request(ctx.jobId, tenant) : 0;
  if (roomInMs > 0) return waitForRate(state, roomInMs, ctx.random);
  const holding = {
    ...state,
    deadlineAt: deadlineAtSubmit(state, ctx.now(), ctx.deadlineMs),
    slot: ctx.slots.holdsSlot(ctx.model.id, tenant),
  };
  const admission = await ctx.admit(holding);
  // a job a hook stops (its batch's budget) ends here, before the provider hears of it (its slot is given back with the failure)
  if (!admission.ok) return { type: "fail", state: holding, error: admission.error };
  const calling = { ...holding, submitCalls: state.submitCalls + 1 };
  await ctx.persist(calling);
  let answer: SubmitResult;
  try {
    answer = await ctx.provider.submit(ctx.model, ctx.input);
  } catch (err) {
    return afterFailedSubmit(err, state, calling, ctx);
  }
  // the window is timed from the parsed answer in hand: reading and parsing it took well under a millisecond in the chaos runs
  const answeredAt = performance.now();
  const next = answered(answer, calling, ctx);
  // the smallest write, first: every millisecond before it is a window for a duplicate task
  await ctx.persist(next);
  ctx.observeSubmitWindow(performance.now() - answeredAt);
  if (state.submitCalls > 0)
    ctx.log.warn(
      { jobId: ctx.jobId, event: "submit_window", taskId: next.taskId, earlierTaskIds: state.unknownTaskIds },
      "submitted again after an unknown outcome: the provider may run this request twice",
    );
  if (next.step === "archive") return { type: "next", state: next };
  // the state stored above is the one the first poll reads: no second write for its chance (it only learns the progress)
  return { type: "wait", state: next, delayMs: (await ctx.planner.plan(next, ctx)).delayMs, reason: "submitted" };
}

/**
 * The job waits in line for a slot or the rate: until a wake-up or its own re-check, and with a
 * fallback's `maxWait`, no longer than that, after which it moves on to its next model.
 */
async function parked(state: SubmitState, ctx: SubmitContext, reason: string): Promise<StepOutcome> {
  const recheckMs = await ctx.slots.recheckDelayMs(ctx.jobId);
  const maxWait = ctx.fallback?.maxWait;
  if (maxWait === undefined) return { type: "park", state, delayMs: recheckMs, reason };
  const now = ctx.now();
  const since = state.waitingSince ?? now;
  const leftMs = since + maxWait * 1000 - now;
  if (leftMs <= 0) {
    const message = `${reason} at ${ctx.model.provider}/${ctx.model.id} for ${Math.round((now - since) / 1000)} s (maxWait ${maxWait} s)`;
    return { type: "fail", state, error: { code: "timed_out", message, retryable: true }, fallback: "maxWait" };
  }
  return { type: "park", state: { ...state, waitingSince: since }, delayMs: Math.min(recheckMs, leftMs), reason };
}

function answered(answer: SubmitResult, calling: JobState, ctx: SubmitContext): JobState {
  const now = ctx.now();
  if (answer.type === "completed") {
    return {
      ...calling,
      step: "archive",
      errors: 0,
      submittedAt: now,
      providerCompletedAt: now,
      taskId: answer.providerTaskId,
      sources: answer.outputs,
      completion: answer.completion,
      usage: usageOf(ctx.model, ctx.input, answer.usage, answer.outputs),
    };
  }
  return {
    ...calling,
    step: "poll",
    errors: 0,
    taskId: answer.taskId,
    submittedAt: now,
    providerStatus: answer.status.state === "pending" ? answer.status.providerStatus : undefined,
    // a new task: no poll of an earlier one stands for it in the rate's line
    pollChance: undefined,
  };
}

/**
 * A 4xx answer (429 included) or a request that never left means no task was created: that
 * call does not count towards the submit window. Anything else may have created one.
 */
function afterFailedSubmit(err: unknown, before: JobState, calling: JobState, ctx: SubmitContext): StepOutcome {
  const refused = isProviderError(err) && err.status !== undefined && err.status >= 400 && err.status < 500;
  if (refused || isNotDelivered(err)) return outcomeOfError(err, { ...calling, submitCalls: before.submitCalls }, ctx);
  const message = err instanceof Error ? err.message : String(err);
  // this failed submit counted in: the `failedSubmits` trigger's count, kept while a fallback is left
  const inARow = (calling.failedSubmits ?? 0) + 1;
  const moveOn = fallbackTrigger(err, inARow, ctx);
  if (moveOn) return { type: "fail", state: calling, error: { code: "internal", message, retryable: true }, fallback: moveOn };
  const hint = taskIdIn(message);
  const counted = ctx.fallback ? { ...calling, failedSubmits: inARow } : calling;
  const unknown = hint ? { ...counted, unknownTaskIds: [...(counted.unknownTaskIds ?? []), hint].slice(-5) } : counted;
  ctx.log.warn(
    { jobId: ctx.jobId, event: "submit_unknown", taskIdHint: hint, policy: ctx.onUnknownSubmit },
    `submit outcome unknown: ${message}`,
  );
  if (ctx.onUnknownSubmit === "fail") return unknownOutcomeFailure(unknown, message);
  return outcomeOfError(err, unknown, ctx);
}

/**
 * A failed submit that moves the job on to its next model, where it has one: a 503 (refused for
 * capacity: no task was created), or the `failedSubmits`-th 5xx or unknown outcome in a row,
 * when kiln would submit again anyway (the retry policy): a fallback risks no more than that.
 */
function fallbackTrigger(err: unknown, inARow: number, ctx: SubmitContext): "capacity" | "failedSubmits" | undefined {
  const on = ctx.fallback;
  if (!on) return undefined;
  if (on.capacity && isProviderError(err) && err.status === 503) return "capacity";
  if (on.failedSubmits > 0 && inARow >= on.failedSubmits && ctx.onUnknownSubmit === "retry") return "failedSubmits";
  return undefined;
}

function unknownOutcomeFailure(state: JobState, why: string): StepOutcome {
  const seen = state.unknownTaskIds?.length ? ` (task ids seen: ${state.unknownTaskIds.join(", ")})` : "";
  return {
    type: "fail",
    state,
    error: {
      code: "submit_unknown",
      message: `${why}; the provider may have created the task${seen}, so it is not submitted again (on-unknown-submit policy: fail)`,
      retryable: false,
    },
  };
}

/** A task id in a truncated or malformed answer, where one can still be read (`"id": "..."`). */
export function taskIdIn(text: string): string | undefined {
  return /"(?:task_id|taskId|id)"\s*:\s*"([^"\\]{1,200})"/.exec(text)?.[1];
}
