import type { RedisConnection } from "../queue/redis.js";

/** How long a cancel request waits for a worker to act on it. */
const CANCEL_TTL_S = 30 * 24 * 3600;

/**
 * Cancel requests, kept in Redis beside the queues: a producer marks a job, and the worker
 * ends it as failed (`cancelled`) at its next visit, through its usual failure path (slot
 * released, `generation.failed` sent). The key is under the prefix of the job's partition, so it
 * shares the hash-tag slot with the job in a Redis Cluster (the worker's state write reads both).
 */
export class CancelRequests {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  async request(queue: string, jobId: string, reason: string): Promise<void> {
    await this.redis.set(this.key(queue, jobId), reason, "EX", CANCEL_TTL_S);
  }

  /** The reason, when cancellation was asked for. */
  async reasonFor(queue: string, jobId: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(queue, jobId))) ?? undefined;
  }

  private key(queue: string, jobId: string): string {
    return cancelKey(this.prefix, queue, jobId);
  }
}

/**
 * Where a job's cancel request is kept. Ids repeat across queues (BullMQ mints them per
 * queue), so the queue is part of the key; the worker's state write reads it too.
 */
export function cancelKey(prefix: string, queue: string, jobId: string): string {
  return `${prefix}:${queue}:cancel:${jobId}`;
}
