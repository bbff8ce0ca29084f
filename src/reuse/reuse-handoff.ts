import type { Logger } from "pino";
import type { GenerationJob } from "../queue/kiln-job.js";
import { ReuseRegistry, type ReusableResult, type ReuseClaim } from "./reuse-registry.js";

/**
 * Identical requests as one provider's visits see them: the registry in Redis, plus the BullMQ
 * side (is a leader still alive, wake the jobs that waited on it). A waiting job is a delayed
 * BullMQ job, costing nothing; whoever ends the wait (the leader's result, its failure, a
 * waiter finding it gone) promotes the jobs the registry returns. A promote lost to a crash is
 * made up by each waiter's own re-check.
 */
export class ReuseHandoff {
  constructor(
    private readonly registry: ReuseRegistry,
    /** Finds a job of the provider in whichever partition holds it. */
    private readonly findJob: (jobId: string) => Promise<GenerationJob | undefined>,
    private readonly log: Logger,
  ) {}

  claim(key: string, jobId: string, maxAgeMs: number, runningTtlMs: number): Promise<ReuseClaim> {
    return this.registry.claim(key, jobId, maxAgeMs, runningTtlMs);
  }

  /** Offers a completed result for `ttlMs` and wakes the jobs that waited on it. */
  async publish(key: string, jobId: string, result: ReusableResult, ttlMs: number): Promise<void> {
    await this.wake(await this.registry.publish(key, jobId, result, ttlMs));
  }

  /** Gives up on `leader`'s record (in `state`) and wakes the jobs that waited on it: each asks again. */
  async abandon(key: string, leader: string, state: "running" | "done" = "running"): Promise<void> {
    await this.wake(await this.registry.abandon(key, leader, state));
  }

  leave(key: string, jobId: string): Promise<void> {
    return this.registry.leave(key, jobId);
  }

  runningLeader(key: string): Promise<string | undefined> {
    return this.registry.runningLeader(key);
  }

  /** Whether `jobId` may still complete: it exists and has not finished (failed, completed). */
  async isLive(jobId: string): Promise<boolean> {
    const job = await this.findJob(jobId);
    if (!job) return false;
    const state = await job.getState();
    return state !== "completed" && state !== "failed" && state !== "unknown";
  }

  /** Promotes the delayed jobs among `jobIds`; one not delayed is on its way to a worker already, or gone. */
  async wake(jobIds: readonly string[]): Promise<void> {
    for (const jobId of jobIds) {
      try {
        await (await this.findJob(jobId))?.promote();
      } catch (err) {
        // not delayed (active, or just promoted by its own re-check): it asks the registry on its next visit
        this.log.debug({ err, jobId }, "job waiting on an identical request not promoted");
      }
    }
  }
}
