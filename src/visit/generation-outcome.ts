import type { GenerationRequest } from "../contract/generation-request.js";
import type { GenerationError, GenerationResult } from "../contract/generation-result.js";
import type { JobState } from "../state/job-state.js";
import type { Money } from "../contract/usage.js";

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The result a job ends with: its return value and the webhook's `data`. */
export function buildResult(
  job: {
    id: string;
    enqueuedAt: number;
    provider: string;
    model: string;
    metadata?: GenerationRequest["metadata"];
    /** Resolved: the default tenant when the request named none. */
    tenant: string;
    batch?: GenerationRequest["batch"];
    /** The usage at the operator's prices, when they cover it. */
    cost?: Money;
    /** With fallbacks: the model that ran (the state's `attempts` say what came before it). */
    servedBy?: GenerationResult["servedBy"];
  },
  state: Partial<JobState>,
  finishedAt: number,
  error?: GenerationError,
): GenerationResult {
  return {
    id: job.id,
    status: error ? "failed" : "completed",
    provider: job.provider,
    model: job.model,
    providerTaskId: state.taskId,
    outputs: [...(state.archived ?? [])].sort((a, b) => a.index - b.index),
    error,
    completion: state.completion,
    usage: state.usage,
    cost: job.cost,
    metadata: job.metadata,
    tenant: job.tenant,
    batch: job.batch,
    reusedFrom: state.reusedFrom,
    ...(job.servedBy ? { servedBy: job.servedBy, attempts: state.attempts ?? [] } : {}),
    timings: {
      enqueuedAt: new Date(job.enqueuedAt).toISOString(),
      startedAt: iso(state.startedAt),
      submittedAt: iso(state.submittedAt),
      providerCompletedAt: iso(state.providerCompletedAt),
      archivedAt: iso(state.archivedAt),
      finishedAt: new Date(finishedAt).toISOString(),
    },
  };
}
