import type { Job, Queue } from "bullmq";
import type { DeliveryAttempt, WebhookDelivery } from "../contract/webhook-message.js";

/** Job name of every delivery on the `webhooks` queue. */
export const DELIVER_JOB = "deliver";

/**
 * What a delivered webhook's job completes with: the receiver's status, and the attempt that
 * delivered it (kept here rather than appended to the data: a delivery that succeeds at once
 * rewrites nothing; the failed attempts before it are in the data's `attempts`).
 */
export interface DeliveryResult {
  status: number;
  attempt?: DeliveryAttempt;
}

/** A delivery job: its data, what it completes with, its one job name. */
export type WebhookJob = Job<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>;

/** The `webhooks` queue. */
export type WebhookQueue = Queue<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>;
