import type { GenerationResult } from "../contract/generation-result.js";
import type { Admission } from "./admission.js";
import type { JobState } from "../state/job-state.js";
import type { StepOutcome } from "./steps/step-outcome.js";
import type { Visit, VisitJob } from "./visit.js";

/** The job a hook is told about outside a running step: which one, and its request. */
export type JobRef = { job: Pick<VisitJob, "id">; accepted: Visit["accepted"] };

/**
 * A concern that plugs into every visit from outside the step loop, the way Temporal's
 * interceptors and graphile-worker's hooks do: tracing, in-flight slots, batch budgets,
 * progress webhooks. Every member is optional. `around*` members wrap the work that follows
 * them and may change its outcome; hooks listed first wrap those listed after.
 */
export interface VisitHook {
  /** For logs and errors. */
  readonly name: string;
  /** A job's first visit: may add to its initial state. */
  initialState?(job: VisitJob, state: JobState): JobState;
  /** A job about to be submitted for the first time. */
  started?(visit: Visit, state: JobState): Promise<void>;
  /** Right before a submit, once the job holds its in-flight slot: may refuse it. */
  admit?(job: JobRef, state: JobState): Promise<Admission>;
  /** Wraps one step (submit, poll, archive). */
  aroundStep?(visit: Visit, state: JobState, next: () => Promise<StepOutcome>): Promise<StepOutcome>;
  /** The job is about to wait for its next poll; its state is stored. */
  beforeWait?(visit: Visit, state: JobState): Promise<void>;
  /** A job parked to wait for an in-flight slot has left this worker. */
  afterPark?(visit: Visit): Promise<void>;
  /** Wraps the end of the job: its result sent, completed or failed. */
  aroundFinish?(visit: Visit, state: JobState, next: () => Promise<GenerationResult>): Promise<GenerationResult>;
  /** The result is known and about to be sent (also for a job that failed outside the step loop). */
  beforeFinish?(job: JobRef, result: GenerationResult): Promise<void>;
  /** The job failed outside the step loop (stalled too often, a bug): give back what it may hold. */
  abandoned?(job: JobRef, state: JobState | undefined): Promise<void>;
}

/** The hooks of a pipeline, composed: each call runs every hook that has the member, in order. */
export class VisitHooks {
  constructor(private readonly hooks: readonly VisitHook[]) {}

  initialState(job: VisitJob, state: JobState): JobState {
    return this.hooks.reduce((s, hook) => hook.initialState?.(job, s) ?? s, state);
  }

  async started(visit: Visit, state: JobState): Promise<void> {
    for (const hook of this.hooks) await hook.started?.(visit, state);
  }

  /** The first refusal wins; the hooks after it are not asked. */
  async admit(job: JobRef, state: JobState): Promise<Admission> {
    for (const hook of this.hooks) {
      const admission = (await hook.admit?.(job, state)) ?? { ok: true };
      if (!admission.ok) return admission;
    }
    return { ok: true };
  }

  step(visit: Visit, state: JobState, run: () => Promise<StepOutcome>): Promise<StepOutcome> {
    return this.around(run, (hook, next) => hook.aroundStep && (() => hook.aroundStep!(visit, state, next)));
  }

  async beforeWait(visit: Visit, state: JobState): Promise<void> {
    for (const hook of this.hooks) await hook.beforeWait?.(visit, state);
  }

  async afterPark(visit: Visit): Promise<void> {
    for (const hook of this.hooks) await hook.afterPark?.(visit);
  }

  finish(visit: Visit, state: JobState, run: () => Promise<GenerationResult>): Promise<GenerationResult> {
    return this.around(run, (hook, next) => hook.aroundFinish && (() => hook.aroundFinish!(visit, state, next)));
  }

  async beforeFinish(job: JobRef, result: GenerationResult): Promise<void> {
    for (const hook of this.hooks) await hook.beforeFinish?.(job, result);
  }

  async abandoned(job: JobRef, state: JobState | undefined): Promise<void> {
    for (const hook of this.hooks) await hook.abandoned?.(job, state);
  }

  /** `run` wrapped by every hook that wraps it, the first hook outermost. */
  private around<T>(run: () => Promise<T>, wrap: (hook: VisitHook, next: () => Promise<T>) => (() => Promise<T>) | undefined): Promise<T> {
    const composed = this.hooks.reduceRight<() => Promise<T>>((next, hook) => wrap(hook, next) ?? next, run);
    return composed();
  }
}
