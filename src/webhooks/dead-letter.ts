import { Queue, type JobType } from "bullmq";
import type { RedisConnection } from "../queue/redis.js";
import { WEBHOOKS_QUEUE } from "../contract/queue-names.js";
import { partitionPrefixes } from "../queue/partitions.js";
import type { Logger } from "pino";
import { createLogger } from "../logger.js";
import { safe } from "../util/safe.js";
import { z } from "zod";
import { DeliveryAttempt, type WebhookDelivery } from "../contract/webhook-message.js";
import type { DELIVER_JOB, DeliveryResult, WebhookJob, WebhookQueue } from "../queue/webhook-queue.js";
import { bullmqTelemetry } from "../telemetry/tracing.js";
import { findDeliveryByMessageId } from "./delivery-search.js";

/** States a delivery can be listed in: still retrying, or given up on (the dead letter). */
export const DELIVERY_STATES = ["waiting", "active", "delayed", "failed"] as const satisfies readonly JobType[];
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** One delivery as an operator sees it. Never carries the signing secret or the body. */
export interface DeliverySummary {
  /** BullMQ job id: what `replay` takes. */
  id: string;
  state: string;
  /** `webhook-id`, unchanged by retries and replays. */
  messageId: string;
  /** The generation job the event is about. */
  jobId: string;
  event: string;
  /** Host of the target URL (path and query left out: they can hold tokens). */
  host: string;
  /** Attempts BullMQ counts since the last (re)start; `history` keeps every one. */
  attemptsMade: number;
  history: DeliveryAttempt[];
  failedReason?: string;
  /** Status of the last attempt that got an answer, if the last one did. */
  lastStatus?: number;
  lastError?: string;
}

/** What replaying one delivery did; one not replayed has its `state` when it exists (none when unknown). */
export type ReplayResult = { id: string; replayed: true } | { id: string; replayed: false; reason: string; state?: string };

export interface DeadLetterOptions {
  /** A Redis connection (not closed by `close()`). */
  connection: RedisConnection;
  /** `KILN_PREFIX`. */
  prefix: string;
  /** `KILN_PARTITIONS`: the `webhooks` queue of every partition is looked at. @defaultValue 1 */
  partitions?: number;
  /** Jobs read from Redis per request while listing. @defaultValue 500 */
  pageSize?: number;
  /** Where queue errors are logged. @defaultValue a kiln logger at warn */
  log?: Logger;
}

/**
 * The failed set of the `webhooks` queue (of every partition) seen as a dead letter: list what
 * failed and why, and replay deliveries with the same `webhook-id` and body and a fresh attempt
 * budget.
 */
export class DeadLetter {
  private readonly queues: WebhookQueue[];
  private readonly pageSize: number;
  private readonly connection: RedisConnection;

  constructor(options: DeadLetterOptions) {
    this.connection = options.connection;
    // surfaced to callers through the rejected calls, and logged
    const log = options.log ?? createLogger({ level: "warn" });
    this.queues = partitionPrefixes(options.prefix, options.partitions ?? 1).map((prefix) => {
      const queue = new Queue<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>(WEBHOOKS_QUEUE, {
        connection: options.connection,
        prefix,
        telemetry: bullmqTelemetry(),
      });
      queue.on(
        "error",
        safe(log, "dead letter queue error listener", (err: Error) => log.warn({ err: err.message }, "webhooks queue error")),
      );
      return queue;
    });
    this.pageSize = options.pageSize ?? 500;
  }

  /** Deliveries in `states`, newest first, at most `limit`. */
  async list(options: { states?: readonly DeliveryState[]; limit?: number } = {}): Promise<DeliverySummary[]> {
    const states = [...(options.states ?? ["failed"])];
    const limit = options.limit ?? 100;
    const pages = await Promise.all(this.queues.map((queue) => queue.getJobs(states, 0, limit - 1, false)));
    const jobs = pages.flat().filter((j): j is WebhookJob => j !== undefined);
    // each partition's page is newest first already; merged, they are ordered again
    if (this.queues.length > 1) jobs.sort((a, b) => lastMoved(b) - lastMoved(a));
    return Promise.all(jobs.slice(0, limit).map(async (job) => summarize(job, await job.getState())));
  }

  /** One delivery by job id, in whatever state, or undefined when unknown. */
  async get(id: string): Promise<DeliverySummary | undefined> {
    for (const queue of this.queues) {
      // state first, then the job: a job read before its state could be an attempt older than the state says
      const state = await queue.getJobState(id);
      const job = await queue.getJob(id);
      if (job) return summarize(job, state);
    }
    return undefined;
  }

  /**
   * Moves a failed delivery back to waiting with its attempt counters reset, so it gets the
   * whole schedule again. Its data is untouched: same `webhook-id`, same body, history kept.
   */
  async replay(id: string): Promise<ReplayResult> {
    return this.sendAgain(id, ["failed"]);
  }

  /**
   * Sends a delivery again whether it failed or was delivered: a receiver that lost a webhook it
   * acknowledged gets it once more, with the same `webhook-id` and body (Standard Webhooks: a
   * receiver deduplicates by webhook-id, so a second copy of one it kept is harmless). One still
   * waiting or being retried is not replayed: it is on its way already.
   */
  async resend(id: string): Promise<ReplayResult> {
    return this.sendAgain(id, ["failed", "completed"]);
  }

  /** The delivery id of the delivery with this `webhook-id`, in any partition and state; undefined when none is kept. */
  async findByMessageId(messageId: string): Promise<string | undefined> {
    for (const queue of this.queues) {
      const found = await findDeliveryByMessageId(this.connection, queue, messageId, this.pageSize);
      if (found) return found;
    }
    return undefined;
  }

  /** Moves a delivery in one of `from` back to waiting with its attempt counters reset (see `replay`). */
  private async sendAgain(id: string, from: readonly ("failed" | "completed")[]): Promise<ReplayResult> {
    const job = await this.find(id);
    if (!job) return { id, replayed: false, reason: "no such delivery" };
    const state = await job.getState();
    const ended = from.find((s) => s === state);
    if (!ended) return { id, replayed: false, reason: `it is ${state}, not ${from.join(" or ")}`, state };
    try {
      await job.retry(ended, { resetAttemptsMade: true, resetAttemptsStarted: true });
      return { id, replayed: true };
    } catch (err) {
      return { id, replayed: false, reason: (err as Error).message, state };
    }
  }

  /**
   * Replays every delivery failed at the time of the call. Ids are collected first, so a
   * delivery that fails again while this runs is not replayed a second time.
   */
  async replayAllFailed(): Promise<ReplayResult[]> {
    const ids = await this.failedIds();
    const results: ReplayResult[] = [];
    for (const id of ids) results.push(await this.replay(id));
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.close()));
  }

  /** Delivery ids are a hash of their event, in the partition of its job: it is found by looking in each. */
  private async find(id: string): Promise<WebhookJob | undefined> {
    for (const queue of this.queues) {
      const job = await queue.getJob(id);
      if (job) return job;
    }
    return undefined;
  }

  private async failedIds(): Promise<string[]> {
    const ids: string[] = [];
    for (const queue of this.queues) {
      for (let start = 0; ; start += this.pageSize) {
        const page = await queue.getFailed(start, start + this.pageSize - 1);
        for (const job of page) if (job?.id) ids.push(job.id);
        if (page.length < this.pageSize) break;
      }
    }
    return ids;
  }
}

/** When a delivery last changed state: the order of a listing. */
function lastMoved(job: WebhookJob): number {
  return job.finishedOn ?? job.processedOn ?? job.timestamp;
}

/**
 * What a listing reads of a delivery's data: each field on its own, so a delivery whose data
 * does not parse as a whole (a bad attempt record, a foreign job) still lists what it has.
 */
const ListedDelivery = z
  .object({
    messageId: z.string().catch(""),
    url: z.string().catch(""),
    payload: z
      .object({ type: z.string().catch(""), data: z.object({ id: z.string().catch("") }).catch({ id: "" }) })
      .catch({ type: "", data: { id: "" } }),
    attempts: DeliveryAttempt.array().catch([]),
  })
  .catch({ messageId: "", url: "", payload: { type: "", data: { id: "" } }, attempts: [] });

/**
 * Every attempt of a delivery, oldest first: those that failed are in its data (`attempts`), the
 * one that delivered it in its return value.
 */
export function historyOf(
  job: Pick<WebhookJob, "data" | "returnvalue">,
  failed = ListedDelivery.parse(job.data).attempts,
): DeliveryAttempt[] {
  const delivered = DeliveryAttempt.safeParse((job.returnvalue as { attempt?: unknown } | null | undefined)?.attempt);
  return delivered.success ? [...failed, delivered.data] : failed;
}

function summarize(job: WebhookJob, state: string): DeliverySummary {
  const data = ListedDelivery.parse(job.data);
  const attempts = historyOf(job, data.attempts);
  const last = attempts.at(-1);
  return {
    id: String(job.id),
    state,
    messageId: data.messageId,
    jobId: data.payload.data.id,
    event: data.payload.type,
    host: hostOf(data.url),
    attemptsMade: job.attemptsMade,
    history: attempts,
    failedReason: job.failedReason || undefined,
    lastStatus: last?.status,
    lastError: last?.error,
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid URL)";
  }
}
