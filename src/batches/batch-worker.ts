import { Readable } from "node:stream";
import { Worker } from "bullmq";
import { finalFailure } from "../queue/final-failure.js";
import type { RedisConnection } from "../queue/redis.js";
import type { Logger } from "pino";
import { BatchJobData, type BatchSummary } from "../contract/batch-summary.js";
import { tenantOf } from "../contract/tenant.js";
import { BATCHES_QUEUE, providerOfQueue } from "../contract/queue-names.js";
import type { BatchJob, BatchJobResult, SealJobData } from "../queue/batch-queue.js";
import type { KilnQueues } from "../queue/kiln-queues.js";
import { describeIssues } from "../contract/generation-request.js";
import { eventSubject } from "../contract/webhook-message.js";
import type { ArchiveStore } from "../storage/archive-store.js";
import { safe } from "../util/safe.js";
import { BudgetLedger } from "../billing/budget-ledger.js";
import { UsageTotals } from "../billing/usage-totals.js";
import { batchResultLines, type ResultCounts } from "./batch-results.js";
import type { WebhookNotifier } from "../webhooks/webhook-notifier.js";
import { bullmqTelemetry } from "../telemetry/tracing.js";

export interface BatchWorkerOptions {
  connection: RedisConnection;
  /** kiln's queues on the same prefix (failed children are read from theirs); not closed by `close()`. */
  queues: KilnQueues;
  store: ArchiveStore;
  notifier: WebhookNotifier;
  log: Logger;
}

/**
 * Runs the `batches` queue: the seal child (nothing to do: being processed is what releases
 * the parent) and the batch parent, which runs once every child has ended. The parent streams
 * results.jsonl into the archive store and sends `batch.completed`.
 */
export class BatchWorker {
  readonly worker: Worker<BatchJobData | SealJobData, BatchJobResult, "batch" | "seal">;
  private readonly ledger: BudgetLedger;

  constructor(private readonly options: BatchWorkerOptions) {
    const prefix = options.queues.prefix;
    this.ledger = new BudgetLedger(options.connection, prefix);
    this.worker = new Worker<BatchJobData | SealJobData, BatchJobResult, "batch" | "seal">(BATCHES_QUEUE, (job) => this.process(job), {
      connection: options.connection,
      prefix,
      concurrency: 2,
      telemetry: bullmqTelemetry(),
    });
    this.worker.on(
      "error",
      safe(options.log, "batch worker error", (err) => options.log.error({ err }, "batch worker error")),
    );
  }

  async close(): Promise<void> {
    await this.worker.close();
  }

  private async process(job: BatchJob): Promise<BatchJobResult> {
    if (job.name === "seal") return { sealed: true };
    // any BullMQ client can write a batch parent: data that does not hold fails alone, once, naming the field
    const parsed = BatchJobData.safeParse(job.data);
    if (!parsed.success) throw finalFailure(`invalid_request: ${describeIssues(parsed.error)}`);
    const data = parsed.data;
    const counts: ResultCounts = { completed: 0, failed: 0, budgetExhausted: 0, totals: new UsageTotals() };
    const key = `${data.archivePrefix}/batches/${data.batchId}/results.jsonl`;
    // re-running after a crash rewrites the same key from the same dependencies: same file
    const lines = Readable.from(
      batchResultLines(job, this.options.queues.prefix, (name) => this.options.queues.generation(providerOfQueue(name) ?? name), counts),
    );
    // a store that failed before reading (or half-way) must not leave the lines' generator, and
    // its Redis reads, suspended; the error it would raise has a listener
    const stored = await this.options.store.put(key, lines, "application/x-ndjson").finally(() => {
      lines.on("error", () => undefined);
      lines.destroy();
    });
    const summary: BatchSummary = {
      id: data.batchId,
      status: "completed",
      counts: { total: data.total, completed: counts.completed, failed: counts.failed, invalid: data.invalid },
      results: { key, url: stored.url },
      totals: counts.totals.total(),
      reason: counts.budgetExhausted > 0 ? "budget_exhausted" : undefined,
      budget: await this.budgetOf(data),
      metadata: data.metadata,
      tenant: tenantOf(data),
      finishedAt: new Date().toISOString(),
    };
    await this.options.notifier.notifyBatch(eventSubject(BATCHES_QUEUE, String(job.id), job.timestamp), data.webhook, summary, Date.now());
    this.options.log.info({ batchId: data.batchId, ...summary.counts, key, reason: summary.reason }, "batch completed");
    return summary;
  }

  /** The ledger's limit and what was charged against it, for a budgeted batch. */
  private async budgetOf(data: BatchJobData): Promise<BatchSummary["budget"]> {
    if (!data.budget) return undefined;
    const state = await this.ledger.read(data.batchId);
    return state ? { limit: state.limit, currency: state.currency, spent: state.spent } : undefined;
  }
}
