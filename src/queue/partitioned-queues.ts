import type { Logger } from "pino";
import { partitionOf, partitionPrefix } from "./partitions.js";
import type { RedisConnection } from "./redis.js";
import type { GenerationJob } from "./kiln-job.js";
import { KilnQueues, type QueueCounts, type StateCounts } from "./kiln-queues.js";

/**
 * kiln's queues in every partition (`KILN_PARTITIONS`), each partition a `KilnQueues` on its own
 * prefix, all on one connection. A job lives in the partition of its id (`of`); a batch and its
 * children in the partition of the batch id. With one partition this is one `KilnQueues` on the
 * prefix itself. Partitions open their queues on demand, so many partitions cost nothing unused.
 */
export class PartitionedQueues {
  private readonly partitions: KilnQueues[];

  /**
   * @param prefix `KILN_PREFIX`, un-partitioned: the keys that stay global per provider (in-flight
   *   slots, learned durations) live under it.
   * @param count `KILN_PARTITIONS`.
   */
  constructor(
    connection: RedisConnection,
    readonly prefix: string,
    readonly count: number,
    log: Logger,
  ) {
    this.partitions = Array.from({ length: count }, (_, i) => new KilnQueues(connection, partitionPrefix(prefix, i, count), log));
  }

  /** The queues of partition `index` (0 ≤ index < count). */
  partition(index: number): KilnQueues {
    const queues = this.partitions[index];
    if (!queues) throw new RangeError(`partition ${index} is outside 0..${this.count - 1}`);
    return queues;
  }

  /** The queues of the partition that holds `jobId`: `crc32(jobId) mod count`. */
  of(jobId: string): KilnQueues {
    return this.partition(partitionOf(jobId, this.count));
  }

  /**
   * Where a job with `jobId` can be, most likely first: its own partition, then, since a batch's
   * children (`<batchId>.<custom_id>`) live in the batch's partition, that of each part of the id
   * before a `.`. Each partition once.
   */
  candidatesFor(jobId: string): KilnQueues[] {
    const indexes = [partitionOf(jobId, this.count)];
    for (let dot = jobId.indexOf("."); dot > 0; dot = jobId.indexOf(".", dot + 1))
      indexes.push(partitionOf(jobId.slice(0, dot), this.count));
    return [...new Set(indexes)].map((i) => this.partition(i));
  }

  /** The job with `jobId` in `provider`'s queue of whichever candidate partition holds it. */
  async findJob(provider: string, jobId: string): Promise<GenerationJob | undefined> {
    for (const queues of this.candidatesFor(jobId)) {
      const job = await queues.job(provider, jobId);
      if (job) return job;
    }
    return undefined;
  }

  all(): readonly KilnQueues[] {
    return this.partitions;
  }

  /** Job counts of every provider's queue and of `webhooks`, summed over the partitions. */
  async counts(): Promise<QueueCounts> {
    const each = await Promise.all(this.partitions.map((p) => p.counts()));
    const generation: Record<string, StateCounts> = {};
    for (const counts of each)
      for (const [provider, byState] of Object.entries(counts.generation)) generation[provider] = add(generation[provider], byState);
    return { generation, webhooks: each.reduce<StateCounts>((sum, counts) => add(sum, counts.webhooks), {}) };
  }

  async close(): Promise<void> {
    await Promise.all(this.partitions.map((p) => p.close()));
  }
}

function add(sum: StateCounts = {}, more: StateCounts): StateCounts {
  const out = { ...sum };
  for (const [state, n] of Object.entries(more)) out[state] = (out[state] ?? 0) + n;
  return out;
}
