import type { Job, Queue } from "bullmq";
import type { WebhookDelivery } from "./webhook-message.js";

/** Job name of every delivery on the `webhooks` queue. */
export const DELIVER_JOB = "deliver";

/** What a delivered webhook's job completes with: the receiver's status. */
export interface DeliveryResult {
  status: number;
}

/** A delivery job: its data, what it completes with, its one job name. */
export type WebhookJob = Job<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>;

/** The `webhooks` queue. */
export type WebhookQueue = Queue<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>;
