import type { Queue } from "bullmq";
import type { GenerationRequest } from "../producers/generation-request.js";
import type { GenerationResult } from "../producers/generation-result.js";
import { deliveryJobId, messageIdFor, type EventType, type WebhookDelivery } from "../webhooks/webhook-message.js";
import { DEFAULT_WEBHOOK_SCHEDULE_MS } from "../webhooks/retry-schedule.js";

const DEFAULT_EVENTS: readonly EventType[] = ["generation.completed", "generation.failed"];
const WEEK_S = 7 * 24 * 3600;

/**
 * Enqueues webhook deliveries. The delivery's job id is derived from the generation job and
 * the event, so enqueueing the same event again (a re-run of the notify step) adds nothing.
 */
export class WebhookNotifier {
  constructor(private readonly queue: Queue, private readonly attempts = DEFAULT_WEBHOOK_SCHEDULE_MS.length + 1) {}

  async notify(webhook: GenerationRequest["webhook"], type: EventType, result: GenerationResult, at: number): Promise<boolean> {
    if (!webhook || !(webhook.events ?? DEFAULT_EVENTS).includes(type)) return false;
    const delivery: WebhookDelivery = {
      messageId: messageIdFor(result.id, type),
      url: webhook.url,
      payload: { type, timestamp: new Date(at).toISOString(), data: result },
    };
    await this.queue.add("deliver", delivery, {
      jobId: deliveryJobId(result.id, type),
      attempts: this.attempts,
      backoff: { type: "webhook" },
      // kept a week after success so a re-run within that time still finds it and adds nothing
      removeOnComplete: { age: WEEK_S },
      // failed deliveries stay: they are the dead letter, replayable
      removeOnFail: false,
    });
    return true;
  }
}
