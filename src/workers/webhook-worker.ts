import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { WEBHOOKS_QUEUE } from "../producers/queue-names.js";
import { safe } from "../util/safe.js";
import { webhookRetryDelayMs, DEFAULT_WEBHOOK_SCHEDULE_MS } from "../webhooks/retry-schedule.js";
import { WebhookDelivery } from "../webhooks/webhook-message.js";
import { WebhookSender } from "../webhooks/webhook-sender.js";
import { WebhookSigner } from "../webhooks/webhook-signer.js";

export interface WebhookWorkerOptions {
  connection: Redis;
  prefix: string;
  /** `whsec_…` secret that signs every delivery. */
  secret: string;
  dispatcher: Dispatcher;
  allowPrivateUrls: boolean;
  log: Logger;
  /** Delays between attempts, ms. @defaultValue Svix's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h */
  schedule?: readonly number[];
  /** Deliveries in flight at once. @defaultValue 20 */
  concurrency?: number;
}

/** Error carrying the receiver's Retry-After to the backoff strategy. */
class DeliveryError extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** Delivers webhooks from the `webhooks` queue, one signed POST per attempt. */
export class WebhookWorker {
  readonly worker: Worker;
  private readonly sender: WebhookSender;

  constructor(private readonly options: WebhookWorkerOptions) {
    const log = options.log.child({ queue: WEBHOOKS_QUEUE });
    this.sender = new WebhookSender({ signer: new WebhookSigner(options.secret), dispatcher: options.dispatcher, allowPrivate: options.allowPrivateUrls });
    const schedule = options.schedule ?? DEFAULT_WEBHOOK_SCHEDULE_MS;
    this.worker = new Worker(WEBHOOKS_QUEUE, (job) => this.deliver(job), {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency ?? 20,
      settings: {
        backoffStrategy: (attemptsMade, _type, err) => webhookRetryDelayMs(attemptsMade, { schedule, retryAfterMs: (err as DeliveryError | undefined)?.retryAfterMs }),
      },
    });
    this.worker.on("error", safe(log, "webhook worker error", (err) => log.error({ err }, "webhook worker error")));
    this.worker.on("failed", safe(log, "webhook failed listener", (job, err) => log.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, "webhook attempt failed")));
  }

  async close(): Promise<void> {
    await this.worker.close();
  }

  private async deliver(job: Job): Promise<{ status: number }> {
    const parsed = WebhookDelivery.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid delivery: ${parsed.error.message}`);
    const outcome = await this.sender.send(parsed.data);
    switch (outcome.result) {
      case "delivered":
        return { status: outcome.status };
      case "gone":
        throw new UnrecoverableError(`receiver answered 410 Gone: not retrying`);
      case "retry":
        throw new DeliveryError(outcome.error, outcome.retryAfterMs);
    }
  }
}
