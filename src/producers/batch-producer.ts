import { FlowProducer, type JobsOptions } from "bullmq";
import { tenantOf, tenantOfData } from "../contract/tenant.js";
import { IdConflictError } from "../contract/id-conflict-error.js";
import type { KilnQueues } from "../queue/kiln-queues.js";
import { PartitionedQueues } from "../queue/partitioned-queues.js";
import type { RedisConnection } from "../queue/redis.js";
import { checkBatchId, sealJobId } from "../batches/batch-ids.js";
import { BatchJobData } from "../contract/batch-summary.js";
import { refusingWhenFull } from "../contract/redis-full-error.js";
import { BatchSettings, type BatchEnqueued, type BatchOptions } from "./batch-options.js";
import { budgetOf, checkLine } from "./batch-lines.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { type GenerationRequest, describeIssues } from "../contract/generation-request.js";
import type { ManifestLine } from "../batches/manifest-reader.js";
import { OwnedLock } from "../queue/owned-lock.js";
import { generationJobOptions } from "../queue/job-options.js";
import type { Logger } from "pino";
import { createLogger } from "../logger.js";
import { safe } from "../util/safe.js";
import { BATCHES_QUEUE, GENERATE_JOB } from "../contract/queue-names.js";
import { bullmqTelemetry } from "../telemetry/tracing.js";
import { BudgetLedger } from "../billing/budget-ledger.js";
import { formatDecimal } from "../billing/decimal-amount.js";

const LOCK_MS = 60_000;

// the seal's delay only has to outlast any enqueue; promoting it is what releases the parent
const SEAL_DELAY_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * Enqueues a manifest as a BullMQ flow: a parent job on `batches` whose children are the
 * generation jobs, all in the partition of the batch id (a flow's keys must share a slot).
 * Lines are streamed and added in chunks, so a manifest of any size runs in constant memory
 * (but for the set of custom_ids, which detects duplicates). The parent also
 * waits for a delayed "seal" child that is released only after the last line, so a batch
 * whose first jobs finish fast cannot end before it has all its jobs.
 */
export class BatchProducer {
  private readonly flows: FlowProducer;
  private readonly partitions: PartitionedQueues;

  /**
   * @param prefix `KILN_PREFIX`
   * @param partitions `KILN_PARTITIONS` @defaultValue 1
   */
  constructor(
    private readonly connection: RedisConnection,
    prefix: string,
    log: Logger = createLogger({ level: "warn" }),
    partitions = 1,
  ) {
    this.partitions = new PartitionedQueues(connection, prefix, partitions, log);
    // every node of a flow names its partition's prefix
    this.flows = new FlowProducer({ connection, prefix, telemetry: bullmqTelemetry() });
    // the calls that fail reject too; the log keeps the connection's story
    this.flows.on(
      "error",
      safe(log, "flow producer error listener", (err: Error) => log.warn({ err: err.message }, "flow producer error")),
    );
  }

  /**
   * Enqueues the batch. A Redis at `maxmemory` refuses it with a `RedisFullError`; the jobs added
   * before that stay, and enqueueing the same batch again adds the rest.
   */
  async enqueue(lines: AsyncIterable<ManifestLine>, options: BatchOptions): Promise<BatchEnqueued> {
    return refusingWhenFull(`batch ${options.batchId}`, () => this.enqueueAll(lines, options));
  }

  private async enqueueAll(lines: AsyncIterable<ManifestLine>, options: BatchOptions): Promise<BatchEnqueued> {
    const batchId = checkBatchId(options.batchId);
    const settings = BatchSettings.safeParse({
      archivePrefix: options.archivePrefix,
      webhook: options.webhook,
      metadata: options.metadata,
      tenant: options.tenant,
      reuse: options.reuse,
    });
    if (!settings.success) throw new InvalidRequestError(describeIssues(settings.error));
    const queues = this.partitions.of(batchId);
    const existing = await queues.batches().getJob(batchId);
    // a batch id is one space for every tenant: another tenant's batch is neither read nor added to
    if (existing && tenantOfData(existing.data) !== tenantOf(options))
      throw new IdConflictError(`batch id ${batchId} is already used by another batch; choose another id`);
    if (existing && (await existing.isCompleted()))
      return { batchId, total: 0, invalid: 0, added: 0, alreadyCompleted: true, alreadySealed: true };
    // once sealed, the parent may already be running: a job added now would be missed by its results
    const sealed = BatchJobData.safeParse(existing?.data);
    if (sealed.success && sealed.data.sealed)
      return { batchId, total: sealed.data.total, invalid: sealed.data.invalid, added: 0, alreadyCompleted: false, alreadySealed: true };
    const budget = budgetOf(options);
    const release = await this.lock(queues, batchId);
    try {
      const data: BatchJobData = {
        batchId,
        sealed: false,
        total: 0,
        invalid: 0,
        archivePrefix: options.archivePrefix ?? "kiln",
        webhook: options.webhook,
        budget: budget && { amount: formatDecimal(budget.limit), currency: budget.prices.currency },
        metadata: options.metadata,
        tenant: options.tenant,
      };
      // before any child exists: a child that runs at once must find its batch's budget
      if (budget) await new BudgetLedger(this.connection, queues.prefix).open(batchId, budget.limit, budget.prices.currency);
      if (!existing) await this.createParent(queues.prefix, data);
      const counts = await this.addLines(lines, queues, batchId, { ...options, prices: budget?.prices }, release.refresh);
      await this.seal(queues, batchId, { ...data, sealed: true, total: counts.total, invalid: counts.invalid });
      return { batchId, ...counts, alreadyCompleted: false, alreadySealed: false };
    } finally {
      await release();
    }
  }

  /**
   * One producer at a time per batch: two enqueueing the same batch at once could seal it while
   * the other still adds jobs. The lock lapses a minute after its holder stops refreshing it.
   */
  private async lock(queues: KilnQueues, batchId: string): Promise<(() => Promise<void>) & { refresh: () => Promise<void> }> {
    const lock = await OwnedLock.acquire(this.connection, `${queues.prefix}:${BATCHES_QUEUE}:lock:${batchId}`, LOCK_MS);
    if (!lock) throw new Error(`batch ${batchId} is being enqueued by another producer right now`);
    // a refresh that finds the lock lost throws: another producer may be adding to this batch now
    return Object.assign(async () => void (await lock.release()), { refresh: () => lock.refresh() });
  }

  async close(): Promise<void> {
    await Promise.all([this.partitions.close(), this.flows.close()]);
  }

  private async createParent(prefix: string, data: BatchJobData): Promise<void> {
    await this.flows.add({
      name: "batch",
      queueName: BATCHES_QUEUE,
      prefix,
      data,
      // writing results.jsonl can meet an S3 outage: retry for a while rather than lose the batch
      opts: {
        jobId: data.batchId,
        removeOnComplete: { age: 30 * 24 * 3600 },
        attempts: 20,
        backoff: { type: "exponential", delay: 5_000 },
      },
      children: [
        {
          name: "seal",
          queueName: BATCHES_QUEUE,
          prefix,
          data: { batchId: data.batchId },
          opts: { jobId: sealJobId(data.batchId), delay: SEAL_DELAY_MS },
        },
      ],
    });
  }

  private async addLines(
    lines: AsyncIterable<ManifestLine>,
    queues: KilnQueues,
    batchId: string,
    options: BatchOptions,
    keepLock: () => Promise<void>,
  ): Promise<{ total: number; invalid: number; added: number }> {
    const seen = new Map<string, number>();
    const chunk: Array<{ queue: string; id: string; data: GenerationRequest }> = [];
    let invalid = 0;
    let added = 0;
    let lastLine = 0;
    const refuse = (lineNumber: number, message: string) => {
      invalid++;
      options.onInvalid?.(lineNumber, message);
    };
    for await (const line of lines) {
      lastLine = line.lineNumber;
      const request = "error" in line ? { error: line.error } : checkLine(line.value, batchId, options);
      if ("error" in request) {
        refuse(line.lineNumber, request.error);
        continue;
      }
      const first = seen.get(request.data.batch!.custom_id);
      if (first !== undefined) {
        refuse(line.lineNumber, `custom_id "${request.data.batch!.custom_id}" repeats line ${first}`);
        continue;
      }
      seen.set(request.data.batch!.custom_id, line.lineNumber);
      chunk.push(request);
      if (chunk.length >= (options.chunkSize ?? 500)) {
        added += await this.flush(chunk.splice(0), queues, batchId);
        await keepLock();
        options.onProgress?.({ lines: lastLine, accepted: seen.size, invalid });
      }
    }
    added += await this.flush(chunk, queues, batchId);
    options.onProgress?.({ lines: lastLine, accepted: seen.size, invalid });
    return { total: seen.size, invalid, added };
  }

  /**
   * Adds the jobs that do not exist yet; a re-run of the same manifest adds nothing twice. A
   * child the batch already counted (its job since removed by retention) is not added again.
   */
  private async flush(
    jobs: Array<{ queue: string; id: string; data: GenerationRequest }>,
    queues: KilnQueues,
    batchId: string,
  ): Promise<number> {
    if (jobs.length === 0) return 0;
    const parentKey = `${queues.prefix}:${BATCHES_QUEUE}:${batchId}`;
    // one pipeline, one slot: every key is under the batch's partition prefix
    const known = this.connection.pipeline();
    for (const job of jobs) {
      const key = `${queues.prefix}:${job.queue}:${job.id}`;
      known.exists(key).hexists(`${parentKey}:processed`, key).hexists(`${parentKey}:failed`, key);
    }
    const answers = (await known.exec()) ?? [];
    const fresh = jobs.filter((_, i) => [0, 1, 2].every((k) => answers[3 * i + k]?.[1] === 0));
    const byProvider = new Map<string, typeof fresh>();
    for (const job of fresh) byProvider.set(job.data.provider, (byProvider.get(job.data.provider) ?? []).concat(job));
    for (const [provider, group] of byProvider) {
      await queues
        .generation(provider)
        .addBulk(group.map((job) => ({ name: GENERATE_JOB, data: job.data, opts: this.childOptions(queues.prefix, job.id, batchId) })));
    }
    return fresh.length;
  }

  private childOptions(prefix: string, jobId: string, batchId: string): JobsOptions {
    return {
      jobId,
      parent: { id: batchId, queue: `${prefix}:${BATCHES_QUEUE}` },
      // a failed child must not block the batch: its failure is recorded and the parent goes on
      ignoreDependencyOnFailure: true,
      ...generationJobOptions(),
    };
  }

  /** Records the final counts, then releases the seal: from now on the batch ends when its jobs do. */
  private async seal(queues: KilnQueues, batchId: string, data: BatchJobData): Promise<void> {
    const parent = await queues.batches().getJob(batchId);
    if (!parent) throw new Error(`batch ${batchId} disappeared while it was being enqueued`);
    await parent.updateData(data);
    const seal = await queues.batches().getJob(sealJobId(batchId));
    if (seal && (await seal.isDelayed())) await seal.promote();
  }
}
