import { createHash } from "node:crypto";
import { z } from "zod";
import { GenerationResult } from "../producers/generation-result.js";

/** Event types kiln sends. */
export const EventType = z.enum(["generation.completed", "generation.failed", "generation.started", "generation.progress"]);
export type EventType = z.infer<typeof EventType>;

/** The JSON body POSTed to a webhook: small, outputs by key and URL, never bytes. */
export const WebhookPayload = z.object({
  type: EventType,
  /** ISO-8601 instant the event happened (not the delivery attempt). */
  timestamp: z.string(),
  data: GenerationResult,
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

/** Job data of a delivery on the `webhooks` queue. The body is fixed at enqueue; only the timestamp header changes per attempt. */
export const WebhookDelivery = z.object({
  /** `webhook-id`: minted once per event, the same on every retry, so receivers can dedupe. */
  messageId: z.string(),
  url: z.string().url(),
  payload: WebhookPayload,
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/**
 * A deterministic message id for one event of one job: the same event always gets the same
 * `webhook-id`, however often the step that emits it re-runs.
 */
export function messageIdFor(jobId: string, type: EventType): string {
  return `msg_${createHash("sha256").update(`${jobId}\n${type}`).digest("hex").slice(0, 32)}`;
}

/** BullMQ job id of the delivery: adding the same event twice is a no-op while the job is kept. */
export function deliveryJobId(jobId: string, type: EventType): string {
  return `${type}.${createHash("sha256").update(jobId).digest("hex").slice(0, 40)}`;
}
