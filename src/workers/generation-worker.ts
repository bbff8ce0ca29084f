import { DelayedError, UnrecoverableError, Worker, type Processor } from "bullmq";
import { JobStateStore } from "./job-state-store.js";
import { isFinalFailure } from "./final-failure.js";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { GENERATE_JOB, generateQueueName } from "../contract/queue-names.js";
import { readState, type GenerationJob, type GenerationQueue, type StoredJobData } from "../producers/kiln-job.js";
import type { WebhookQueue } from "../webhooks/webhook-queue.js";
import type { GenerationError, GenerationResult } from "../contract/generation-result.js";
import { GenerationRequest } from "../producers/generation-request.js";
import { describeValue, isRecord } from "../util/describe-value.js";
import type { Provider } from "../providers/provider.js";
import type { ModelSpec } from "../providers/model-spec.js";
import type { ModelKind } from "../providers/model-kind.js";
import type { ArchiveStore } from "../storage/archive-store.js";
import { assertNever } from "../util/assert-never.js";
import { safe } from "../util/safe.js";
import { archiveStep } from "./archive-step.js";
import { buildResult } from "./generation-outcome.js";
import { acceptJob, type AcceptedJob } from "./job-intake.js";
import { initialState, type JobState } from "../contract/job-state.js";
import { OutputFetcher } from "./output-fetcher.js";
import { outputLimitsFor, type OutputLimits } from "./output-limits.js";
import { DEFAULT_ARCHIVE_WINDOW_MS } from "./error-outcome.js";
import { pollStep } from "./poll-step.js";
import type { StepContext } from "./step-context.js";
import type { StepOutcome } from "./step-outcome.js";
import { submitStep } from "./submit-step.js";
import { WebhookNotifier, progressDue } from "./webhook-notifier.js";
import type { SlotHandoff } from "./slot-handoff.js";
import type { PartitionedQueues } from "../producers/partitioned-queues.js";
import type { RedisConnection } from "../redis.js";
import { CancelRequests } from "../producers/cancellation.js";
import { generationProgress } from "../webhooks/generation-progress.js";
import { PollPlanner, type PollScheduleMode } from "./poll-planner.js";
import { DurationStatsStore } from "./duration-stats-store.js";
import { eventSubject } from "../webhooks/webhook-message.js";
import { bullmqTelemetry } from "../telemetry/tracing.js";
import { KilnAttribute, activeTraceparent, inSpan } from "../telemetry/kiln-spans.js";
import { SpanKind, type Attributes, type Span } from "@opentelemetry/api";
import type { PriceTable } from "../billing/price-table.js";
import { costOf } from "../billing/cost-of.js";
import { formatDecimal, parseDecimal } from "../billing/decimal-amount.js";
import { BatchBudget } from "./batch-budget.js";
import { SecretScrubber } from "../util/secret-scrubber.js";
import { scrubbedOutcome } from "./scrubbed-outcome.js";
import { WatchedWorker } from "./watched-worker.js";
import { DEFAULT_FETCH_WATCHDOG_MS } from "./fetch-watchdog.js";

export interface GenerationWorkerOptions {
  provider: Provider;
  /** A connection made with `connectRedis(target, "worker")`; the worker duplicates it as needed. */
  connection: RedisConnection;
  /** kiln's queues in every partition, under `KILN_PREFIX` (not closed by `close()`). */
  queues: PartitionedQueues;
  /** The partition whose queue this worker consumes, 0 ≤ partition < `queues.count`. @defaultValue 0 */
  partition?: number;
  /** The provider's in-flight slots, shared by the workers of all its partitions (`SlotHandoff.forProvider`); not stopped by `close()`. */
  slots: SlotHandoff;
  store: ArchiveStore;
  /** Outbound HTTP agent for result downloads (refuses private addresses unless allowed). */
  dispatcher: Dispatcher;
  allowPrivateUrls: boolean;
  log: Logger;
  /** Jobs handled at once. Each visit is one short HTTP call; waiting jobs hold no slot. @defaultValue 50 */
  concurrency?: number;
  /** Multiplies every poll delay: 1 in production, small in tests and the demo. @defaultValue 1 */
  pollScale?: number;
  /** `KILN_POLL_SCHEDULE`: `adaptive` learns each model's durations and follows the progress; `fixed` is 1.5× per poll. @defaultValue "adaptive" */
  pollSchedule?: PollScheduleMode;
  /** Source of randomness for jitter. @defaultValue Math.random */
  random?: () => number;
  /**
   * Provider requests per second across every process and partition (`KILN_<PROVIDER>_RATE`):
   * each of the `queues.count` partitions' queues gets an even share. @defaultValue unlimited
   */
  ratePerSecond?: number;
  /**
   * What a submit whose outcome is unknown leads to (`KILN_<PROVIDER>_ON_UNKNOWN_SUBMIT`):
   * `retry` submits again (the rare double is counted), `fail` ends the job. @defaultValue "retry"
   */
  onUnknownSubmit?: "retry" | "fail";
  /**
   * Status answers in a row that no reading understands before the job fails `bad_response`
   * (`KILN_MAX_BAD_ANSWERS`), at least 1. @defaultValue 5
   */
  maxBadAnswers?: number;
  /** Deadlines per model kind, ms, counted from the first submit (`KILN_DEADLINE_<KIND>`). @defaultValue the kind's poll policy */
  deadlines?: Partial<Record<ModelKind, number>>;
  /**
   * Per model kind, the most bytes one output may have and the most time its download may take
   * (`KILN_MAX_OUTPUT_BYTES_<KIND>`, `KILN_DOWNLOAD_TIMEOUT_<KIND>`). @defaultValue `DEFAULT_OUTPUT_LIMITS`
   */
  outputLimits?: Partial<Record<ModelKind, Partial<Omit<OutputLimits, "kind">>>>;
  /**
   * How long archiving retries after the provider finished before the job fails with
   * `archive_failed`, ms (`KILN_ARCHIVE_DEADLINE`). @defaultValue 3600000 (1 h)
   */
  archiveWindowMs?: number;
  /**
   * BullMQ's lock on an active job, ms (`KILN_LOCK_DURATION`); renewed every half of it while a
   * visit runs. A killed worker's jobs are free again after it. @defaultValue 10000
   */
  lockDurationMs?: number;
  /** How often the stalled check runs, ms (`KILN_STALLED_INTERVAL`). @defaultValue 5000 */
  stalledIntervalMs?: number;
  /**
   * `KILN_FETCH_WATCHDOG`: the BullMQ worker is recreated when it picks up no job for this long
   * while jobs are due in its queue and it has free concurrency, ms; 0 turns the check off.
   * @defaultValue 20000
   */
  fetchWatchdogMs?: number;
  /**
   * The operator's prices (KILN_PRICES): results carry a `cost` when they cover the model, and
   * budgeted batch children are charged against their batch's budget. @defaultValue none: no
   * costs, and a child of a budgeted batch fails as unpriced
   */
  prices?: PriceTable;
  /** Largest job data, bytes of JSON (`KILN_MAX_JOB_BYTES`): a bigger job fails `invalid_request` at intake. @defaultValue 1048576 (1 MiB) */
  maxJobBytes?: number;
  /**
   * The configured secrets (`secretScrubberOf(env)`): scrubbed, with the job's own webhook
   * secret, from every text of a step's outcome (a provider's error or failure message) before
   * it is stored, sent or logged. @defaultValue none
   */
  secrets?: SecretScrubber;
}

/** See `maxBadAnswers`: a few backed-off polls (about 15 s) tell a broken reader from a glitch. */
export const DEFAULT_MAX_BAD_ANSWERS = 5;

const NO_SECRETS = new SecretScrubber([]);

/** What one visit knows of its job's cancel request: `known` once a state write of the visit told it. */
interface VisitCancel {
  known: boolean;
  reason?: string;
}

/** BullMQ's `lockDuration` for generation jobs: visits are short, so a killed worker's jobs come back soon. */
export const DEFAULT_LOCK_DURATION_MS = 10_000;
/** BullMQ's `stalledInterval`: with the lock above, a killed worker's jobs return within about 10–15 s. */
export const DEFAULT_STALLED_INTERVAL_MS = 5_000;

/**
 * BullMQ only honours `queue.rateLimit` (used on a 429 at submit) when the worker has a
 * limiter, so one is always set; without a configured rate it is too high to matter.
 */
const UNLIMITED_PER_SECOND = 10_000;

/**
 * BullMQ only needs to recognise the error that ends a visit moved to the delayed set; one
 * shared instance spares a stack trace capture per visit (it showed in the profile).
 */
const DELAYED = new DelayedError();

/**
 * Runs `generate` jobs of one provider's queue through submit → poll → archive → notify,
 * persisting the step in the job's own hash (`JobStateStore`) before each side effect. This class is the one place
 * where step outcomes become BullMQ control flow.
 */
export class GenerationWorker {
  readonly queueName: string;
  private readonly watched: WatchedWorker<StoredJobData, GenerationResult, typeof GENERATE_JOB>;
  private readonly webhooks: WebhookQueue;
  private readonly own: GenerationQueue;
  private readonly slots: SlotHandoff;
  private readonly cancels: CancelRequests;
  private readonly notifier: WebhookNotifier;
  private readonly fetcher: OutputFetcher;
  private readonly log: Logger;
  private readonly states: JobStateStore;
  private readonly planner: PollPlanner;
  private readonly stateConnection: RedisConnection;
  private readonly budget: BatchBudget;
  private readonly windowObservers = new Set<(ms: number) => void>();

  constructor(private readonly options: GenerationWorkerOptions) {
    const { maxBadAnswers } = options;
    if (maxBadAnswers !== undefined && !(Number.isInteger(maxBadAnswers) && maxBadAnswers >= 1))
      throw new RangeError(`maxBadAnswers: expected a whole number of at least 1, got ${maxBadAnswers}`);
    this.queueName = generateQueueName(options.provider.name);
    const partition = options.partition ?? 0;
    const queues = options.queues.partition(partition);
    this.log = options.log.child(options.queues.count > 1 ? { queue: this.queueName, partition } : { queue: this.queueName });
    this.fetcher = new OutputFetcher({ dispatcher: options.dispatcher, allowPrivate: options.allowPrivateUrls });
    // a job's webhooks go to its own partition's queue: a re-run adds the same delivery id there
    this.webhooks = queues.webhooks();
    this.notifier = new WebhookNotifier(this.webhooks);
    this.own = queues.generation(options.provider.name);
    this.cancels = new CancelRequests(options.connection, queues.prefix);
    this.slots = options.slots;
    // a connection of its own: a state write never waits behind BullMQ's replies on the shared one
    this.stateConnection = options.connection.duplicate();
    this.stateConnection.on(
      "error",
      safe(this.log, "state connection error", (err: Error) => this.log.error({ err: err.message }, "state connection error")),
    );
    this.states = new JobStateStore(this.stateConnection, queues.prefix, this.queueName);
    this.budget = new BatchBudget(this.stateConnection, queues.prefix, options.prices);
    // learned per provider and model across partitions, under the un-partitioned prefix; a read is
    // reused for 10 s of (scaled) poll time, and at least 1 s: learning costs no round trip per visit
    // even where KILN_POLL_SCALE makes visits milliseconds apart (tests, benches)
    const stats = new DurationStatsStore(this.stateConnection, options.queues.prefix, {
      cacheMs: Math.max(1_000, 10_000 * (options.pollScale ?? 1)),
    });
    this.planner = new PollPlanner({
      mode: options.pollSchedule,
      stats,
      scale: options.pollScale,
      ratePerSecond: options.ratePerSecond,
      random: options.random,
      log: this.log,
    });
    const prefix = queues.prefix;
    this.watched = new WatchedWorker(
      (processor) => this.createWorker(prefix, processor),
      (job, token) => this.process(job, token),
      {
        queue: this.own,
        redis: this.stateConnection,
        stallAfterMs: options.fetchWatchdogMs ?? DEFAULT_FETCH_WATCHDOG_MS,
        concurrency: options.concurrency ?? 50,
        log: this.log,
      },
    );
    this.worker.on(
      "error",
      safe(this.log, "worker error", (err) => this.log.error({ err }, "worker error")),
    );
    this.worker.on(
      "failed",
      safe(this.log, "failed listener", (job, err) => this.onFailed(job, err)),
    );
  }

  /** The BullMQ worker running this queue now (the fetch watchdog may have replaced an earlier one). */
  get worker(): Worker<StoredJobData, GenerationResult, typeof GENERATE_JOB> {
    return this.watched.worker;
  }

  /** Calls `observer` each time the watchdog recreates the BullMQ worker (`kiln_worker_recoveries_total`). */
  onRecovery(observer: () => void): void {
    this.watched.onRecovery(observer);
  }

  private createWorker(
    prefix: string,
    processor: Processor<StoredJobData, GenerationResult, typeof GENERATE_JOB>,
  ): Worker<StoredJobData, GenerationResult, typeof GENERATE_JOB> {
    const options = this.options;
    return new Worker<StoredJobData, GenerationResult, typeof GENERATE_JOB>(this.queueName, processor, {
      connection: options.connection,
      prefix,
      concurrency: options.concurrency ?? 50,
      // a crash mid-visit leaves the job active; allow a few such crashes before BullMQ gives up on it
      maxStalledCount: 5,
      lockDuration: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
      stalledInterval: options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
      // each visit is about one provider request, so limiting visits limits requests; BullMQ's
      // limiter is per queue, so the partitions share the rate evenly and together never exceed it
      limiter: limiterFor((options.ratePerSecond ?? UNLIMITED_PER_SECOND) / options.queues.count),
      // each visit's process span joins the producer's trace through the context bullmq-otel stored in the job
      telemetry: bullmqTelemetry(),
    });
  }

  /**
   * Stops taking jobs and waits for the visits in progress; with `force`, abandons them at once
   * (their locks lapse and the stalled check gives them to another worker).
   */
  async close(force = false): Promise<void> {
    await this.watched.close(force);
    await this.stateConnection.quit().catch(() => undefined);
  }

  /** Calls `observer` with each submit window measured (answer arrived → task id stored), ms. */
  onSubmitWindow(observer: (ms: number) => void): void {
    this.windowObservers.add(observer);
  }

  /** kiln's stored state of `job` (a job of this worker's queue), for metrics and listeners. */
  stateOf(job: GenerationJob): JobState | undefined {
    const stored = readState(job);
    return stored.kind === "state" ? stored.state : undefined;
  }

  private async process(job: GenerationJob, token: string | undefined): Promise<GenerationResult> {
    if (job.name !== GENERATE_JOB)
      return this.refuse(job, {
        code: "invalid_request",
        message: `unknown job name ${describeValue(job.name)} (expected "${String(GENERATE_JOB)}")`,
        retryable: false,
      });
    const accepted = acceptJob(job.data, this.options.provider.name, { jobId: String(job.id), maxJobBytes: this.options.maxJobBytes });
    if (!accepted.ok) return this.refuse(job, accepted.error);
    const visit: VisitCancel = { known: false };
    const ctx = this.contextFor(job, token, accepted.job, visit);
    let state = this.resumeState(job, accepted.job);
    if (state.step === "submit" && state.submitCalls === 0)
      await this.notifier.notifyProgress(ctx.subject, ctx.request.webhook, "generation.started", this.progressOf(ctx, state), Date.now());
    for (;;) {
      if (state.step === "notify") return this.tracedFinish(job, ctx, state);
      const outcome = await this.releaseSlotIfDone(await this.tracedStep(job, state, ctx, visit), ctx);
      switch (outcome.type) {
        case "next":
          state = outcome.state;
          await ctx.persist(state);
          break;
        case "wait":
          // the state (a new task id above all) is stored before anything that could fail after it
          await ctx.persist(outcome.state);
          // the write said cancelling was asked for: the job ends in this visit instead of waiting
          if (visit.reason !== undefined) {
            state = outcome.state;
            break;
          }
          await this.reportProgress(ctx, outcome.state);
          // must be the last Redis call before DelayedError: after it we no longer hold the job's lock
          await job.moveToDelayed(Date.now() + outcome.delayMs, token);
          throw DELAYED;
        case "park": {
          // the later in line, the rarer the job's own re-check (a wake-up hands it the slot first)
          const recheckMs = await this.slots.recheckDelayMs(ctx.jobId);
          // priority 0: once handed a slot and promoted, the job goes before new submissions
          await this.states.write(job, token, outcome.state, true);
          // must be the last call that needs the job's lock
          await job.moveToDelayed(Date.now() + recheckMs, token);
          await this.slots.wakeIfHanded(ctx.jobId);
          throw DELAYED;
        }
        case "throttle":
          await ctx.persist(outcome.state);
          this.log.warn({ jobId: job.id, delayMs: outcome.delayMs }, `provider rate limit on submit; pausing the queue: ${outcome.reason}`);
          // the job goes back to waiting with no attempt spent; every worker of the provider's queues,
          // in every partition, waits out the delay
          await Promise.all(this.options.queues.all().map((p) => p.generation(this.options.provider.name).rateLimit(outcome.delayMs)));
          throw Worker.RateLimitError();
        case "fail":
          state = { ...outcome.state, step: "notify", result: this.resultOf(job, accepted.job, outcome.state, outcome.error) };
          await ctx.persist(state);
          break;
        default:
          assertNever(outcome, "step outcome");
      }
    }
  }

  /**
   * Sends `generation.progress` (when asked for, at most every 500 ms) and notes when. Best
   * effort: progress is informative, so failing to send it never fails the job.
   */
  private async reportProgress(ctx: StepContext, state: JobState): Promise<void> {
    const now = Date.now();
    if (!progressDue(state.lastProgressAt, now)) return;
    try {
      // the poll count is the sequence: a re-run of the same visit adds the same delivery, not another
      const sent = await this.notifier.notifyProgress(
        ctx.subject,
        ctx.request.webhook,
        "generation.progress",
        this.progressOf(ctx, state),
        now,
        state.polls,
      );
      if (sent) await ctx.persist({ ...state, lastProgressAt: now });
    } catch (err) {
      this.log.warn({ err, jobId: ctx.jobId }, "progress webhook not enqueued");
    }
  }

  private progressOf(ctx: StepContext, state: JobState) {
    return generationProgress(
      { id: ctx.jobId, provider: ctx.request.provider, model: ctx.model.id, metadata: ctx.request.metadata },
      state,
    );
  }

  /**
   * The slot is given back as soon as the provider's task is over: its terminal status, a
   * failure, the deadline. A capped job that fails before it holds one (a cancel while it
   * waits) leaves its lane, and a slot handed to it in the meantime goes to the next.
   */
  private async releaseSlotIfDone(outcome: StepOutcome, ctx: StepContext): Promise<StepOutcome> {
    const { state } = outcome;
    const over = outcome.type === "fail" || state.step === "archive" || state.step === "notify";
    const waiting = outcome.type === "fail" && !this.slots.uncapped(ctx.model.id);
    if (!over || !(state.slot || waiting)) return outcome;
    await this.slots.release(ctx.jobId);
    return { ...outcome, state: { ...state, slot: false } };
  }

  /**
   * The job's cancel request as this visit knows it. Every state write reports it, so a GET of
   * its own is needed only before a step with side effects (submit, archive) when the visit has
   * written nothing yet; a poll goes ahead unchecked (asking for a status changes nothing) and
   * the write after it tells. A pending poll visit thus makes no Redis call for it.
   */
  private async cancelReason(state: JobState, ctx: StepContext, visit: VisitCancel): Promise<string | undefined> {
    if (visit.known) return visit.reason;
    if (state.step === "poll") return undefined;
    return this.cancels.reasonFor(this.queueName, ctx.jobId);
  }

  /** A step's outcome, with provider text scrubbed of the configured secrets and the job's own. */
  private async runStep(state: JobState, ctx: StepContext, visit: VisitCancel): Promise<StepOutcome> {
    return scrubbedOutcome(await this.runStepUnscrubbed(state, ctx, visit), ctx.secrets);
  }

  private secretsOf(request: Pick<GenerationRequest, "webhook">): SecretScrubber {
    return (this.options.secrets ?? NO_SECRETS).with([request.webhook?.secret]);
  }

  private async runStepUnscrubbed(state: JobState, ctx: StepContext, visit: VisitCancel): Promise<StepOutcome> {
    const cancelled = await this.cancelReason(state, ctx, visit);
    if (cancelled !== undefined)
      return { type: "fail", state, error: { code: "cancelled", message: cancelled || "cancelled by request", retryable: false } };
    // a job still waiting for its first submit (an in-flight slot) has no deadline yet
    const waitingToSubmit = state.step === "submit" && state.submitCalls === 0;
    if (state.step !== "archive" && !waitingToSubmit && ctx.now() > state.deadlineAt) {
      const error: GenerationError = {
        code: "timed_out",
        message: `no result before the deadline (${new Date(state.deadlineAt).toISOString()}); last provider status: ${state.providerStatus ?? "none"}`,
        retryable: true,
      };
      return { type: "fail", state, error };
    }
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
        return assertNever(state.step, "step");
    }
  }

  /** One step of the visit in a span of its own (`kiln.submit`, `kiln.poll`, `kiln.archive`), under BullMQ's process span. */
  private tracedStep(job: GenerationJob, state: JobState, ctx: StepContext, visit: VisitCancel): Promise<StepOutcome> {
    const step = async (span: Span) => {
      const outcome = await this.runStep(state, ctx, visit);
      span.setAttributes({
        [KilnAttribute.outcome]: outcome.type,
        [KilnAttribute.polls]: outcome.state.polls,
        ...(outcome.state.taskId === undefined ? {} : { [KilnAttribute.taskId]: outcome.state.taskId }),
      });
      return outcome;
    };
    return inSpan(`kiln.${state.step}`, spanAttributes(job, ctx, state), step, SpanKind.INTERNAL, visitParent(job, state));
  }

  /** The notify step in a span (`kiln.notify`) whose outcome is the result's status; the webhook job is enqueued under it. */
  private tracedFinish(job: GenerationJob, ctx: StepContext, state: JobState): Promise<GenerationResult> {
    const outcome = state.result?.status ?? "completed";
    const attributes = { ...spanAttributes(job, ctx, state), [KilnAttribute.outcome]: outcome };
    return inSpan("kiln.notify", attributes, () => this.finish(job, ctx, state), SpanKind.INTERNAL, visitParent(job, state));
  }

  /** Sends the result and ends the job: completed returns it, failed throws it. */
  private async finish(job: GenerationJob, ctx: StepContext, state: JobState): Promise<GenerationResult> {
    const result = state.result ?? this.resultOf(job, ctx, state);
    await this.settleBudget(ctx.request.batch, ctx.jobId, result);
    await this.notifier.notify(
      ctx.subject,
      ctx.request.webhook,
      result.status === "completed" ? "generation.completed" : "generation.failed",
      result,
      Date.now(),
    );
    if (result.status === "failed") throw new UnrecoverableError(`${result.error?.code}: ${result.error?.message}`);
    this.log.info({ jobId: job.id, keys: result.outputs.map((o) => o.key) }, "completed");
    return result;
  }

  /**
   * Replaces the job's reservation in its batch's budget with its cost (nothing billable, 0),
   * before its webhook and its end: the next child's reservation then sees what this one spent.
   * Every batch child asks, even one whose state does not show a reservation (a crash can come
   * between the reservation and the state write): the ledger knows, and a child without a hold,
   * or one settled already, changes nothing.
   */
  private async settleBudget(batch: GenerationRequest["batch"], jobId: string, result: GenerationResult): Promise<void> {
    if (!batch) return;
    await this.budget.settle(batch.id, jobId, result.cost ? (parseDecimal(result.cost.amount) ?? 0n) : 0n);
  }

  /**
   * A job whose data does not validate fails alone, with a coded reason naming the field, a log
   * line, and `generation.failed` when its data names a usable webhook. Nothing here may throw
   * on hostile data (null, objects without a usable toString, huge values).
   */
  private async refuse(job: GenerationJob, error: GenerationError): Promise<never> {
    this.log.warn({ jobId: job.id, code: error.code, reason: error.message.slice(0, 1000) }, "refusing malformed job");
    const data: Record<string, unknown> = isRecord(job.data) ? job.data : {};
    const webhook = GenerationRequest.shape.webhook.safeParse(data.webhook);
    const metadata = GenerationRequest.shape.metadata.safeParse(data.metadata);
    const textOr = (value: unknown, fallback: string) => (typeof value === "string" && value.length <= 200 ? value : fallback);
    const result = buildResult(
      {
        id: String(job.id),
        enqueuedAt: job.timestamp,
        provider: this.options.provider.name,
        model: textOr(data.model, ""),
        metadata: metadata.success ? metadata.data : undefined,
      },
      {},
      Date.now(),
      error,
    );
    if (webhook.success && webhook.data) {
      await this.notifier
        .notify(this.subjectOf(job), webhook.data, "generation.failed", result, Date.now())
        .catch((err: unknown) => this.log.warn({ err, jobId: job.id }, "generation.failed of a refused job not enqueued"));
    }
    throw new UnrecoverableError(`${error.code}: ${error.message}`);
  }

  private resultOf(
    job: GenerationJob,
    accepted: Pick<AcceptedJob, "request" | "model">,
    state: JobState,
    error?: GenerationError,
  ): GenerationResult {
    const { request, model } = accepted;
    // a task that ran costs what it used, whatever happened after it (an archive failure, a cancel)
    const price = this.options.prices?.priceOf(model.provider, model.id);
    const amount = price && state.usage ? costOf(price, state.usage) : undefined;
    return buildResult(
      {
        id: String(job.id),
        enqueuedAt: job.timestamp,
        provider: request.provider,
        model: model.id,
        metadata: request.metadata,
        batch: request.batch,
        cost: amount === undefined ? undefined : { amount: formatDecimal(amount), currency: this.options.prices!.currency },
      },
      state,
      Date.now(),
      error,
    );
  }

  private resumeState(job: GenerationJob, accepted: AcceptedJob): JobState {
    const stored = readState(job);
    if (stored.kind === "none") return withTrace(job, initialState(Date.now(), this.deadlineFor(accepted.model)));
    if (stored.kind === "state") return stored.state;
    // starting over would submit the task again: an unreadable state ends the job instead
    throw new UnrecoverableError(`internal: stored job state is unreadable (${stored.reason}); not resubmitting`);
  }

  private deadlineFor(model: ModelSpec): number {
    return this.options.deadlines?.[model.kind] ?? model.poll.deadlineMs;
  }

  private subjectOf(job: GenerationJob): string {
    return eventSubject(this.queueName, String(job.id), job.timestamp);
  }

  private contextFor(job: GenerationJob, token: string | undefined, accepted: AcceptedJob, visit: VisitCancel): StepContext {
    const request = accepted.request;
    // a state already written (same object) is not written twice: steps store what must be durable at once
    let written: JobState | undefined;
    const persist = async (state: JobState) => {
      if (state === written) return;
      const { cancelReason } = await this.states.write(job, token, state);
      visit.known = true;
      visit.reason = cancelReason;
      written = state;
    };
    return {
      jobId: String(job.id),
      subject: this.subjectOf(job),
      enqueuedAt: job.timestamp,
      request,
      input: accepted.input,
      model: accepted.model,
      provider: this.options.provider,
      store: this.options.store,
      fetcher: this.fetcher,
      slots: this.slots,
      budget: this.budget,
      log: this.log,
      persist,
      deadlineMs: this.deadlineFor(accepted.model),
      outputLimits: outputLimitsFor(accepted.model.kind, this.options.outputLimits),
      archiveWindowMs: this.options.archiveWindowMs ?? DEFAULT_ARCHIVE_WINDOW_MS,
      onUnknownSubmit: this.options.onUnknownSubmit ?? "retry",
      observeSubmitWindow: (ms) => {
        for (const observer of this.windowObservers) observer(ms);
      },
      planner: this.planner,
      maxBadAnswers: this.options.maxBadAnswers ?? DEFAULT_MAX_BAD_ANSWERS,
      secrets: this.secretsOf(request),
      pollScale: this.options.pollScale ?? 1,
      random: this.options.random ?? Math.random,
      now: Date.now,
    };
  }

  /**
   * Jobs that fail outside the state machine (stalled too often, a bug) still owe their
   * caller a `generation.failed`: send it unless the state machine already did.
   */
  private async onFailed(job: GenerationJob | undefined, err: Error): Promise<void> {
    if (!job) return;
    // BullMQ itself fails a job that stalled too often with an UnrecoverableError: final too
    if (!isFinalFailure(job, err)) return;
    const accepted = acceptJob(job.data, this.options.provider.name, { jobId: String(job.id), maxJobBytes: this.options.maxJobBytes });
    if (!accepted.ok) return;
    const state = this.stateOf(job);
    // a result means the state machine ended the job and already notified
    if (state?.result) return;
    if (state?.slot || !this.slots.uncapped(accepted.job.model.id)) await this.slots.release(String(job.id));
    const error: GenerationError = { code: "internal", message: this.secretsOf(accepted.job.request).scrub(err.message), retryable: true };
    const result = this.resultOf(job, accepted.job, state ?? initialState(job.timestamp, 0), error);
    await this.settleBudget(accepted.job.request.batch, String(job.id), result);
    await this.notifier.notify(this.subjectOf(job), accepted.job.request.webhook, "generation.failed", result, Date.now());
  }
}

/**
 * A job whose producer did not trace carries no trace context, so BullMQ starts a trace per
 * visit. Its first visit's span is kept in the state, and the spans of later visits hang under
 * it (linked from their own visit's span): one trace per request all the same.
 */
function withTrace(job: GenerationJob, state: JobState): JobState {
  if (job.opts.telemetry?.metadata !== undefined) return state;
  const trace = activeTraceparent();
  return trace === undefined ? state : { ...state, trace };
}

/** Where a visit's spans hang: under the first visit's span for a job that came untraced, else under this visit's. */
function visitParent(job: GenerationJob, state: JobState): string | undefined {
  return job.opts.telemetry?.metadata === undefined ? state.trace : undefined;
}

/** What every span of a visit says about its job. */
function spanAttributes(job: GenerationJob, ctx: StepContext, state: JobState): Attributes {
  return {
    [KilnAttribute.provider]: ctx.request.provider,
    [KilnAttribute.model]: ctx.model.id,
    [KilnAttribute.jobId]: ctx.jobId,
    [KilnAttribute.attempt]: job.attemptsStarted,
    [KilnAttribute.step]: state.step,
    ...(state.taskId === undefined ? {} : { [KilnAttribute.taskId]: state.taskId }),
  };
}

/**
 * BullMQ's limiter for `perSecond` requests: `max` per `duration` ms with the same rate, so
 * 0.5/s is 1 per 2000 ms and 2.5/s is 3 per 1200 ms (never rounded up to a faster rate).
 */
export function limiterFor(perSecond: number): { max: number; duration: number } {
  const max = Math.max(1, Math.round(perSecond));
  return { max, duration: Math.round((1000 * max) / perSecond) };
}
