import type { JobState } from "../../state/job-state.js";
import type { ProviderError } from "../../providers/provider-error.js";
import { answerExcerpt, scrubText } from "./answer-excerpt.js";
import { outcomeOfError } from "./error-outcome.js";
import type { PollContext } from "./step-context.js";
import type { StepOutcome } from "./step-outcome.js";

/**
 * A status answer no reading understood (a `bad_response` from a poll), for every provider.
 * It is retried like a transient error, with backoff, but only `ctx.maxBadAnswers` times in a
 * row (`state.badAnswers`, reset by a readable answer): a provider that changed its answers,
 * or a proxy in front of it, would otherwise keep the job delayed until its deadline (hours
 * for a video) with no failure and no alert. At the limit the job fails `bad_response`, and the
 * last answer is logged, redacted and cut. A submit's unreadable answer is not counted here:
 * its outcome is unknown, and `KILN_<PROVIDER>_ON_UNKNOWN_SUBMIT` decides.
 */
export function unreadableAnswerOutcome(err: ProviderError, state: JobState, ctx: PollContext): StepOutcome {
  const badAnswers = (state.badAnswers ?? 0) + 1;
  const counted = { ...state, badAnswers };
  if (badAnswers < ctx.maxBadAnswers) return outcomeOfError(err, counted, ctx);
  ctx.log.error(
    {
      jobId: ctx.jobId,
      event: "bad_response",
      provider: ctx.provider.name,
      model: ctx.model.id,
      taskId: state.taskId,
      badAnswers,
      answer: answerExcerpt(err.answer ?? err.message, ctx.secrets),
    },
    `${badAnswers} status answers in a row could not be read: failing the job`,
  );
  return {
    type: "fail",
    state: { ...counted, lastError: scrubText(err.message, ctx.secrets) },
    error: {
      code: "bad_response",
      // the same answers would meet a resubmitted job: kiln cannot read this model's answers
      message: `${badAnswers} status answers in a row could not be read; the last: ${scrubText(err.message, ctx.secrets)}`,
      retryable: false,
      providerCode: err.providerCode,
    },
  };
}
