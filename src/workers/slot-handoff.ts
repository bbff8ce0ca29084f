import type { GenerationQueue } from "../producers/kiln-job.js";
import type { Logger } from "pino";
import type { InflightSlots } from "./inflight-slots.js";
import type { SlotGate } from "./step-context.js";

/** How often each worker process sweeps its provider's slots (lapsed slots, lost wake-ups). @defaultValue 5 s */
export const DEFAULT_SWEEP_EVERY_MS = 5_000;

/**
 * Hands in-flight slots to waiting jobs and wakes them. A job that finds its provider or model
 * full waits in a lane in Redis as a delayed job, costing nothing while it waits; whoever frees
 * a slot (a release, a sweep of lapsed slots) is told which waiters were handed one and
 * promotes their BullMQ jobs, so the next job in enqueue order is submitted at once.
 *
 * The promote is a separate call from the script that hands the slot over (their keys live in
 * different hash slots once queues are partitioned). A crash between the two leaves a handed
 * slot unclaimed: it lapses after the grant TTL and a later sweep hands it to the same job
 * again and wakes it. Every process sweeps on a timer, so that bound holds with no traffic.
 */
export class SlotHandoff implements SlotGate {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly slots: InflightSlots,
    private readonly queue: GenerationQueue,
    private readonly log: Logger,
    private readonly sweepEveryMs = DEFAULT_SWEEP_EVERY_MS,
  ) {}

  /** Starts the periodic sweep (a no-op for a provider without caps). */
  start(): void {
    if (this.timer || !this.slots.capped()) return;
    this.timer = setInterval(() => void this.sweep(), this.sweepEveryMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async acquire(jobId: string, modelId: string, lapsesAt: number, enqueuedAt: number): Promise<boolean> {
    const answer = await this.slots.acquire(jobId, modelId, lapsesAt, enqueuedAt);
    await this.wake(answer.granted);
    return answer.held;
  }

  /** Gives back the job's slot (or its place in a lane) and wakes whoever it went to. */
  async release(jobId: string): Promise<void> {
    await this.wake(await this.slots.release(jobId));
  }

  uncapped(modelId: string): boolean {
    return this.slots.uncapped(modelId);
  }

  /**
   * Called once a waiting job is parked: a slot handed to it while it was still active could not
   * promote it, so it promotes itself. Best effort: a miss is recovered when the grant lapses.
   */
  async wakeIfHanded(jobId: string): Promise<void> {
    try {
      if (await this.slots.holds(jobId)) await this.wakeOne(jobId);
    } catch (err) {
      this.log.warn({ err, jobId }, "could not check for a slot handed over while parking");
    }
  }

  async sweep(): Promise<void> {
    try {
      await this.wake(await this.slots.sweep());
    } catch (err) {
      this.log.warn({ err }, "in-flight slot sweep failed");
    }
  }

  /** Never throws: a job not woken now is woken when its grant lapses and is handed again. */
  private async wake(jobIds: readonly string[]): Promise<void> {
    for (const jobId of jobIds) {
      try {
        await this.wakeOne(jobId);
      } catch (err) {
        this.log.warn({ err, jobId }, "could not wake a job handed an in-flight slot");
      }
    }
  }

  // Once queues are partitioned (issue 10), lanes are global per provider while jobs live in
  // partition queues: the job's queue must then be found from its id (`prefixOf` in src/partitions.ts).
  private async wakeOne(jobId: string): Promise<void> {
    const job = await this.queue.getJob(jobId);
    // removed while waiting: its slot goes to the next in line
    if (!job) return this.wake(await this.slots.release(jobId));
    try {
      await job.promote();
    } catch {
      // not delayed: already on its way to a worker (it claims the slot there), or it ended
      const state = await job.getState();
      if (state === "completed" || state === "failed" || state === "unknown") await this.wake(await this.slots.release(jobId));
    }
  }
}
