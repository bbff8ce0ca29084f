import type { JobState } from "../../state/job-state.js";
import type { SecretScrubber } from "../../util/secret-scrubber.js";
import type { StepOutcome } from "../steps/step-outcome.js";

/**
 * `outcome` with every text that may quote a provider scrubbed of secrets: the error that ends
 * the job (its result, the `generation.failed` webhook, BullMQ's failed reason), the state's
 * last error and provider status (the job's stored state, shown by the API, the CLI and the
 * dashboard), and the reason logged for a wait. Applied to every step's outcome before the
 * worker stores or acts on it. The same object when nothing changed, so a state a step has
 * already written is not written again.
 */
export function scrubbedOutcome(outcome: StepOutcome, scrubber: SecretScrubber): StepOutcome {
  if (scrubber.empty) return outcome;
  const state = scrubbedState(outcome.state, scrubber);
  switch (outcome.type) {
    case "next":
      return state === outcome.state ? outcome : { ...outcome, state };
    case "fail": {
      const message = scrubber.scrub(outcome.error.message);
      const providerCode = scrubbedText(outcome.error.providerCode, scrubber);
      if (state === outcome.state && message === outcome.error.message && providerCode === outcome.error.providerCode) return outcome;
      return { ...outcome, state, error: { ...outcome.error, message, ...(providerCode === undefined ? {} : { providerCode }) } };
    }
    default: {
      const reason = scrubber.scrub(outcome.reason);
      return state === outcome.state && reason === outcome.reason ? outcome : { ...outcome, state, reason };
    }
  }
}

function scrubbedState(state: JobState, scrubber: SecretScrubber): JobState {
  const lastError = scrubbedText(state.lastError, scrubber);
  const providerStatus = scrubbedText(state.providerStatus, scrubber);
  if (lastError === state.lastError && providerStatus === state.providerStatus) return state;
  return { ...state, lastError, providerStatus };
}

function scrubbedText(text: string | undefined, scrubber: SecretScrubber): string | undefined {
  return text === undefined ? undefined : scrubber.scrub(text);
}
