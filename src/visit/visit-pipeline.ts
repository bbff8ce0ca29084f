import type { Logger } from "pino";
import type { GenerationError, GenerationResult } from "../contract/generation-result.js";
import { initialState, type JobState } from "../state/job-state.js";
import { assertNever } from "../util/assert-never.js";
import { archiveStep } from "./steps/archive-step.js";
import type { AcceptedJob } from "./job-intake.js";
import { pollStep } from "./steps/poll-step.js";
import type { StepContext } from "./steps/step-context.js";
import type { StepOutcome } from "./steps/step-outcome.js";
import { submitStep } from "./steps/submit-step.js";
import type { WebhookNotifier } from "../webhooks/webhook-notifier.js";
import { cancelledError } from "../cancel/cancel-guard.js";
import { pastDeadline } from "./deadlines.js";
import type { JobResults, ResultJob } from "./job-results.js";
import type { StepContexts } from "./step-contexts.js";
import { VisitHooks, type VisitHook } from "./visit-hook.js";
import { hasFallback, movedOn, retarget, type FallbackReason } from "./fallback-targets.js";
import type { VisitResult } from "./visit-result.js";
import type { Visit, VisitJob } from "./visit.js";

/** How soon a job whose fallback's task this worker cannot call is offered to the workers again (before `KILN_POLL_SCALE`). */
const UNSERVABLE_RETRY_MS = 30_000;

/** Runs one step of a job: submit, poll or archive. */
export type StepRunner = (state: JobState, ctx: StepContext) => Promise<StepOutcome>;

/** The steps of a generation job, by their state's step. */
const generationSteps: StepRunner = (state, ctx) => {
  switch (state.step) {
    case "submit":
      return submitStep(state, ctx);
    case "poll":
      return pollStep(state, ctx);
    case "archive":
      return archiveStep(state, ctx);
    case "notify":
      throw new Error("notify is not a step to run");
    default:
      return assertNever(state, "step");
  }
};

export interface VisitPipelineOptions {
  /** Builds each visit's step context from the worker's settings. */
  contexts: StepContexts;
  results: JobResults;
  /** Enqueues a finished job's result webhook. */
  notifier: Pick<WebhookNotifier, "notify">;
  /** The job's cancel request, asked for on its own (a state write reports it otherwise). */
  cancelRequest: (jobId: string) => Promise<string | undefined>;
  /** Concerns plugged in from outside, the first outermost. @defaultValue none */
  hooks?: readonly VisitHook[];
  log: Logger;
  /** @defaultValue `generationSteps` */
  steps?: StepRunner;
}

/**
 * One visit of a generation job: resume → guards → step → hooks → persist, until the job has
 * to wait or ends. Its state is written before each side effect, so a visit that stops at any
 * point (a crash, a lost lock) resumes where it was. Knows nothing of BullMQ or Redis: the job
 * and its state store come in as a port (`VisitJob`), and the result (`VisitResult`) says what
 * the queue adapter is to do with the job.
 */
export class VisitPipeline {
  private readonly hooks: VisitHooks;
  private readonly steps: StepRunner;

  constructor(private readonly options: VisitPipelineOptions) {
    this.hooks = new VisitHooks(options.hooks ?? []);
    this.steps = options.steps ?? generationSteps;
  }

  async run(job: VisitJob, requested: AcceptedJob): Promise<VisitResult> {
    const resumed = this.resume(job, requested);
    if (!resumed.ok) return { type: "unrunnable", reason: resumed.reason };
    let state = resumed.state;
    // a job that moved on to a fallback runs it: its provider, its model, its input
    const accepted = retarget(requested, state.attempt);
    if (!this.options.contexts.serves(accepted.model.provider)) return this.unservable(job, accepted, state);
    const visit = this.open(job, accepted, state.attempt);
    if (state.step === "submit" && state.submitCalls === 0 && !state.attempt) await this.hooks.started(visit, state);
    for (;;) {
      if (state.step === "notify") return this.finish(visit, state);
      const outcome = await this.hooks.step(visit, state, () => this.guardedStep(visit, state));
      switch (outcome.type) {
        case "next":
          state = outcome.state;
          await visit.ctx.persist(state);
          break;
        case "wait":
          // the state (a new task id above all) is stored before anything that could fail after it
          await visit.ctx.persist(outcome.state);
          // the write said cancelling was asked for: the job ends in this visit instead of waiting
          if (visit.cancel.reason !== undefined) {
            state = outcome.state;
            break;
          }
          await this.hooks.beforeWait(visit, outcome.state);
          return { type: "delayed", delayMs: outcome.delayMs };
        case "park":
          // first in line: once handed a slot and promoted, the job goes before new submissions
          await job.writeState(outcome.state, true);
          return { type: "delayed", delayMs: outcome.delayMs, afterMove: () => this.hooks.afterPark(visit) };
        case "throttle":
          await visit.ctx.persist(outcome.state);
          // a fallback's 429 is another provider's: this queue is not the one to slow down
          if (!this.options.contexts.isOwn(accepted.model.provider)) return { type: "delayed", delayMs: outcome.delayMs };
          return { type: "throttled", delayMs: outcome.delayMs, reason: outcome.reason };
        case "fail": {
          const reason = this.fallbackReason(visit, outcome);
          if (reason) {
            // the next model's first state, stored before anything else: the next visit runs it
            await visit.ctx.persist(movedOn(outcome.state, accepted.model, reason, outcome.error.message, Date.now()));
            this.options.log.info(
              { jobId: job.id, from: `${accepted.model.provider}/${accepted.model.id}`, reason },
              "moving on to the next fallback",
            );
            return { type: "delayed", delayMs: 0 };
          }
          state = { ...outcome.state, step: "notify", result: this.options.results.of(job, accepted, outcome.state, outcome.error) };
          await visit.ctx.persist(state);
          break;
        }
        default:
          assertNever(outcome, "step outcome");
      }
    }
  }

  /**
   * The trigger that moves a failed job on to its next model, if one applies: the step's own
   * (capacity, failed submits, max wait), or a failure before any task existed that the
   * request's `fallbackOn` names (the model not available, the deadline while submitting).
   */
  private fallbackReason(visit: Visit, outcome: Extract<StepOutcome, { type: "fail" }>): FallbackReason | undefined {
    const on = visit.ctx.fallback;
    if (!on || outcome.state.taskId || outcome.state.step !== "submit") return undefined;
    if (outcome.fallback) return outcome.fallback;
    if (outcome.error.code === "model_not_available" && on.modelNotAvailable) return "modelNotAvailable";
    // a task that ran past the deadline may still finish, and be paid for: only a submit never accepted moves on,
    // and one whose outcome is unknown only where kiln would have submitted again anyway (the retry policy)
    const unknown = outcome.state.submitCalls > 0 && visit.ctx.onUnknownSubmit === "fail";
    if (outcome.error.code === "timed_out" && on.deadline && !unknown) return "deadline";
    return undefined;
  }

  /**
   * A fallback whose provider this worker has no key for: it moves on to the next one, or the
   * job fails saying so. The state is the one stored; nothing ran at that model.
   */
  private async unservable(job: VisitJob, accepted: AcceptedJob, state: JobState): Promise<VisitResult> {
    const message = `${accepted.model.provider} is not configured on this worker (no API key)`;
    if (state.step !== "submit" || state.taskId || state.submitCalls > 0) {
      // a task there may be running: only a worker holding that provider's key may go on with it
      this.options.log.warn({ jobId: job.id, provider: accepted.model.provider }, `${message}; leaving the job to a worker that has one`);
      return { type: "delayed", delayMs: this.options.contexts.scaled(UNSERVABLE_RETRY_MS) };
    }
    const written = (next: JobState) => job.writeState(next);
    if (hasFallback(accepted.request, state)) {
      await written(movedOn(state, accepted.model, "notConfigured", message, Date.now()));
      return { type: "delayed", delayMs: 0 };
    }
    const error: GenerationError = { code: "model_not_available", message, retryable: false };
    const result = this.options.results.of(job, accepted, state, error);
    await written({ ...state, step: "notify", result });
    const visit = this.open(job, accepted);
    return this.finish(visit, { ...state, step: "notify", result });
  }

  /**
   * A job whose data was refused fails alone: its reason logged, and `generation.failed` sent
   * when its data names a usable webhook. Returns the failed result.
   */
  async refuse(job: ResultJob & Pick<VisitJob, "subject">, data: unknown, error: GenerationError): Promise<GenerationResult> {
    const { log, results, notifier } = this.options;
    const named = (field: string) => {
      const value = typeof data === "object" && data !== null ? (data as Record<string, unknown>)[field] : undefined;
      return typeof value === "string" ? value.slice(0, 200) : undefined;
    };
    log.warn(
      { jobId: job.id, provider: named("provider"), model: named("model"), code: error.code, reason: error.message.slice(0, 1000) },
      `job failed: ${error.code} (refusing malformed job)`,
    );
    const { result, webhook } = results.refused(job, data, error);
    if (webhook)
      await notifier
        .notify(job.subject, webhook, "generation.failed", result, Date.now())
        .catch((err: unknown) => log.warn({ err, jobId: job.id }, "generation.failed of a refused job not enqueued"));
    return result;
  }

  /**
   * A job that failed outside the step loop (stalled too often, a bug) still owes its caller a
   * `generation.failed`, unless the step loop already ended it (its state holds a result).
   */
  async failOutside(
    job: ResultJob & Pick<VisitJob, "subject">,
    accepted: AcceptedJob,
    state: JobState | undefined,
    message: string,
  ): Promise<void> {
    if (state?.result) return;
    const current = state ? retarget(accepted, state.attempt) : accepted;
    const ref = { job, accepted: current };
    await this.hooks.abandoned(ref, state);
    const error: GenerationError = { code: "internal", message: this.options.contexts.secretsOf(accepted).scrub(message), retryable: true };
    const result = this.options.results.of(job, current, state ?? initialState(job.enqueuedAt, 0), error);
    this.logFailure(job.id, current, error);
    await this.hooks.beforeFinish(ref, result);
    await this.options.notifier.notify(job.subject, accepted.request.webhook, "generation.failed", result, Date.now());
  }

  /** One warn line per job that ends failed: what an operator greps for first (its reason already scrubbed of secrets). */
  private logFailure(jobId: string, accepted: AcceptedJob, error: GenerationError | undefined): void {
    const { provider, model } = accepted.request;
    this.options.log.warn(
      { jobId, provider, model, code: error?.code, reason: error?.message.slice(0, 1000) },
      `job failed: ${error?.code ?? "internal"}`,
    );
  }

  /** The stored state, or a new job's first one; an unreadable state is never started over (that would submit again). */
  private resume(job: VisitJob, accepted: AcceptedJob): { ok: true; state: JobState } | { ok: false; reason: string } {
    const { stored } = job;
    if (stored.kind === "state") return { ok: true, state: stored.state };
    if (stored.kind === "unreadable")
      return { ok: false, reason: `internal: stored job state is unreadable (${stored.reason}); not resubmitting` };
    const first = initialState(Date.now(), this.options.contexts.deadlineMs(accepted), stored.run);
    return { ok: true, state: this.hooks.initialState(job, first) };
  }

  private open(job: VisitJob, accepted: AcceptedJob, attempt?: number): Visit {
    const cancel: Visit["cancel"] = { known: false };
    // a state already written (same object) is not written twice: steps store what must be durable at once
    let written: JobState | undefined;
    const persist = async (state: JobState) => {
      if (state === written) return;
      const { cancelReason } = await job.writeState(state);
      cancel.known = true;
      cancel.reason = cancelReason;
      written = state;
    };
    const ctx = this.options.contexts.for(job, accepted, persist, (state) => this.hooks.admit({ job, accepted }, state), attempt);
    return { job, accepted, cancel, ctx };
  }

  /** The step, unless the job was cancelled or is past its deadline: then it fails. */
  private async guardedStep(visit: Visit, state: JobState): Promise<StepOutcome> {
    const cancelled = await cancelledError(visit, state, this.options.cancelRequest);
    const error = cancelled ?? pastDeadline(state, visit.ctx.now());
    if (error) return { type: "fail", state, error };
    return this.steps(state, visit.ctx);
  }

  /** The end of the job: its result sent; a failed result is a failed visit. */
  private async finish(visit: Visit, state: JobState): Promise<VisitResult> {
    const result = await this.hooks.finish(visit, state, async () => {
      const result = state.result ?? this.options.results.of(visit.job, visit.accepted, state);
      await this.hooks.beforeFinish(visit, result);
      const event = result.status === "completed" ? "generation.completed" : "generation.failed";
      await this.options.notifier.notify(visit.job.subject, visit.accepted.request.webhook, event, result, Date.now());
      return result;
    });
    if (result.status === "failed") {
      this.logFailure(visit.job.id, visit.accepted, result.error);
      return { type: "failed", result };
    }
    this.options.log.info({ jobId: visit.job.id, keys: result.outputs.map((o) => o.key) }, "completed");
    return { type: "completed", result };
  }
}
