import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { safe } from "./safe.js";

/**
 * Queues opened on demand by name and kept for reuse, all on one connection and prefix.
 * Queue errors reach the calls that fail (they reject) and the log, at warn.
 */
export class QueueCache {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly connection: Redis, private readonly prefix: string, private readonly log: Logger) {}

  get(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      queue.on("error", safe(this.log, "queue error listener", (err: Error) => this.log.warn({ queue: name, err: err.message }, "queue error")));
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
