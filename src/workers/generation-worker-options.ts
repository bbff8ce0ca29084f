import type { WorkerOptions } from "bullmq";
import type { BudgetPeriod } from "../billing/tenant-budget.js";
import type { DecimalAmount } from "../billing/decimal-amount.js";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { PriceTable } from "../billing/price-table.js";
import type { PartitionedQueues } from "../queue/partitioned-queues.js";
import { BULL_LIMITER } from "../rate-limits/queue-limiter.js";
import { bullmqTelemetry } from "../telemetry/tracing.js";
import type { ModelKind } from "../providers/model-kind.js";
import type { Provider } from "../providers/provider.js";
import type { RedisConnection } from "../queue/redis.js";
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS } from "../queue/worker-locks.js";
import type { ArchiveStore } from "../storage/archive-store.js";
import type { SecretScrubber } from "../util/secret-scrubber.js";
import type { OutputLimits } from "../storage/output-limits.js";
import type { PollScheduleMode } from "../polling/poll-planner.js";
import type { SlotHandoff } from "../inflight/slot-handoff.js";

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
  /**
   * The other providers this process holds keys for, with their slots and unknown-submit policy:
   * a job that moves on to a fallback of theirs calls them from this queue. @defaultValue none
   */
  peers?: ReadonlyMap<string, { provider: Provider; slots: ReturnType<SlotHandoff["forQueueOf"]>; onUnknownSubmit?: "retry" | "fail" }>;
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
  /**
   * `KILN_SUBMIT_PACING=on`: the process's event loop load (`EventLoopLoad`, one shared by its
   * workers, not stopped by `close()`), and new submits make room while the jobs this worker
   * delayed come back late to a busy process (`SubmitPacer`). Absent, they always run up to
   * `concurrency`. @defaultValue absent
   */
  submitPacing?: { busy(): number };
  /** Source of randomness for jitter. @defaultValue Math.random */
  random?: () => number;
  /**
   * Provider requests per second across every process and partition (`KILN_<PROVIDER>_RATE`),
   * for the poll schedule; the rate itself is held by the slots' window (`SlotHandoff`). @defaultValue unlimited
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
  /**
   * Tenants' spend limits per period (`KILN_TENANT_BUDGETS`, checked against `prices`): a job of a
   * budgeted tenant reserves its estimate before its submit. @defaultValue none: no tenant budgets
   */
  tenantBudgets?: ReadonlyMap<string, Partial<Record<BudgetPeriod, DecimalAmount>>>;
  /** Largest job data, bytes of JSON (`KILN_MAX_JOB_BYTES`): a bigger job fails `invalid_request` at intake. @defaultValue 1048576 (1 MiB) */
  maxJobBytes?: number;
  /**
   * The configured secrets (`secretScrubberOf(env)`): scrubbed, with the job's own webhook
   * secret, from every text of a step's outcome (a provider's error or failure message) before
   * it is stored, sent or logged. @defaultValue none
   */
  secrets?: SecretScrubber;
}

/** Jobs a worker handles at once: each visit is one short HTTP call, and waiting jobs hold no slot. */
export const DEFAULT_CONCURRENCY = 50;

/** The BullMQ worker's options for a generation queue under `prefix`. */
export function bullWorkerOptions(options: GenerationWorkerOptions, prefix: string): WorkerOptions {
  return {
    connection: options.connection,
    prefix,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    // a crash mid-visit leaves the job active; allow a few such crashes before BullMQ gives up on it
    maxStalledCount: 5,
    lockDuration: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
    stalledInterval: options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
    limiter: BULL_LIMITER,
    // each visit's process span joins the producer's trace through the context bullmq-otel stored in the job
    telemetry: bullmqTelemetry(),
  };
}
