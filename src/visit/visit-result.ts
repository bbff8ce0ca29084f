import type { GenerationResult } from "../contract/generation-result.js";

/**
 * How a visit ended, for the queue adapter to turn into its own control flow. The visit has
 * stored the job's state already; each case says what is left to do with the job.
 */
export type VisitResult =
  /** Come back in `delayMs` without holding a worker slot; run `afterMove` once the job has left this worker. */
  | { type: "delayed"; delayMs: number; afterMove?: () => Promise<void> }
  /** The provider rate-limited a submit: every worker of the provider waits `delayMs`, the job waits again, no attempt spent. */
  | { type: "throttled"; delayMs: number; reason: string }
  /** The job ended and its result was sent. */
  | { type: "completed"; result: GenerationResult }
  /** The job failed for good and its result was sent (`generation.failed`). */
  | { type: "failed"; result: GenerationResult }
  /** The job cannot be run at all (its stored state is unreadable): fail it for good; the failed listener reports it. */
  | { type: "unrunnable"; reason: string };
