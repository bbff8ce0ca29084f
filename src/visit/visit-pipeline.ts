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
import type { VisitResult } from "./visit-result.js";
import type { Visit, VisitJob } from "./visit.js";

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

  async run(job: VisitJob, accepted: AcceptedJob): Promise<VisitResult> {
    const resumed = this.resume(job, accepted);
    if (!resumed.ok) return { type: "unrunnable", reason: resumed.reason };
    let state = resumed.state;
    const visit = this.open(job, accepted);
    if (state.step === "submit" && state.submitCalls === 0) await this.hooks.started(visit, state);
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
          return { type: "throttled", delayMs: outcome.delayMs, reason: outcome.reason };
        case "fail":
          state = { ...outcome.state, step: "notify", result: this.options.results.of(job, accepted, outcome.state, outcome.error) };
          await visit.ctx.persist(state);
          break;
        default:
          assertNever(outcome, "step outcome");
      }
    }
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
    const ref = { job, accepted };
    await this.hooks.abandoned(ref, state);
    const error: GenerationError = { code: "internal", message: this.options.contexts.secretsOf(accepted).scrub(message), retryable: true };
    const result = this.options.results.of(job, accepted, state ?? initialState(job.enqueuedAt, 0), error);
    this.logFailure(job.id, accepted, error);
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
    return { ok: true, state: this.hooks.initialState(job, initialState(Date.now(), this.options.contexts.deadlineMs(accepted))) };
  }

  private open(job: VisitJob, accepted: AcceptedJob): Visit {
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
    const ctx = this.options.contexts.for(job, accepted, persist, (state) => this.hooks.admit({ job, accepted }, state));
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
