import type { Worker } from "bullmq";
import type { Logger } from "pino";
import { GenerationResult } from "../contract/generation-result.js";
import { WEBHOOKS_QUEUE, providerOfQueue, type GENERATE_JOB } from "../contract/queue-names.js";
import type { GenerationJob, StoredJobData } from "../queue/kiln-job.js";
import { safe } from "../util/safe.js";
import type { WebhookDelivery } from "../contract/webhook-message.js";
import type { DELIVER_JOB, DeliveryResult, WebhookJob } from "../queue/webhook-queue.js";
import { isFinalFailure } from "../queue/final-failure.js";
import type { SlotScopeUsage, TenantSlotUsage } from "../inflight/inflight-slots.js";
import type { WatchedJob } from "./archive-watch.js";

/** How one webhook delivery attempt ended. */
export type WebhookOutcome = "delivered" | "retry" | "failed";

/** The BullMQ workers of one process, as `startKilnWorkers` creates them. */
export interface WorkerSet {
  generation: readonly {
    queueName: string;
    worker: Worker<StoredJobData, GenerationResult, typeof GENERATE_JOB>;
    stateOf(job: GenerationJob): SubmitState | undefined;
    onSubmitWindow(observer: (ms: number) => void): void;
    onRecovery(observer: () => void): void;
    /** True once the job completed or failed, or is gone (read from Redis). */
    ended(jobId: string): Promise<boolean>;
    /** New submits it lets run at once now (`kiln_submits_allowed`). */
    readonly submitsAllowed: number;
  }[];
  webhooks: readonly { worker: Worker<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>; onRecovery?(observer: () => void): void }[];
  /** Each provider's in-flight slot hand-off: its reclaims, and its caps' usage at scrape time. */
  handoffs?: readonly {
    provider: string;
    handoff: {
      onReclaim(observer: (jobId: string) => void): void;
      usage(): Promise<SlotScopeUsage[]>;
      tenants(): Promise<TenantSlotUsage[]>;
    };
  }[];
}

/** What the workers' events are recorded into (`KilnMetrics`). */
export interface WorkerEventRecorder {
  recordPoll(provider: string): void;
  recordSubmitWindow(provider: string): void;
  recordSubmitStored(provider: string, ms: number): void;
  recordResult(provider: string, result: GenerationResult): void;
  recordWebhookDelivery(outcome: WebhookOutcome): void;
  recordSlotReclaimed(provider: string): void;
  recordWorkerRecovery(queue: string): void;
  /** A job became active at the archive step: watched until it finishes (`kiln_archive_oldest_seconds`). */
  recordArchiving(provider: string, job: WatchedJob, providerCompletedAt: number): void;
}

/**
 * Feeds the workers' events into the metrics: poll visits ("active" at the poll step), finished
 * generations (their result's timings and outputs) and webhook attempts. Listeners go through
 * `safe`, so a metrics bug is logged and never reaches BullMQ.
 */
export function attachWorkerMetrics(metrics: WorkerEventRecorder, workers: WorkerSet, log: Logger): void {
  for (const generation of workers.generation) {
    const { queueName, worker } = generation;
    const provider = providerOfQueue(queueName) ?? queueName;
    generation.onSubmitWindow((ms) => metrics.recordSubmitStored(provider, ms));
    generation.onRecovery(() => metrics.recordWorkerRecovery(queueName));
    worker.on(
      "active",
      safe(log, "metrics active listener", (job: GenerationJob) => {
        const state = generation.stateOf(job);
        if (state?.step === "archive" && state.providerCompletedAt !== undefined)
          metrics.recordArchiving(provider, watchedJob(generation, job.queueQualifiedName, String(job.id)), state.providerCompletedAt);
        if (state?.step === "poll") metrics.recordPoll(provider);
        if (reentersSubmitWindow(state)) metrics.recordSubmitWindow(provider);
      }),
    );
    worker.on(
      "completed",
      safe(log, "metrics completed listener", (_job: GenerationJob, result: unknown) => recordResult(metrics, provider, result)),
    );
    worker.on(
      "failed",
      safe(log, "metrics failed listener", (job: GenerationJob | undefined, err: Error) => {
        // the state machine stores the failed result in the job's state before it fails the job
        if (job && isFinalFailure(job, err)) recordResult(metrics, provider, generation.stateOf(job)?.result);
      }),
    );
  }
  for (const webhooks of workers.webhooks) {
    attachWebhookMetrics(metrics, webhooks.worker, log);
    webhooks.onRecovery?.(() => metrics.recordWorkerRecovery(WEBHOOKS_QUEUE));
  }
  for (const { provider, handoff } of workers.handoffs ?? []) handoff.onReclaim(() => metrics.recordSlotReclaimed(provider));
}

function attachWebhookMetrics(
  metrics: WorkerEventRecorder,
  webhooks: Worker<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>,
  log: Logger,
): void {
  webhooks.on(
    "completed",
    safe(log, "metrics webhook completed listener", () => metrics.recordWebhookDelivery("delivered")),
  );
  webhooks.on(
    "failed",
    safe(log, "metrics webhook failed listener", (job: WebhookJob | undefined, err: Error) => {
      metrics.recordWebhookDelivery(job && !isFinalFailure(job, err) ? "retry" : "failed");
    }),
  );
}

/** What the metrics read of a job's stored state. */
export interface SubmitState {
  step: string;
  submitCalls: number;
  taskId?: string;
  result?: unknown;
  /** When the provider finished the task (ms): set from the archive step on. */
  providerCompletedAt?: number;
}

/** The watch keeps strings and the long-lived worker, never the job object (its data may be large). */
function watchedJob(generation: WorkerSet["generation"][number], queue: string, id: string): WatchedJob {
  return { key: `${queue}:${id}`, ended: () => generation.ended(id) };
}

/** A visit at submit after a call whose outcome is unknown: it will call the provider again. */
export function reentersSubmitWindow(state: SubmitState | undefined): boolean {
  return state?.step === "submit" && state.submitCalls > 0 && state.taskId === undefined;
}

/** Jobs refused before the state machine ran have no result: nothing to time. */
function recordResult(metrics: WorkerEventRecorder, provider: string, value: unknown): void {
  const result = GenerationResult.safeParse(value);
  if (result.success) metrics.recordResult(provider, result.data);
}
