import type { FallbackTriggers, GenerationRequest } from "../contract/generation-request.js";
import type { FallbackAttempt } from "../contract/generation-result.js";
import { resolveModel } from "../providers/model-registry.js";
import { initialState, type JobState, type SubmitState } from "../state/job-state.js";
import type { AcceptedJob } from "./job-intake.js";

/** Why kiln moved on from a model: a trigger of `fallbackOn`, or no worker holding that provider's key. */
export type FallbackReason = keyof FallbackTriggers | "notConfigured";

/** `fallbackOn` with every default applied (docs/fallbacks.md). */
export interface Triggers {
  modelNotAvailable: boolean;
  capacity: boolean;
  /** 0: never. */
  failedSubmits: number;
  /** Seconds; undefined: the job waits as long as it takes. */
  maxWait?: number;
  deadline: boolean;
}

const DEFAULT_FAILED_SUBMITS = 3;

export function triggersOf(request: Pick<GenerationRequest, "fallbackOn">): Triggers {
  const on = request.fallbackOn ?? {};
  return {
    modelNotAvailable: on.modelNotAvailable ?? true,
    capacity: on.capacity ?? true,
    failedSubmits: on.failedSubmits ?? DEFAULT_FAILED_SUBMITS,
    maxWait: on.maxWait,
    deadline: on.deadline ?? true,
  };
}

/** The job as its attempt runs it: the request's own model (0), or its `fallbacks[attempt - 1]` with that one's input. */
export function retarget(accepted: AcceptedJob, attempt: number | undefined): AcceptedJob {
  if (!attempt) return accepted;
  const { request } = accepted;
  const fallback = request.fallbacks?.[attempt - 1];
  const model = fallback && resolveModel(fallback.provider, fallback.model, request.passthrough);
  // intake checked every fallback: a state naming one the request lacks is not ours to run
  if (!fallback || !model) throw new Error(`state names attempt ${attempt}, which the request's fallbacks do not have`);
  return { request, model, input: model.input.parse(fallback.input ?? request.input) };
}

/** Whether the job has a model to move on to after its current one. */
export function hasFallback(request: Pick<GenerationRequest, "fallbacks">, state: Pick<JobState, "attempt">): boolean {
  return (state.attempt ?? 0) < (request.fallbacks?.length ?? 0);
}

/**
 * The first state of the job's next model: a submit from scratch (no task, no slot, no errors),
 * the same run, start and trace, and the model it leaves recorded in `attempts`.
 */
export function movedOn(state: JobState, from: AcceptedJob["model"], reason: FallbackReason, message: string, now: number): SubmitState {
  const left: FallbackAttempt = {
    provider: from.provider,
    model: from.id,
    reason,
    message: message.slice(0, 1000),
    at: new Date(now).toISOString(),
  };
  const next: SubmitState = {
    ...initialState(state.startedAt, 0, state.run),
    attempt: (state.attempt ?? 0) + 1,
    attempts: [...(state.attempts ?? []), left],
  };
  return {
    ...next,
    ...(state.trace ? { trace: state.trace } : {}),
    ...(state.lastProgressAt ? { lastProgressAt: state.lastProgressAt } : {}),
  };
}
