import { Queue, Worker, type Processor } from "bullmq";
import { tenantOfData } from "../contract/tenant.js";
import type { RedisConnection } from "../queue/redis.js";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { describeIssues } from "../contract/generation-request.js";
import { WEBHOOKS_QUEUE } from "../contract/queue-names.js";
import { assertNever } from "../util/assert-never.js";
import { safe } from "../util/safe.js";
import { checkSchedule, webhookRetryDelayMs, DEFAULT_WEBHOOK_SCHEDULE_MS } from "./retry-schedule.js";
import { redactUrl } from "../util/redact-url.js";
import { MAX_ATTEMPT_RECORDS, WebhookDelivery, type DeliveryAttempt, type WebhookPayload } from "../contract/webhook-message.js";
import { linkedOutputs, oncePerKey, type PresignOutput } from "../contract/output-link.js";
import { WebhookSender, type AttemptOutcome } from "./webhook-sender.js";
import type { DELIVER_JOB, DeliveryResult, WebhookJob } from "../queue/webhook-queue.js";
import { WebhookSigner } from "./webhook-signer.js";
import type { WebhookSigningKey } from "../contract/webhook-signing-key.js";
import { finalFailure, isUnrecoverableError } from "../queue/final-failure.js";
import { bullmqTelemetry } from "../telemetry/tracing.js";
import { KilnAttribute, inSpan } from "../telemetry/kiln-spans.js";
import { isRecord } from "../util/describe-value.js";
import type { Attributes } from "@opentelemetry/api";
import { WatchedWorker } from "../queue/watched-worker.js";
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS } from "../queue/worker-locks.js";
import { DEFAULT_FETCH_WATCHDOG_MS } from "../queue/fetch-watchdog.js";

export interface WebhookWorkerOptions {
  connection: RedisConnection;
  /** Key prefix of every queue. */
  prefix: string;
  /** `whsec_…` secrets, newest first, that sign every delivery whose request brought none of its own (at least one). */
  secrets: readonly string[];
  /** `KILN_TENANT_WEBHOOK_SECRETS`: a tenant's secrets sign its deliveries instead of `secrets` (a request's own still win). */
  tenantSecrets?: ReadonlyMap<string, readonly string[]>;
  /**
   * `KILN_WEBHOOK_SIGNING_KEYS`, newest first: every delivery, whichever secrets sign it, also
   * carries a `v1a` signature of each. @defaultValue none: no `v1a` signatures
   */
  signingKeys?: readonly WebhookSigningKey[];
  /** Outbound HTTP agent; refuses private addresses at connect time unless allowed. */
  dispatcher: Dispatcher;
  /** Lifts the URL guard (KILN_ALLOW_PRIVATE_URLS). */
  allowPrivateUrls: boolean;
  log: Logger;
  /** Delays between attempts, ms; at most 20, each 0 to 24 h. @defaultValue Svix's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h */
  schedule?: readonly number[];
  /** Per-attempt budget for connect, headers and body, ms (100 to 300 000). @defaultValue 15 000 */
  timeoutMs?: number;
  /** Deliveries in flight at once (1 to 1000). @defaultValue 20 */
  concurrency?: number;
  /** Uniform [0, 1) source for the schedule's jitter. @defaultValue Math.random */
  random?: () => number;
  /** `KILN_FETCH_WATCHDOG`: recreate the BullMQ worker when it fetches nothing this long while deliveries are due, ms; 0: off. @defaultValue 20000 */
  fetchWatchdogMs?: number;
  /**
   * BullMQ's lock on a delivery in progress, ms (`KILN_LOCK_DURATION`, as for generation jobs);
   * renewed every half of it while the request runs. A delivery whose worker died, or whose
   * completion was lost with a Redis restart, is sent again once it lapses. @defaultValue 10000
   */
  lockDurationMs?: number;
  /** How often the stalled check runs, ms (`KILN_STALLED_INTERVAL`). @defaultValue 5000 */
  stalledIntervalMs?: number;
  /**
   * `KILN_OUTPUT_URLS=presigned`: mints an `href` for every output of a result event at each
   * attempt, so a retry hours later still carries a live URL (`outputLinksOf`).
   * @defaultValue none: bodies carry the stored outputs only
   */
  presign?: PresignOutput;
}

/** The options with every default applied, checked once at construction. */
type Settings = Required<Pick<WebhookWorkerOptions, "schedule" | "timeoutMs" | "concurrency" | "random">>;

function settingsOf(options: WebhookWorkerOptions): Settings {
  const timeoutMs = options.timeoutMs ?? 15_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 300_000)
    throw new RangeError(`timeoutMs: must be an integer from 100 to 300000 ms, got ${timeoutMs}`);
  const concurrency = options.concurrency ?? 20;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)
    throw new RangeError(`concurrency: must be an integer from 1 to 1000, got ${concurrency}`);
  const schedule = checkSchedule(options.schedule ?? DEFAULT_WEBHOOK_SCHEDULE_MS, "schedule");
  return { schedule, timeoutMs, concurrency, random: options.random ?? Math.random };
}

/** Error carrying the receiver's Retry-After to the backoff strategy. */
class DeliveryError extends Error {
  override name = "DeliveryError";
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    // a receiver's 500 or a timeout is an outcome, not a bug: the reason says it all, kiln's stack adds nothing
    this.stack = undefined;
  }
}

/**
 * Delivers webhooks from the `webhooks` queue, one signed POST per attempt, retrying on the
 * schedule. Every attempt is recorded in the job's data before the job moves on, so a delivery
 * that ends in the failed set (the dead letter) carries its whole history.
 */
export class WebhookWorker {
  private readonly watched: WatchedWorker<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>;
  /** The queue the watchdog reads (the worker has its own connections). */
  private readonly queue: Queue;
  private readonly sender: WebhookSender;
  private readonly defaultSigner: WebhookSigner;
  private readonly tenantSigners: Map<string, WebhookSigner>;
  private readonly signingKeys: readonly WebhookSigningKey[];
  private readonly settings: Settings;
  private readonly log: Logger;
  private readonly presign?: PresignOutput;

  constructor(options: WebhookWorkerOptions) {
    this.settings = settingsOf(options);
    this.log = options.log.child({ queue: WEBHOOKS_QUEUE });
    this.presign = options.presign;
    this.signingKeys = options.signingKeys ?? [];
    this.defaultSigner = new WebhookSigner(options.secrets, this.signingKeys);
    this.tenantSigners = new Map(
      [...(options.tenantSecrets ?? [])].map(([tenant, secrets]) => [tenant, new WebhookSigner(secrets, this.signingKeys)]),
    );
    this.sender = new WebhookSender({
      dispatcher: options.dispatcher,
      allowPrivate: options.allowPrivateUrls,
      timeoutMs: this.settings.timeoutMs,
    });
    const { schedule, random } = this.settings;
    const make = (processor: Processor<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>) =>
      new Worker<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB>(WEBHOOKS_QUEUE, processor, {
        connection: options.connection,
        prefix: options.prefix,
        concurrency: this.settings.concurrency,
        // BullMQ's 30 s defaults would hold a lost delivery back 30 to 60 s; kiln's are 10 and 5 s
        lockDuration: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
        stalledInterval: options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
        telemetry: bullmqTelemetry(),
        settings: {
          backoffStrategy: (attemptsMade, _type, err) =>
            webhookRetryDelayMs(attemptsMade, {
              schedule,
              random,
              retryAfterMs: err instanceof DeliveryError ? err.retryAfterMs : undefined,
            }),
        },
      });
    this.queue = new Queue(WEBHOOKS_QUEUE, { connection: options.connection, prefix: options.prefix });
    this.queue.on("error", (err) => this.log.warn({ err }, "webhook queue error"));
    this.watched = new WatchedWorker(make, (job) => this.deliver(job), {
      queue: this.queue,
      redis: options.connection,
      stallAfterMs: options.fetchWatchdogMs ?? DEFAULT_FETCH_WATCHDOG_MS,
      concurrency: this.settings.concurrency,
      log: this.log,
    });
    this.worker.on(
      "error",
      safe(this.log, "webhook worker error", (err) => this.log.error({ err }, "webhook worker error")),
    );
    this.worker.on(
      "failed",
      safe(this.log, "webhook failed listener", (job, err) => this.onFailed(job, err)),
    );
  }

  /** The BullMQ worker delivering now (the fetch watchdog may have replaced an earlier one). */
  get worker(): Worker<WebhookDelivery, DeliveryResult, typeof DELIVER_JOB> {
    return this.watched.worker;
  }

  /** Calls `observer` each time the watchdog recreates the BullMQ worker (`kiln_worker_recoveries_total`). */
  onRecovery(observer: () => void): void {
    this.watched.onRecovery(observer);
  }

  async close(): Promise<void> {
    await this.watched.close();
    await this.queue.close();
  }

  private async deliver(job: WebhookJob): Promise<DeliveryResult> {
    const parsed = WebhookDelivery.safeParse(job.data);
    if (!parsed.success) throw finalFailure(`invalid delivery: ${describeIssues(parsed.error)}`);
    const delivery = parsed.data;
    const started = new Date();
    const signer = this.signerOf(delivery);
    // the POST's client span (undici) sits under this one, and its traceparent joins the receiver to the request's trace
    return inSpan("kiln.webhook.deliver", deliveryAttributes(job, delivery), async (span) => {
      const outcome = await this.attempt(job, delivery, signer, started);
      span.setAttribute(KilnAttribute.outcome, outcome.result);
      const attempt = attemptOf(outcome, started);
      this.log.debug(
        { jobId: job.id, messageId: delivery.messageId, event: delivery.payload.type, target: redactUrl(delivery.url), ...attempt },
        "webhook attempt",
      );
      // recorded before settling: once the job moves to failed, this history is all the dead letter has;
      // a delivered attempt goes in the return value instead, which BullMQ writes as it completes the job
      if (outcome.result !== "delivered") await this.record(job, delivery, attempt);
      return this.settle(job, outcome, attempt);
    });
  }

  /**
   * The request's own secrets, else its tenant's, else the global ones; chosen at each attempt,
   * so a change of configuration applies to retries and replays too.
   */
  private signerOf(delivery: WebhookDelivery): WebhookSigner {
    // `secrets` wins: with it, `secret` is only its newest, for workers of an earlier version
    const own = delivery.secrets ?? (delivery.secret === undefined ? undefined : [delivery.secret]);
    if (own) return new WebhookSigner(own, this.signingKeys);
    return this.tenantSigners.get(tenantOfData(delivery.payload.data)) ?? this.defaultSigner;
  }

  /**
   * One POST of the stored payload, not the parsed one: its bytes stay the same on every attempt
   * and replay, but for output links, which are minted per attempt (the body is signed per
   * attempt anyway; `webhook-id` stays). A link that cannot be minted fails the attempt, retried.
   */
  private async attempt(job: WebhookJob, delivery: WebhookDelivery, signer: WebhookSigner, at: Date): Promise<AttemptOutcome> {
    let body: string;
    try {
      body = JSON.stringify(await this.linked(job.data.payload));
    } catch (err) {
      return { result: "retry", error: `presigning output links: ${(err as Error).message}` };
    }
    return this.sender.send({ messageId: delivery.messageId, url: delivery.url, body }, signer, at);
  }

  /** The payload with fresh output links, when presigning is on and it is a result event. */
  private async linked(payload: WebhookPayload): Promise<WebhookPayload> {
    if (!this.presign || (payload.type !== "generation.completed" && payload.type !== "generation.failed")) return payload;
    if (payload.data.outputs.length === 0) return payload;
    return { ...payload, data: { ...payload.data, outputs: await linkedOutputs(payload.data.outputs, oncePerKey(this.presign)) } };
  }

  /** Appends the attempt to the job's history; updateData replaces all data, so the rest is written back as stored. */
  private async record(job: WebhookJob, delivery: WebhookDelivery, attempt: DeliveryAttempt): Promise<void> {
    const attempts = [...delivery.attempts, attempt].slice(-MAX_ATTEMPT_RECORDS);
    await job.updateData({ ...job.data, attempts });
  }

  /** The one place where an attempt's outcome becomes BullMQ control flow. */
  private settle(job: WebhookJob, outcome: AttemptOutcome, attempt: DeliveryAttempt): DeliveryResult {
    switch (outcome.result) {
      case "delivered":
        return { status: outcome.status, attempt };
      case "gone":
        throw finalFailure("receiver answered 410 Gone: not retrying");
      case "refused":
        throw finalFailure(`refused target: ${outcome.error}`);
      case "retry":
        // gives up here rather than through the backoff's -1, so the failed reason says why
        if (this.isLastAttempt(job)) throw finalFailure(`gave up after ${job.attemptsMade + 1} attempts: ${outcome.error}`);
        throw new DeliveryError(outcome.error, outcome.retryAfterMs);
      default:
        return assertNever(outcome, "attempt outcome");
    }
  }

  /** attemptsMade counts the attempts finished before this one. */
  private isLastAttempt(job: WebhookJob): boolean {
    const made = job.attemptsMade + 1;
    return made > this.settings.schedule.length || made >= (job.opts.attempts ?? 1);
  }

  private onFailed(job: WebhookJob | undefined, err: Error): void {
    const final = isUnrecoverableError(err);
    const fields = { jobId: job?.id, attempts: job?.attemptsMade, reason: err.message };
    if (final) this.log.warn(fields, "webhook delivery failed for good: kept in the failed set for replay");
    else this.log.info(fields, "webhook attempt failed; will retry");
  }
}

/** A delivery's span attributes: its event, its attempt, and the generation it tells of (when it is one). */
function deliveryAttributes(job: WebhookJob, delivery: WebhookDelivery): Attributes {
  const attributes: Attributes = {
    [KilnAttribute.event]: delivery.payload.type,
    [KilnAttribute.deliveryId]: String(job.id),
    [KilnAttribute.attempt]: job.attemptsMade + 1,
  };
  const data: Record<string, unknown> = isRecord(delivery.payload.data) ? delivery.payload.data : {};
  const about = { [KilnAttribute.jobId]: data.id, [KilnAttribute.provider]: data.provider, [KilnAttribute.model]: data.model };
  for (const [key, value] of Object.entries(about)) if (typeof value === "string") attributes[key] = value;
  return attributes;
}

function attemptOf(outcome: AttemptOutcome, started: Date): DeliveryAttempt {
  const attempt: DeliveryAttempt = { at: started.toISOString(), durationMs: Math.max(0, Date.now() - started.getTime()) };
  if (outcome.result !== "refused" && outcome.status !== undefined) attempt.status = outcome.status;
  if (outcome.result === "refused" || outcome.result === "retry") attempt.error = outcome.error;
  if (outcome.result === "gone") attempt.error = "410 Gone";
  return attempt;
}
