import type { JobsOptions } from "bullmq";
import type { BatchSummary } from "../contract/batch-summary.js";
import type { GenerationRequest } from "../contract/generation-request.js";
import type { GenerationResult } from "../contract/generation-result.js";
import type { GenerationProgress } from "../contract/generation-progress.js";
import { MAX_WEBHOOK_RETRIES } from "./retry-schedule.js";
import { DELIVER_JOB, type WebhookQueue } from "../queue/webhook-queue.js";
import {
  deliveryJobId,
  messageIdFor,
  WebhookPayload,
  type EventType,
  type ProgressEventType,
  type ResultEventType,
  type WebhookDelivery,
} from "../contract/webhook-message.js";

/** Sent when the request lists no events. */
const DEFAULT_EVENTS: readonly EventType[] = ["generation.completed", "generation.failed"];
const HOUR_S = 3600;
const WEEK_S = 7 * 24 * HOUR_S;

/** Least time between two `generation.progress` deliveries of one job, ms. */
const PROGRESS_MIN_INTERVAL_MS = 500;

/**
 * Throttle for `generation.progress`: due when none was sent yet or `minIntervalMs` has passed
 * since the last one. A `now` before `lastSentAt` (another host's clock) counts as due rather
 * than silencing the job until the clocks agree.
 */
export function progressDue(lastSentAt: number | undefined, now: number, minIntervalMs = PROGRESS_MIN_INTERVAL_MS): boolean {
  if (lastSentAt === undefined || now < lastSentAt) return true;
  return now - lastSentAt >= minIntervalMs;
}

/**
 * Enqueues webhook deliveries. The delivery's job id and the event id are derived from the
 * event's subject (`eventSubject`: queue, job id, enqueue time) and its type, so enqueueing the
 * same event again (a re-run of the notify step) adds nothing, and no two jobs share an id.
 */
export class WebhookNotifier {
  /**
   * @param attempts BullMQ attempts per delivery: a ceiling only, the webhook worker's schedule
   *   decides when to give up. @defaultValue MAX_WEBHOOK_RETRIES + 1
   */
  constructor(
    private readonly queue: WebhookQueue,
    private readonly attempts = MAX_WEBHOOK_RETRIES + 1,
  ) {}

  /** Sends a finished job's result, when the request has a webhook subscribed to `type`. */
  async notify(
    subject: string,
    webhook: GenerationRequest["webhook"],
    type: ResultEventType,
    result: GenerationResult,
    at: number,
  ): Promise<boolean> {
    if (!subscribed(webhook, type)) return false;
    const payload = WebhookPayload.parse({ type, timestamp: new Date(at).toISOString(), data: result });
    // kept a week after success so a re-run within that time still finds it and adds nothing;
    // failed deliveries stay: they are the dead letter, replayable
    await this.enqueue(webhook, messageIdFor(subject, type), payload, {
      jobId: deliveryJobId(subject, type),
      removeOnComplete: { age: WEEK_S },
      removeOnFail: false,
    });
    return true;
  }

  /**
   * Sends `generation.started` (once per job: a fixed id) or `generation.progress`, only when the
   * request lists that event. Each progress event gets its own id from `sequence` (default: `at`),
   * so a caller that repeats the same call adds nothing. Throttle with `progressDue`.
   */
  async notifyProgress(
    subject: string,
    webhook: GenerationRequest["webhook"],
    event: ProgressEventType,
    data: GenerationProgress,
    at: number,
    sequence = at,
  ): Promise<boolean> {
    if (!webhook?.events?.includes(event)) return false;
    const payload = WebhookPayload.parse({ type: event, timestamp: new Date(at).toISOString(), data });
    if (event === "generation.started") {
      await this.enqueue(webhook, messageIdFor(subject, event), payload, {
        jobId: deliveryJobId(subject, event),
        removeOnComplete: { age: WEEK_S },
        removeOnFail: false,
      });
      return true;
    }
    // progress can be frequent and is stale within minutes: kept briefly, failures for a week
    await this.enqueue(webhook, messageIdFor(subject, event, sequence), payload, {
      jobId: deliveryJobId(subject, event, sequence),
      removeOnComplete: { age: HOUR_S },
      removeOnFail: { age: WEEK_S },
    });
    return true;
  }

  /** Sends `batch.completed` to the batch's webhook, once per batch (a fixed id). */
  async notifyBatch(subject: string, webhook: { url: string } | undefined, summary: BatchSummary, at: number): Promise<boolean> {
    if (!webhook) return false;
    const payload = WebhookPayload.parse({ type: "batch.completed", timestamp: new Date(at).toISOString(), data: summary });
    await this.enqueue(webhook, messageIdFor(subject, "batch.completed"), payload, {
      jobId: deliveryJobId(subject, "batch.completed"),
      removeOnComplete: { age: WEEK_S },
      removeOnFail: false,
    });
    return true;
  }

  private async enqueue(
    webhook: { url: string; secret?: string; secrets?: string[] },
    messageId: string,
    payload: WebhookPayload,
    options: JobsOptions,
  ): Promise<void> {
    const delivery: WebhookDelivery = { messageId, url: webhook.url, payload, attempts: [] };
    if (webhook.secrets) {
      delivery.secrets = webhook.secrets;
      // what a worker of an earlier version reads: it signs with the newest alone, not the global secret
      delivery.secret = webhook.secrets[0];
    } else if (webhook.secret) delivery.secret = webhook.secret;
    await this.queue.add(DELIVER_JOB, delivery, { ...options, attempts: this.attempts, backoff: { type: "webhook" } });
  }
}

function subscribed(webhook: GenerationRequest["webhook"], type: EventType): webhook is NonNullable<GenerationRequest["webhook"]> {
  return webhook !== undefined && (webhook.events ?? DEFAULT_EVENTS).includes(type);
}
