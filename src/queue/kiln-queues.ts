import { Queue } from "bullmq";
import type { Logger } from "pino";
import type { RedisConnection } from "./redis.js";
import type { BatchJobData } from "../contract/batch-summary.js";
import type { GenerationResult } from "../contract/generation-result.js";
import { BATCHES_QUEUE, WEBHOOKS_QUEUE, generateQueueName, type GENERATE_JOB } from "../contract/queue-names.js";
import { PROVIDERS } from "../providers/model-registry.js";
import { safe } from "../util/safe.js";
import { bullmqTelemetry } from "../telemetry/tracing.js";
import type { WebhookDelivery } from "../contract/webhook-message.js";
import type { DELIVER_JOB, DeliveryResult, WebhookQueue } from "./webhook-queue.js";
import type { BatchJobResult, BatchQueue, SealJobData } from "./batch-queue.js";
import type { GenerationJob, GenerationQueue, StoredJobData } from "./kiln-job.js";

/** Job counts by BullMQ state (waiting, active, delayed, completed, failed, …). */
export type StateCounts = Record<string, number>;

/** Counts of every kiln queue, read in one go at scrape time. */
export interface QueueCounts {
  /** By provider name (`generate-<provider>`). */
  generation: Record<string, StateCounts>;
  webhooks: StateCounts;
}

/**
 * kiln's queues of one partition, typed, opened on demand and kept for reuse, all on one connection
 * and prefix (see `PartitionedQueues` for all of them).
 * Queue errors reach the calls that fail (they reject) and the log, at warn.
 */
export class KilnQueues {
  private readonly generationQueues = new Map<string, GenerationQueue>();
  private webhookQueue: WebhookQueue | undefined;
  private batchQueue: BatchQueue | undefined;

  constructor(
    private readonly connection: RedisConnection,
    readonly prefix: string,
    private readonly log: Logger,
  ) {}

  /** `provider`'s generation queue, `generate-<provider>`. */
  generation(provider: string): GenerationQueue {
    let queue = this.generationQueues.get(provider);
    if (!queue) {
      queue = this.open<StoredJobData, GenerationResult, typeof GENERATE_JOB>(generateQueueName(provider));
      this.generationQueues.set(provider, queue);
    }
    return queue;
  }

  webhooks(): WebhookQueue {
    this.webhookQueue ??= this.open<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>(WEBHOOKS_QUEUE);
    return this.webhookQueue;
  }

  batches(): BatchQueue {
    this.batchQueue ??= this.open<BatchJobData | SealJobData, BatchJobResult, "batch" | "seal">(BATCHES_QUEUE);
    return this.batchQueue;
  }

  /** The job with `id` in `provider`'s queue, if any. */
  async job(provider: string, id: string): Promise<GenerationJob | undefined> {
    return this.generation(provider).getJob(id);
  }

  /** Providers whose queue holds a job with `id` (BullMQ-minted ids repeat across queues). */
  async providersHolding(id: string): Promise<string[]> {
    const found = await Promise.all(PROVIDERS.map(async (p) => ((await this.job(p, id)) ? p : undefined)));
    return found.filter((p): p is (typeof PROVIDERS)[number] => p !== undefined);
  }

  /** Job counts of every provider's queue and of `webhooks`. */
  async counts(): Promise<QueueCounts> {
    const entries = await Promise.all(
      PROVIDERS.map(async (provider) => [provider, await this.generation(provider).getJobCounts()] as const),
    );
    return { generation: Object.fromEntries(entries), webhooks: await this.webhooks().getJobCounts() };
  }

  async close(): Promise<void> {
    const open = [...this.generationQueues.values(), this.webhookQueue, this.batchQueue];
    this.generationQueues.clear();
    this.webhookQueue = this.batchQueue = undefined;
    await Promise.all(open.filter((q) => q !== undefined).map((q) => q.close()));
  }

  private open<Data, Result, Name extends string>(name: string): Queue<Data, Result, Name> {
    const queue = new Queue<Data, Result, Name>(name, { connection: this.connection, prefix: this.prefix, telemetry: bullmqTelemetry() });
    queue.on(
      "error",
      safe(this.log, "queue error listener", (err: Error) => this.log.warn({ queue: name, err: err.message }, "queue error")),
    );
    return queue;
  }
}
