import { createHash } from "node:crypto";
import { z } from "zod";
import { GenerationResult } from "./generation-result.js";
import { GenerationProgress } from "./generation-progress.js";
import { BatchSummary } from "./batch-summary.js";
import { WebhookSecret, WebhookSecrets } from "./webhook-secret.js";

/** Events that carry a finished job's result. Sent by default. */
export const ResultEventType = z.enum(["generation.completed", "generation.failed"]);
export type ResultEventType = z.infer<typeof ResultEventType>;

/** Events about a running job, sent only when the request lists them in `webhook.events`. */
export const ProgressEventType = z.enum(["generation.started", "generation.progress"]);
export type ProgressEventType = z.infer<typeof ProgressEventType>;

/** Event types kiln sends. `batch.completed` goes to a batch's webhook when all its jobs have ended. */
export const EventType = z.enum([...ResultEventType.options, ...ProgressEventType.options, "batch.completed"]);
export type EventType = z.infer<typeof EventType>;

/** ISO-8601 instant the event happened (not the delivery attempt, which has its own header). */
const Timestamp = z.string();

/**
 * The JSON body POSTed to a webhook, discriminated on `type`: results for the end of a job,
 * a small progress record while it runs. Outputs go by key and URL, never bytes.
 */
export const WebhookPayload = z.discriminatedUnion("type", [
  z.object({ type: z.literal("generation.completed"), timestamp: Timestamp, data: GenerationResult }),
  z.object({ type: z.literal("generation.failed"), timestamp: Timestamp, data: GenerationResult }),
  z.object({ type: z.literal("generation.started"), timestamp: Timestamp, data: GenerationProgress }),
  z.object({ type: z.literal("generation.progress"), timestamp: Timestamp, data: GenerationProgress }),
  z.object({ type: z.literal("batch.completed"), timestamp: Timestamp, data: BatchSummary }),
]);
export type WebhookPayload = z.infer<typeof WebhookPayload>;

/** One delivery attempt as the dead letter keeps it. */
export const DeliveryAttempt = z.object({
  /** ISO-8601 instant the attempt started. */
  at: z.string(),
  /** The receiver's HTTP status, when it answered at all. */
  status: z.number().int().optional(),
  /** Why the attempt failed (absent on success). */
  error: z.string().optional(),
  durationMs: z.number().int().min(0),
});
export type DeliveryAttempt = z.infer<typeof DeliveryAttempt>;

/**
 * Job data of a delivery on the `webhooks` queue. The body is fixed at enqueue; per attempt only
 * the timestamp header changes, and, with `KILN_OUTPUT_URLS=presigned`, the outputs' `href` and
 * `expiresAt`, minted at each attempt and never stored here.
 */
export const WebhookDelivery = z.object({
  /** `webhook-id`: minted once per event, the same on every retry and replay, so receivers can dedupe. */
  messageId: z.string().min(1),
  url: z.string().url(),
  payload: WebhookPayload,
  /**
   * The request's own signing secret, used instead of `KILN_WEBHOOK_SECRET`. Never logged, never in the body.
   * With `secrets`, the newest of them: a worker of an earlier version, which reads `secret` only, signs with it.
   */
  secret: WebhookSecret.optional(),
  /** The request's own secrets, newest first (`webhook.secrets`): one signature of each. Wins over `secret`. */
  secrets: WebhookSecrets.optional(),
  /** Every attempt so far, oldest first (the last `MAX_ATTEMPT_RECORDS`). */
  attempts: z.array(DeliveryAttempt).default([]),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/** Attempt records kept per delivery: enough for a full schedule plus a few replays, bounded. */
export const MAX_ATTEMPT_RECORDS = 50;

/**
 * A deterministic message id for one event of one job: the same event always gets the same
 * `webhook-id`, however often the step that emits it re-runs. `sequence` tells apart the many
 * progress events of one job.
 */
export function messageIdFor(subject: string, type: EventType, sequence?: number): string {
  const key = sequence === undefined ? `${subject}\n${type}` : `${subject}\n${type}\n${sequence}`;
  return `msg_${createHash("sha256").update(key).digest("hex").slice(0, 32)}`;
}

/**
 * What an event is about: one job of one queue, as enqueued at one moment (ms). The id alone is
 * not enough: BullMQ mints 1, 2, 3... in every queue, and an id is used again once its job is
 * removed; a re-run of the same job still gives the same subject, so the same event id. A
 * retried job's later runs (`run` 2, 3...) are subjects of their own: their events are new
 * ones, which a receiver deduplicating by webhook-id must not drop. The first run's subject
 * has no number, as before runs existed, so its ids do not change.
 */
export function eventSubject(queue: string, jobId: string, enqueuedAt: number, run?: number): string {
  const subject = `${queue}\n${jobId}\n${enqueuedAt}`;
  return run === undefined || run < 2 ? subject : `${subject}\n${run}`;
}

/** BullMQ job id of the delivery: adding the same event twice is a no-op while the job is kept. */
export function deliveryJobId(subject: string, type: EventType, sequence?: number): string {
  const base = `${type}.${createHash("sha256").update(subject).digest("hex").slice(0, 40)}`;
  return sequence === undefined ? base : `${base}.${sequence}`;
}
