import type { Logger } from "pino";
import { ADAPTIVE_BOUNDS, adaptivePoll, type PollPlan } from "./poll-schedule.js";
import { pollDelayMs } from "./poll-delay.js";
import type { ModelSpec } from "../providers/model-spec.js";
import { requestSize } from "../providers/request-size.js";
import type { DurationStatsStore } from "./duration-stats-store.js";
import type { JobState } from "../state/job-state.js";

/** `KILN_POLL_SCHEDULE`: a fixed geometric backoff (1.5× per poll, capped), or the schedule that learns. */
export type PollScheduleMode = "fixed" | "adaptive";

export interface PollPlannerOptions {
  /** @defaultValue "adaptive" */
  mode?: PollScheduleMode;
  /** Where learned durations live; without it the adaptive schedule works from the kind's prior and the progress. */
  stats?: DurationStatsStore;
  /** KILN_POLL_SCALE. @defaultValue 1 */
  scale?: number;
  /** The provider's rate (`KILN_<PROVIDER>_RATE`): no task polls faster than one request per 1/rate. @defaultValue unlimited */
  ratePerSecond?: number;
  /** @defaultValue Math.random */
  random?: () => number;
  log: Logger;
}

/** What the planner needs of a job besides its state. */
export interface PlannedJob {
  model: ModelSpec;
  input: Record<string, unknown>;
  now: () => number;
  /** The provider's rate as the job's polls read it: the share of its window recent polls left unused (`SlotGate`). */
  slots?: { spareRate(): number | undefined };
}

/**
 * Decides when a pending task is polled next, and learns from every task that finishes. The
 * fixed mode is `pollDelayMs` (1.5× per poll, capped); the adaptive one `adaptivePoll`
 * fed with the model's statistics from Redis, the request's size and the progress in the state.
 * Statistics are best effort: when Redis cannot give them, the schedule goes on without.
 */
export class PollPlanner {
  readonly mode: PollScheduleMode;
  private readonly scale: number;
  private readonly random: () => number;

  constructor(private readonly options: PollPlannerOptions) {
    this.mode = options.mode ?? "adaptive";
    this.scale = options.scale ?? 1;
    this.random = options.random ?? Math.random;
  }

  /** When to send the next status request of a task that is pending in `state`, and its chance of finding the task done. */
  async plan(state: JobState, job: PlannedJob): Promise<PollPlan> {
    if (this.mode === "fixed") return { delayMs: pollDelayMs(state.polls, job.model.poll, { random: this.random, scale: this.scale }) };
    const stats = await this.options.stats?.get(job.model.provider, job.model.id).catch((err: unknown) => {
      this.options.log.warn({ err, model: job.model.id }, "duration statistics unavailable; polling without them");
      return undefined;
    });
    return adaptivePoll({
      elapsedMs: job.now() - (state.submittedAt ?? job.now()),
      size: requestSize(job.model.kind, job.input),
      stats,
      progress: state.progressSamples ?? [],
      bounds: ADAPTIVE_BOUNDS[job.model.kind],
      scale: this.scale,
      minIntervalMs: this.options.ratePerSecond ? 1000 / this.options.ratePerSecond : 0,
      spareRate: job.slots?.spareRate(),
      random: this.random,
    });
  }

  /**
   * Learns from a task that just succeeded: it ended between the last pending answer and now,
   * so the midpoint is its duration's best estimate. Never throws: learning is optional.
   */
  async learn(state: JobState, job: PlannedJob): Promise<void> {
    if (!this.options.stats || state.submittedAt === undefined) return;
    const now = job.now();
    const endedAt = ((state.lastPendingAt ?? state.submittedAt) + now) / 2;
    try {
      await this.options.stats.record(
        job.model.provider,
        job.model.id,
        endedAt - state.submittedAt,
        requestSize(job.model.kind, job.input),
      );
    } catch (err) {
      this.options.log.warn({ err, model: job.model.id }, "task duration not recorded");
    }
  }
}
