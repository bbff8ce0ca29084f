import type { Job, Queue } from "bullmq";
import type { GenerationResult } from "../contract/generation-result.js";
import { JobState, RetriedState, type StoredState } from "../state/job-state.js";
import type { GENERATE_JOB } from "../contract/queue-names.js";
import { isRecord } from "../util/describe-value.js";
import { describeIssues, type GenerationRequest } from "../contract/generation-request.js";

/**
 * The data of a `generate` job as kiln's producers store it: a checked request. It is the
 * contract, not a promise: a producer in another language can store anything, which is why the
 * worker reads `job.data` only through `acceptJob` (as `unknown`).
 */
export type StoredJobData = GenerationRequest;

/** A generation job: its data, the result it completes with, its one job name. */
export type GenerationJob = Job<StoredJobData, GenerationResult, typeof GENERATE_JOB>;

/** A provider's generation queue (`generate-<provider>`). */
export type GenerationQueue = Queue<StoredJobData, GenerationResult, typeof GENERATE_JOB>;

/**
 * The field of a job's own Redis hash (`<prefix>:<queue>:<id>`) where kiln keeps its state:
 * BullMQ's `progress`, which BullMQ reads with the job (no extra round trip) and which only a
 * worker writes; a producer's `add` sets `data` and `opts`, never `progress`, and the hash is
 * deleted with the job. State found there was written by kiln for this very job, which is what
 * makes it safe to resume from. Its `step`, `providerStatus` and `progress` fields are also
 * what a job's progress has always shown.
 */
export const STATE_FIELD = "progress";

/**
 * kiln's state of `job`, checked: the one place that reads it (BullMQ fetched it with the job).
 * Undefined `job` (gone) reads as no state.
 */
export function readState(job: Pick<Job, "progress"> | undefined): StoredState {
  const value = job?.progress;
  // BullMQ's default progress is 0: kiln has not written a state yet
  if (value === 0 || value === undefined) return { kind: "none" };
  if (!isRecord(value)) return { kind: "unreadable", reason: `progress is ${typeof value}, not kiln's state` };
  // a retried job: no state, only the number of the run to come
  const retried = Object.hasOwn(value, "step") ? undefined : RetriedState.safeParse(value);
  if (retried?.success) return { kind: "none", run: retried.data.run };
  const parsed = JobState.safeParse(value);
  return parsed.success ? { kind: "state", state: parsed.data } : { kind: "unreadable", reason: describeIssues(parsed.error) };
}

/** The result kiln stored when it ended `job` (a failed job's result lives only there). */
export function storedResultOf(job: Pick<Job, "progress"> | undefined): GenerationResult | undefined {
  const stored = readState(job);
  return stored.kind === "state" ? stored.state.result : undefined;
}

/** What a job's progress shows callers: where it stands (`done` once it has a result), or BullMQ's number before kiln wrote a state. */
export type ReportedProgress = { step: string; providerStatus?: string; progress?: number } | number;

/** What a job's progress shows callers: where it stands, without kiln's internal state. */
export function reportedProgressOf(job: Pick<Job, "progress">): ReportedProgress {
  const stored = readState(job);
  if (stored.kind !== "state") return typeof job.progress === "number" ? job.progress : 0;
  const { state } = stored;
  return {
    step: state.result || state.step === "notify" ? "done" : state.step,
    providerStatus: state.providerStatus,
    progress: state.progress,
  };
}
