import { Queue } from "bullmq";
import type { Redis } from "ioredis";

/**
 * Queues opened on demand by name and kept for reuse, all on one connection and prefix.
 * Queue errors are left to the calls that fail (they reject); `onError` can log them too.
 */
export class QueueCache {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly connection: Redis, private readonly prefix: string, private readonly onError: (err: Error) => void = () => undefined) {}

  get(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      queue.on("error", this.onError);
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
