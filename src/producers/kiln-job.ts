import type { Job } from "bullmq";
import { GenerationResult } from "./generation-result.js";

/**
 * The field of a job's own Redis hash (`<prefix>:<queue>:<id>`) where kiln keeps its state:
 * BullMQ's `progress`, which BullMQ reads with the job (no extra round trip) and which only a
 * worker writes; a producer's `add` sets `data` and `opts`, never `progress`, and the hash is
 * deleted with the job. State found there was written by kiln for this very job, which is what
 * makes it safe to resume from. Its `step`, `providerStatus` and `progress` fields are also
 * what a job's progress has always shown.
 */
export const STATE_FIELD = "progress";

/** kiln's stored state of `job`, not yet checked; undefined before kiln wrote any (BullMQ's default progress is 0). */
export function storedStateOf(job: Pick<Job, "progress"> | undefined): Record<string, unknown> | undefined {
  const value: unknown = job?.progress;
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The result kiln stored when it ended `job` (a failed job's result lives only there). */
export function storedResultOf(job: Pick<Job, "progress"> | undefined): GenerationResult | undefined {
  const result = GenerationResult.safeParse(storedStateOf(job)?.result);
  return result.success ? result.data : undefined;
}

/** What a job's progress shows callers: where it stands, without kiln's internal state. */
export function reportedProgressOf(job: Pick<Job, "progress">): { step?: unknown; providerStatus?: unknown; progress?: unknown } | number {
  const state = storedStateOf(job);
  if (!state) return typeof job.progress === "number" ? job.progress : 0;
  return { step: state.result || state.step === "notify" ? "done" : state.step, providerStatus: state.providerStatus, progress: state.progress };
}
