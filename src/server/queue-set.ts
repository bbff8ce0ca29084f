import { Queue, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { WEBHOOKS_QUEUE, generateQueueName } from "../producers/queue-names.js";
import { PROVIDERS } from "../providers/model-registry.js";
import { safe } from "../util/safe.js";

/** Job counts by BullMQ state (waiting, active, delayed, completed, failed, …). */
export type StateCounts = Record<string, number>;

/** Counts of every kiln queue, read in one go at scrape time. */
export interface QueueCounts {
  /** By provider name (`generate-<provider>`). */
  generation: Record<string, StateCounts>;
  webhooks: StateCounts;
}

/**
 * The HTTP server's read-side handles on kiln's queues: job data for the idempotency check of
 * `POST /v1/generations`, and job counts for `/metrics`. They share the caller's connection.
 */
export class QueueSet {
  private readonly generation = new Map<string, Queue>();
  private readonly webhooks: Queue;

  constructor(connection: Redis, prefix: string, log: Logger) {
    const open = (name: string) => {
      const queue = new Queue(name, { connection, prefix });
      queue.on("error", safe(log, "queue error", (err: Error) => log.warn({ queue: name, err: err.message }, "queue error")));
      return queue;
    };
    for (const provider of PROVIDERS) this.generation.set(provider, open(generateQueueName(provider)));
    this.webhooks = open(WEBHOOKS_QUEUE);
  }

  /** The job with `id` in `provider`'s queue, if any. */
  async job(provider: string, id: string): Promise<Job | undefined> {
    return this.generation.get(provider)?.getJob(id);
  }

  /** Providers whose queue holds a job with `id` (BullMQ-minted ids repeat across queues). */
  async providersHolding(id: string): Promise<string[]> {
    const found = await Promise.all(PROVIDERS.map(async (p) => ((await this.job(p, id)) ? p : undefined)));
    return found.filter((p): p is (typeof PROVIDERS)[number] => p !== undefined);
  }

  async counts(): Promise<QueueCounts> {
    const entries = await Promise.all([...this.generation].map(async ([provider, queue]) => [provider, await queue.getJobCounts()] as const));
    return { generation: Object.fromEntries(entries), webhooks: await this.webhooks.getJobCounts() };
  }

  async close(): Promise<void> {
    await Promise.all([...this.generation.values(), this.webhooks].map((q) => q.close()));
  }
}
