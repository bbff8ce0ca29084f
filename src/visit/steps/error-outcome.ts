import type { GenerationError } from "../../contract/generation-result.js";
import { isProviderError, type ProviderErrorKind } from "../../providers/provider-error.js";
import { retryDelayMs } from "../../polling/poll-delay.js";
import { assertNever } from "../../util/assert-never.js";
import type { JobState } from "../../state/job-state.js";
import type { RetryContext } from "./step-context.js";
import type { StepOutcome } from "./step-outcome.js";
import { isArchiveError } from "../../storage/archive-error.js";
import { retryEndsPastDeadline } from "../deadlines.js";

/**
 * Turns an error thrown during a step into what happens next: a final failure for errors no
 * retry can fix, otherwise a wait with backoff (honouring Retry-After) until the deadline.
 * Rate limits and transient errors never spend a BullMQ attempt.
 */
export function outcomeOfError(err: unknown, state: JobState, ctx: RetryContext): StepOutcome {
  const message = err instanceof Error ? err.message : String(err);
  if (isArchiveError(err)) return { type: "fail", state, error: { code: "archive_failed", message, retryable: false } };
  if (!isProviderError(err)) {
    // not the provider's answer: our store, Redis, a bug. Log it loudly and retry like a 5xx.
    ctx.log.error({ err, jobId: ctx.jobId, step: state.step }, "step failed unexpectedly; retrying");
    return retry(state, ctx, message, undefined);
  }
  const fatal = err.retryable ? undefined : fatalCode(err.kind);
  if (fatal) return { type: "fail", state, error: { code: fatal, message, retryable: false, providerCode: err.providerCode } };
  if (err.kind === "rate_limited" && state.step === "submit") {
    // a 429 on submit says the account is over its rate: slow the whole queue, not just this job
    // Retry-After is a floor; "0" or none still backs off, or the queue would spin on 429s
    const delayMs = retryDelayMs(state.errors, { random: ctx.random, scale: ctx.pollScale, retryAfterMs: err.retryAfterMs });
    return { type: "throttle", state: { ...state, errors: state.errors + 1, lastError: message }, delayMs, reason: message };
  }
  // retried, not failed: the job's own warn line comes if it ends failed (the retries show at debug)
  ctx.log.debug(
    { jobId: ctx.jobId, step: state.step, kind: err.kind, status: err.status, attempt: state.errors + 1 },
    `transient provider error, retrying: ${message}`,
  );
  return retry(state, ctx, message, err.retryAfterMs);
}

function retry(state: JobState, ctx: RetryContext, message: string, retryAfterMs: number | undefined): StepOutcome {
  const delayMs = retryDelayMs(state.errors, { random: ctx.random, retryAfterMs, scale: ctx.pollScale });
  const next = { ...state, errors: state.errors + 1, lastError: message };
  if (retryEndsPastDeadline(state, ctx.now(), delayMs, ctx.archiveWindowMs)) {
    // the provider's task succeeded: what failed is keeping its outputs
    const code = state.step === "archive" ? "archive_failed" : "timed_out";
    return {
      type: "fail",
      state: next,
      error: { code, message: `deadline passed during ${state.step}; last error: ${message}`, retryable: true },
    };
  }
  return { type: "wait", state: next, delayMs, reason: message };
}

/** The code of a provider error that no retry mends (its kind's, or one marked not retryable). */
function fatalCode(kind: ProviderErrorKind): GenerationError["code"] | undefined {
  switch (kind) {
    case "invalid_request":
    case "authentication":
    case "model_not_available":
    case "task_failed":
    case "result_expired":
    case "bad_response":
      return kind;
    case "rate_limited":
    case "server":
    case "network":
      return undefined;
    default:
      return assertNever(kind, "provider error kind");
  }
}
