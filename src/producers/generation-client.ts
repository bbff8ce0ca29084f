import { randomUUID } from "node:crypto";
import type { JobsOptions } from "bullmq";
import type { KilnQueues } from "../queue/kiln-queues.js";
import { PartitionedQueues } from "../queue/partitioned-queues.js";
import { PROVIDERS } from "../providers/model-registry.js";
import { connectRedis, type RedisConnection, type RedisTarget } from "../queue/redis.js";
import type { GenerationRequest } from "../contract/generation-request.js";
import { refusingWhenFull } from "../contract/redis-full-error.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { sameRequestUnder } from "./same-request.js";
import { validateRequest } from "./validate-request.js";
import { JOB_ID_RULE, JobId } from "../contract/job-id.js";
import { DEFAULT_MAX_JOB_BYTES } from "../contract/job-size.js";
import { generationJobOptions } from "../queue/job-options.js";
import { describeJob, type GenerationStatus } from "./generation-status.js";
import { listBatches, listGenerations, type BatchListQuery, type GenerationListQuery } from "./generation-listing.js";
import type { ListPage } from "./list-cursor.js";
import { CancelRequests } from "../cancel/cancel-requests.js";
import { DEFAULT_PREFIX, GENERATE_JOB, providerOfQueue } from "../contract/queue-names.js";
import { BatchProducer } from "./batch-producer.js";
import type { BatchEnqueued, BatchOptions } from "./batch-options.js";
import { readBatchStatus, type BatchStatus } from "../batches/batch-status.js";
import type { Logger } from "pino";
import { createLogger } from "../logger.js";
import type { ManifestLine } from "../batches/manifest-reader.js";
import { KilnAttribute, inSpan } from "../telemetry/kiln-spans.js";
import { BudgetLedger } from "../billing/budget-ledger.js";

export type { GenerationStatus } from "./generation-status.js";
import type { PriceTable } from "../billing/price-table.js";
import { retryFailedJob } from "./job-retry.js";
import { deliveryJobId, eventSubject, type EventType } from "../contract/webhook-message.js";
import { runOf } from "../state/job-state.js";
import { readState } from "../queue/kiln-job.js";

export interface GenerationClientOptions {
  /** @defaultValue "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** Where Redis is (a URL, or a Redis Cluster's seed nodes: `redisTargetOf(env)`), instead of `redisUrl`. */
  target?: RedisTarget;
  /** An existing connection instead of `target` or `redisUrl` (not closed by `close()`). */
  connection?: RedisConnection;
  /** `KILN_PREFIX`. @defaultValue "{kiln}" */
  prefix?: string;
  /** `KILN_PARTITIONS`: a job goes to partition `crc32(id) mod partitions` (src/partitions.ts). @defaultValue 1 */
  partitions?: number;
  /** Where connection errors are logged (calls that fail also reject). @defaultValue a kiln logger at warn */
  log?: Logger;
  /** The operator's price table (KILN_PRICES), used by `enqueueBatch` when it is given a `budget`. @defaultValue none */
  prices?: PriceTable;
  /** `KILN_MAX_JOB_BYTES`: a request bigger than this as JSON is refused before it reaches Redis. @defaultValue 1048576 (1 MiB) */
  maxJobBytes?: number;
}

/**
 * What `retry` did: the job runs again (`run` is the new run's number), or why it does not:
 * `not_failed` (it is still running or completed: `state` says which), `in_batch` (a batch's
 * jobs are not retried one by one: the batch's counts and results file were written from the
 * run that failed), `retrying` (another retry of it is under way).
 */
export type RetryOutcome =
  | { retried: true; id: string; provider: string; run: number }
  | { retried: false; id: string; provider: string; state: string; reason: "not_failed" | "in_batch" | "retrying"; message: string };

/** Enqueues generation requests (TypeScript producers) and reads their state. */
export class GenerationClient {
  private readonly queues: PartitionedQueues;
  private readonly connection: RedisConnection;
  private readonly ownsConnection: boolean;
  private readonly log: Logger;
  readonly prefix: string;
  private readonly prices?: PriceTable;
  /** `KILN_MAX_JOB_BYTES`, as given to the constructor. */
  readonly maxJobBytes: number;

  constructor(options: GenerationClientOptions = {}) {
    this.prices = options.prices;
    this.maxJobBytes = options.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES;
    this.connection =
      options.connection ?? connectRedis(options.target ?? { url: options.redisUrl ?? "redis://127.0.0.1:6379" }, "producer");
    this.ownsConnection = !options.connection;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.log = options.log ?? createLogger({ level: "warn" });
    this.queues = new PartitionedQueues(this.connection, this.prefix, options.partitions ?? 1, this.log);
  }

  /**
   * Validates and enqueues; resolves with the job id. `id` is the idempotency key: enqueueing
   * the same id again returns the existing job and adds nothing.
   */
  async enqueue(request: GenerationRequest, options: { id?: string; jobOptions?: JobsOptions } = {}): Promise<string> {
    return this.add(this.checked(request, options.id), options.id, options.jobOptions);
  }

  /**
   * `enqueue`, idempotent under `options.id`: the same request again finds the existing job
   * (`created: false`); a different request under a used id is an `IdConflictError`. Two
   * producers racing past the first check with different requests: the loser hears of it from
   * the second.
   */
  async enqueueOnce(
    request: GenerationRequest,
    options: { id?: string } = {},
  ): Promise<{ created: boolean; id: string; provider: string }> {
    const { id } = options;
    const checked = this.checked(request, id);
    if (id !== undefined && (await sameRequestUnder(id, checked, this.queues))) return { created: false, id, provider: checked.provider };
    const jobId = await this.add(checked, id);
    if (id !== undefined) await sameRequestUnder(id, checked, this.queues);
    return { created: true, id: jobId, provider: checked.provider };
  }

  /** The request, validated, and the id checked: before anything reaches Redis. */
  private checked(request: GenerationRequest, id: string | undefined): GenerationRequest {
    const checked = validateRequest(request, { maxJobBytes: this.maxJobBytes });
    if (id !== undefined && !JobId.safeParse(id).success) throw new InvalidRequestError(`id: must be ${JOB_ID_RULE}`);
    return checked;
  }

  /** Adds a checked request as a job; resolves with its id. */
  private add(checked: GenerationRequest, id: string | undefined, jobOptions?: JobsOptions): Promise<string> {
    // BullMQ's own ids count per queue and so repeat across providers: mint a unique one
    const jobId = id ?? randomUUID();
    const attributes = { [KilnAttribute.provider]: checked.provider, [KilnAttribute.model]: checked.model, [KilnAttribute.jobId]: jobId };
    // the trace of the request starts here (or joins the caller's): BullMQ's add span under it carries it into the job
    return inSpan("kiln.enqueue", attributes, () =>
      // a full Redis refuses the add whole (one script): nothing of the request is stored
      refusingWhenFull(`the request ${jobId}`, async () => {
        const job = await this.queues
          .of(jobId)
          .generation(checked.provider)
          .add(GENERATE_JOB, checked, { ...generationJobOptions(), ...jobOptions, jobId });
        return String(job.id);
      }),
    );
  }

  /**
   * The job's state, progress and result, looked up in `provider`'s queue or, without it, in
   * every provider queue of the job's partition. Undefined if unknown. Ids minted by BullMQ itself
   * (raw producers that set none) count per queue, so the same id can exist in two queues: that
   * is an error here.
   */
  async get(id: string, provider?: string): Promise<GenerationStatus | undefined> {
    return (await this.locate(id, provider))?.status;
  }

  /** Resolves with the final status once the job completes or fails, polling every `intervalMs`. */
  async waitFor(id: string, options: { timeoutMs?: number; intervalMs?: number; provider?: string } = {}): Promise<GenerationStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    for (;;) {
      const status = await this.get(id, options.provider);
      if (status && (status.state === "completed" || status.state === "failed")) return status;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${status?.state ?? "unknown"} after ${options.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
    }
  }

  /**
   * Cancels a job that has not ended: it ends as failed with code `cancelled`, gives back its
   * in-flight slot and sends `generation.failed`. A waiting or delayed job is handed to a worker
   * now; an active one stops at its next step. Resolves with whether a cancel was recorded.
   */
  async cancel(
    id: string,
    options: { provider?: string; reason?: string } = {},
  ): Promise<{ id: string; state: string; cancelled: boolean }> {
    const found = await this.locate(id, options.provider);
    if (!found) throw new InvalidRequestError(`no job ${id}`);
    const { status, queues } = found;
    if (status.state === "completed" || status.state === "failed") return { id, state: status.state, cancelled: false };
    await new CancelRequests(this.connection, queues.prefix).request(status.queue, id, options.reason ?? "cancelled by request");
    // a delayed job would only notice at its next poll: move it to waiting so a worker ends it now
    if (status.state === "delayed")
      await queues
        .generation(providerOfQueue(status.queue) ?? "")
        .getJob(id)
        .then((job) => job?.promote())
        .catch(() => undefined);
    return { id, state: status.state, cancelled: true };
  }

  /**
   * Runs a failed job again under the same id, as a new run of the same request: kiln's state
   * starts over (the run that failed is forgotten but for the run count), a cancel request for
   * it is cleared, and its webhooks carry new webhook-ids. Only a failed job, not a batch's,
   * and of two retries at once only one. Undefined when there is no such job.
   */
  async retry(id: string, options: { provider?: string } = {}): Promise<RetryOutcome | undefined> {
    const found = await this.locate(id, options.provider);
    if (!found) return undefined;
    const { status, queues } = found;
    const provider = providerOfQueue(status.queue) ?? "";
    const refused = (reason: "not_failed" | "in_batch" | "retrying", message: string, state = status.state): RetryOutcome => ({
      retried: false,
      id,
      provider,
      state,
      reason,
      message,
    });
    if (status.state !== "failed") return refused("not_failed", `${id} is ${status.state}; only a failed job can be retried`);
    const queue = queues.generation(provider);
    const job = await queue.getJob(id);
    const batch = job?.data.batch?.id;
    if (job?.parentKey || batch !== undefined)
      return refused(
        "in_batch",
        `${id} belongs to batch ${batch ?? job?.parentKey}; a batch's jobs cannot be retried one by one (enqueue its failed lines as a new batch)`,
      );
    const outcome = await retryFailedJob(this.connection, queue, queues.prefix, id);
    if ("run" in outcome) return { retried: true, id, provider, run: outcome.run };
    if (outcome.refused === "retrying") return refused("retrying", `${id} is being retried already`);
    const bullState = await queue.getJobState(id);
    const now = bullState === "prioritized" ? "waiting" : bullState;
    return refused("not_failed", `${id} is ${now}; only a failed job can be retried`, now);
  }

  /**
   * The ids of the webhook deliveries a job's events would have, latest run first: for each run
   * (its current one down to the first), that of `generation.started`, `.completed` and
   * `.failed` (progress events are not listed: each is outdated by the next). Whether each
   * exists is the webhooks queue's to say. Undefined when there is no such job.
   */
  async deliveryIdsOf(id: string, provider?: string): Promise<{ run: number; event: EventType; deliveryId: string }[] | undefined> {
    const found = await this.locate(id, provider);
    if (!found) return undefined;
    const job = await found.queues.generation(providerOfQueue(found.status.queue) ?? "").getJob(id);
    if (!job) return undefined;
    const events: EventType[] = ["generation.completed", "generation.failed", "generation.started"];
    const ids = [];
    for (let run = runOf(readState(job)) ?? 1; run >= 1; run--) {
      const subject = eventSubject(found.status.queue, id, job.timestamp, run);
      ids.push(...events.map((event) => ({ run, event, deliveryId: deliveryJobId(subject, event) })));
    }
    return ids;
  }

  /**
   * Enqueues many requests as one batch (a BullMQ flow), each with its `custom_id`. Re-running
   * with the same batch id adds nothing twice. When all jobs end, results.jsonl is written to
   * the archive store and `batch.completed` is sent to `options.webhook`.
   */
  async enqueueBatch(requests: Iterable<unknown> | AsyncIterable<unknown>, options: BatchOptions): Promise<BatchEnqueued> {
    const producer = new BatchProducer(this.connection, this.prefix, this.log, this.queues.count);
    try {
      return await producer.enqueue(numbered(requests), { prices: this.prices, maxJobBytes: this.maxJobBytes, ...options });
    } finally {
      await producer.close();
    }
  }

  /** A batch's state and counts; undefined when there is no such batch. */
  async getBatch(id: string): Promise<BatchStatus | undefined> {
    const queues = this.queues.of(id);
    return readBatchStatus(queues.batches(), id, new BudgetLedger(this.connection, queues.prefix));
  }

  /**
   * Jobs of every provider queue in every partition, newest enqueue first, filtered by `query`;
   * `nextCursor` continues the listing where the page ended. Bad filters are an
   * InvalidRequestError naming the field. See `listGenerations` for what a page costs and
   * docs/http-api.md for what a listing guarantees while jobs move.
   */
  async list(query: GenerationListQuery = {}): Promise<ListPage<GenerationStatus>> {
    return listGenerations(this.connection, this.queues, query);
  }

  /** Batches, newest first, each as `getBatch` reads it; paged like `list`. */
  async listBatches(query: BatchListQuery = {}): Promise<ListPage<BatchStatus>> {
    return listBatches(this.connection, this.queues, query);
  }

  async close(): Promise<void> {
    await this.queues.close();
    if (this.ownsConnection) await this.connection.quit().catch(() => undefined);
  }

  /**
   * The job and the partition it is in: the partition of its id or, for a batch's child, that of
   * its batch (see `PartitionedQueues.candidatesFor`).
   */
  private async locate(id: string, provider?: string): Promise<{ status: GenerationStatus; queues: KilnQueues } | undefined> {
    for (const queues of this.queues.candidatesFor(id)) {
      const found: GenerationStatus[] = [];
      for (const name of provider ? [provider] : PROVIDERS) {
        const queue = queues.generation(name);
        // state first: once it reads completed or failed, the job read after it carries the result
        const state = await queue.getJobState(id);
        if (state === "unknown") continue;
        const job = await queue.getJob(id);
        if (job) found.push(describeJob(job, queue.name, state));
      }
      if (found.length > 1)
        throw new InvalidRequestError(`id ${id} exists in ${found.map((f) => f.queue).join(" and ")}: name the provider`);
      if (found[0]) return { status: found[0], queues };
    }
    return undefined;
  }
}

/** Requests as manifest lines, numbered from 1 in the order given. */
async function* numbered(requests: Iterable<unknown> | AsyncIterable<unknown>): AsyncGenerator<ManifestLine> {
  let lineNumber = 0;
  for await (const value of requests) yield { lineNumber: ++lineNumber, value };
}
