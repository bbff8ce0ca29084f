import { Queue, type JobType } from "bullmq";
import type { Redis } from "ioredis";
import { WEBHOOKS_QUEUE } from "../contract/queue-names.js";
import type { Logger } from "pino";
import { createLogger } from "../logger.js";
import { safe } from "../util/safe.js";
import { z } from "zod";
import { DeliveryAttempt, type WebhookDelivery } from "./webhook-message.js";
import type { DELIVER_JOB, DeliveryResult, WebhookJob, WebhookQueue } from "./webhook-queue.js";
import { bullmqTelemetry } from "../telemetry/tracing.js";

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

/** What replaying one delivery did. */
export type ReplayResult = { id: string; replayed: true } | { id: string; replayed: false; reason: string };

export interface DeadLetterOptions {
  /** A Redis connection (not closed by `close()`). */
  connection: Redis;
  /** Key prefix of every queue. */
  prefix: string;
  /** Jobs read from Redis per request while listing. @defaultValue 500 */
  pageSize?: number;
  /** Where queue errors are logged. @defaultValue a kiln logger at warn */
  log?: Logger;
}

/**
 * The failed set of the `webhooks` queue seen as a dead letter: list what failed and why, and
 * replay deliveries with the same `webhook-id` and body and a fresh attempt budget.
 */
export class DeadLetter {
  private readonly queue: WebhookQueue;
  private readonly pageSize: number;

  constructor(options: DeadLetterOptions) {
    this.queue = new Queue<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>(WEBHOOKS_QUEUE, {
      connection: options.connection,
      prefix: options.prefix,
      telemetry: bullmqTelemetry(),
    });
    // surfaced to callers through the rejected calls, and logged
    const log = options.log ?? createLogger({ level: "warn" });
    this.queue.on(
      "error",
      safe(log, "dead letter queue error listener", (err: Error) => log.warn({ err: err.message }, "webhooks queue error")),
    );
    this.pageSize = options.pageSize ?? 500;
  }

  /** Deliveries in `states`, newest first, at most `limit`. */
  async list(options: { states?: readonly DeliveryState[]; limit?: number } = {}): Promise<DeliverySummary[]> {
    const states = [...(options.states ?? ["failed"])];
    const limit = options.limit ?? 100;
    const jobs = await this.queue.getJobs(states, 0, limit - 1, false);
    return Promise.all(jobs.filter((j): j is WebhookJob => j !== undefined).map(async (job) => summarize(job, await job.getState())));
  }

  /** One delivery by job id, in whatever state, or undefined when unknown. */
  async get(id: string): Promise<DeliverySummary | undefined> {
    // state first, then the job: a job read before its state could be an attempt older than the state says
    const state = await this.queue.getJobState(id);
    const job = await this.queue.getJob(id);
    return job ? summarize(job, state) : undefined;
  }

  /**
   * Moves a failed delivery back to waiting with its attempt counters reset, so it gets the
   * whole schedule again. Its data is untouched: same `webhook-id`, same body, history kept.
   */
  async replay(id: string): Promise<ReplayResult> {
    const job = await this.queue.getJob(id);
    if (!job) return { id, replayed: false, reason: "no such delivery" };
    const state = await job.getState();
    if (state !== "failed") return { id, replayed: false, reason: `it is ${state}, not failed` };
    try {
      await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
      return { id, replayed: true };
    } catch (err) {
      return { id, replayed: false, reason: (err as Error).message };
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
    await this.queue.close();
  }

  private async failedIds(): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; ; start += this.pageSize) {
      const page = await this.queue.getFailed(start, start + this.pageSize - 1);
      for (const job of page) if (job?.id) ids.push(job.id);
      if (page.length < this.pageSize) return ids;
    }
  }
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

function summarize(job: WebhookJob, state: string): DeliverySummary {
  const data = ListedDelivery.parse(job.data);
  const attempts = data.attempts;
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
