import { DelayedError, Worker } from "bullmq";
import type { Logger } from "pino";
import { GENERATE_JOB, generateQueueName } from "../contract/queue-names.js";
import type { GenerationError, GenerationResult } from "../contract/generation-result.js";
import type { JobState } from "../state/job-state.js";
import { readState, type GenerationJob, type StoredJobData } from "../queue/kiln-job.js";
import { throttleProvider } from "../rate-limits/queue-limiter.js";
import type { RedisConnection } from "../queue/redis.js";
import { describeValue } from "../util/describe-value.js";
import { assertNever } from "../util/assert-never.js";
import { safe } from "../util/safe.js";
import type { VisitPipeline } from "../visit/visit-pipeline.js";
import type { VisitResult } from "../visit/visit-result.js";
import { finalFailure, isFinalFailure } from "../queue/final-failure.js";
import { generationPipeline } from "./generation-pipeline.js";
import { DEFAULT_CONCURRENCY, bullWorkerOptions, type GenerationWorkerOptions } from "./generation-worker-options.js";
import { jobIdentity, visitJobOf } from "./visit-job-of.js";
import { acceptJob } from "../visit/job-intake.js";
import { JobStateStore } from "./job-state-store.js";
import { DEFAULT_FETCH_WATCHDOG_MS } from "../queue/fetch-watchdog.js";
import { WatchedWorker } from "../queue/watched-worker.js";
import { SubmitPacer, pacedAsSubmit } from "./submit-pacer.js";

type GenerationBullWorker = Worker<StoredJobData, GenerationResult, typeof GENERATE_JOB>;

/**
 * BullMQ only needs to recognise the error that ends a visit moved to the delayed set; one
 * shared instance spares a stack trace capture per visit (it showed in the profile).
 */
const DELAYED = new DelayedError();

/**
 * Runs `generate` jobs of one provider's queue in one partition. It builds the BullMQ worker
 * and hands each job to the visit pipeline (`VisitPipeline`), then turns how the visit ended
 * into BullMQ's control flow: `moveToDelayed` + `DelayedError`, `RateLimitError`,
 * `UnrecoverableError`. This is the one place where visits meet BullMQ.
 */
export class GenerationWorker {
  readonly queueName: string;
  private readonly watched: WatchedWorker<StoredJobData, GenerationResult, typeof GENERATE_JOB>;
  private readonly log: Logger;
  private readonly states: JobStateStore;
  private readonly pipeline: VisitPipeline;
  /** A connection of its own: a state write never waits behind BullMQ's replies on the shared one. */
  private readonly stateConnection: RedisConnection;
  private readonly windowObservers = new Set<(ms: number) => void>();
  /** `<prefix>:<queue>:`, the start of every job hash key of this worker's queue. */
  private readonly keyPrefix: string;
  /** Holds new submits back while the jobs this worker delayed come back late to a busy process. */
  private readonly pacer: SubmitPacer;

  constructor(private readonly options: GenerationWorkerOptions) {
    this.queueName = generateQueueName(options.provider.name);
    const partition = options.partition ?? 0;
    const { prefix } = options.queues.partition(partition);
    this.log = options.log.child(options.queues.count > 1 ? { queue: this.queueName, partition } : { queue: this.queueName });
    this.stateConnection = options.connection.duplicate();
    this.stateConnection.on(
      "error",
      safe(this.log, "state connection error", (err: Error) => this.log.error({ err: err.message }, "state connection error")),
    );
    this.states = new JobStateStore(this.stateConnection, prefix, this.queueName);
    this.keyPrefix = `${prefix}:${this.queueName}:`;
    this.pipeline = generationPipeline(options, this.stateConnection, this.log, (ms) =>
      this.windowObservers.forEach((observe) => observe(ms)),
    );
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    const load = options.submitPacing;
    this.pacer = new SubmitPacer(concurrency, load ? { busy: () => load.busy() } : {});
    this.watched = new WatchedWorker(
      (processor) => new Worker(this.queueName, processor, bullWorkerOptions(options, prefix)),
      (job, token) => this.process(job, token),
      {
        queue: options.queues.partition(partition).generation(options.provider.name),
        redis: this.stateConnection,
        stallAfterMs: options.fetchWatchdogMs ?? DEFAULT_FETCH_WATCHDOG_MS,
        concurrency,
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
  get worker(): GenerationBullWorker {
    return this.watched.worker;
  }

  /** New submits this worker lets run at once now (`kiln_submits_allowed`): its concurrency, less while delayed jobs come back late. */
  get submitsAllowed(): number {
    return this.pacer.allowed;
  }

  /** Calls `observer` each time the watchdog recreates the BullMQ worker (`kiln_worker_recoveries_total`). */
  onRecovery(observer: () => void): void {
    this.watched.onRecovery(observer);
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

  /**
   * True once job `jobId` of this worker's queue completed or failed, or is gone: one HMGET of
   * its hash (`timestamp` is set on every job, `finishedOn` once it ended). For metrics.
   */
  async ended(jobId: string): Promise<boolean> {
    const [timestamp, finishedOn] = await this.stateConnection.hmget(this.keyPrefix + jobId, "timestamp", "finishedOn");
    return timestamp === null || finishedOn !== null;
  }

  /**
   * Stops taking jobs and waits for the visits in progress; with `force`, abandons them at once
   * (their locks lapse and the stalled check gives them to another worker).
   */
  async close(force = false): Promise<void> {
    this.pacer.close();
    await this.watched.close(force);
    await this.stateConnection.quit().catch(() => undefined);
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
    const visit = () => this.pipeline.run(visitJobOf(job, this.queueName, token, this.states), accepted.job);
    this.pacer.started(String(job.id));
    if (!pacedAsSubmit(job.progress)) return this.control(job, token, await visit());
    if (!(await this.pacer.take())) {
      // the worker is closing: a submit that has not started is left for another worker
      await this.delay(job, token, 0);
      throw DELAYED;
    }
    try {
      return await this.control(job, token, await visit());
    } finally {
      this.pacer.release();
    }
  }

  /** Moves `job` to the delayed set for `delayMs` (the last call that needs the job's lock: after it the job is no longer ours). */
  private async delay(job: GenerationJob, token: string | undefined, delayMs: number): Promise<void> {
    const at = Date.now() + delayMs;
    await job.moveToDelayed(at, token);
    this.pacer.delayed(String(job.id), at);
  }

  /** How the visit ended, as BullMQ's control flow. */
  private async control(job: GenerationJob, token: string | undefined, ended: VisitResult): Promise<GenerationResult> {
    switch (ended.type) {
      case "delayed":
        await this.delay(job, token, ended.delayMs);
        await ended.afterMove?.();
        throw DELAYED;
      case "throttled":
        if (this.options.ratePerSecond !== undefined) {
          // kiln paces this provider itself (KILN_<PROVIDER>_RATE): a stray 429 holds back this job, not every poll of the queue
          this.log.warn({ jobId: job.id, delayMs: ended.delayMs }, `provider rate limit on submit; this job waits: ${ended.reason}`);
          await this.delay(job, token, ended.delayMs);
          throw DELAYED;
        }
        this.log.warn({ jobId: job.id, delayMs: ended.delayMs }, `provider rate limit on submit; pausing the queue: ${ended.reason}`);
        await throttleProvider(this.options.queues, this.options.provider.name, ended.delayMs);
        throw Worker.RateLimitError();
      case "completed":
        return ended.result;
      case "failed":
        throw finalFailure(`${ended.result.error?.code}: ${ended.result.error?.message}`);
      case "unrunnable":
        throw finalFailure(ended.reason);
      default:
        return assertNever(ended, "visit result");
    }
  }

  /** A job whose data does not validate fails alone (see `VisitPipeline.refuse`). */
  private async refuse(job: GenerationJob, error: GenerationError): Promise<never> {
    await this.pipeline.refuse(jobIdentity(job, this.queueName), job.data, error);
    throw finalFailure(`${error.code}: ${error.message}`);
  }

  /** A job BullMQ failed for good outside a visit's own ending (stalled too often, a bug) still owes its caller a result. */
  private async onFailed(job: GenerationJob | undefined, err: Error): Promise<void> {
    // BullMQ itself fails a job that stalled too often with an UnrecoverableError: final too
    if (!job || !isFinalFailure(job, err)) return;
    const accepted = acceptJob(job.data, this.options.provider.name, { jobId: String(job.id), maxJobBytes: this.options.maxJobBytes });
    if (accepted.ok) await this.pipeline.failOutside(jobIdentity(job, this.queueName), accepted.job, this.stateOf(job), err.message);
  }
}
