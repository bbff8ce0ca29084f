import type { Job, Worker } from "bullmq";
import type { Logger } from "pino";
import { GenerationResult } from "../producers/generation-result.js";
import { safe } from "../util/safe.js";
import { isFinalFailure } from "../workers/final-failure.js";
import type { KilnMetrics } from "./kiln-metrics.js";

/** How one webhook delivery attempt ended. */
export type WebhookOutcome = "delivered" | "retry" | "failed";

/** The BullMQ workers of one process, as `startKilnWorkers` creates them. */
export interface WorkerSet {
  generation: readonly { queueName: string; worker: Worker; stateOf(job: Job): SubmitState | undefined; onSubmitWindow(observer: (ms: number) => void): void }[];
  webhooks: { worker: Worker };
}

/**
 * Feeds the workers' events into the metrics: poll visits ("active" at the poll step), finished
 * generations (their result's timings and outputs) and webhook attempts. Listeners go through
 * `safe`, so a metrics bug is logged and never reaches BullMQ.
 */
export function attachWorkerMetrics(metrics: KilnMetrics, workers: WorkerSet, log: Logger): void {
  for (const generation of workers.generation) {
    const { queueName, worker } = generation;
    const provider = queueName.replace(/^generate-/, "");
    generation.onSubmitWindow((ms) => metrics.recordSubmitStored(provider, ms));
    worker.on("active", safe(log, "metrics active listener", (job: Job) => {
      const state = generation.stateOf(job);
      if (state?.step === "poll") metrics.recordPoll(provider);
      if (reentersSubmitWindow(state)) metrics.recordSubmitWindow(provider);
    }));
    worker.on("completed", safe(log, "metrics completed listener", (_job: Job, result: unknown) => recordResult(metrics, provider, result)));
    worker.on("failed", safe(log, "metrics failed listener", (job: Job | undefined, err: Error) => {
      // the state machine stores the failed result in the job's state before it fails the job
      if (job && isFinalFailure(job, err)) recordResult(metrics, provider, generation.stateOf(job)?.result);
    }));
  }
  const webhooks = workers.webhooks.worker;
  webhooks.on("completed", safe(log, "metrics webhook completed listener", () => metrics.recordWebhookDelivery("delivered")));
  webhooks.on("failed", safe(log, "metrics webhook failed listener", (job: Job | undefined, err: Error) => {
    metrics.recordWebhookDelivery(job && !isFinalFailure(job, err) ? "retry" : "failed");
  }));
}

export { isFinalFailure };

/** What the metrics read of a job's stored state. */
export interface SubmitState {
  step: string;
  submitCalls: number;
  taskId?: string;
  result?: unknown;
}

/** A visit at submit after a call whose outcome is unknown: it will call the provider again. */
export function reentersSubmitWindow(state: SubmitState | undefined): boolean {
  return state?.step === "submit" && state.submitCalls > 0 && state.taskId === undefined;
}

/** Jobs refused before the state machine ran have no result: nothing to time. */
function recordResult(metrics: KilnMetrics, provider: string, value: unknown): void {
  const result = GenerationResult.safeParse(value);
  if (result.success) metrics.recordResult(provider, result.data);
}
