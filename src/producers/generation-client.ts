import { Queue, type Job, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import { findModel, modelIds, PROVIDERS } from "../providers/model-registry.js";
import { createRedis } from "../redis.js";
import { GenerationRequest, describeIssues } from "./generation-request.js";
import { GenerationResult } from "./generation-result.js";
import { DEFAULT_PREFIX, GENERATE_JOB, generateQueueName } from "./queue-names.js";

export interface GenerationClientOptions {
  /** @defaultValue "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** An existing connection instead of `redisUrl` (not closed by `close()`). */
  connection?: Redis;
  /** @defaultValue "{kiln}" */
  prefix?: string;
}

/** A request refused before it reached Redis; `message` names each bad field. */
export class InvalidRequestError extends Error {
  override name = "InvalidRequestError";
}

/** Where a job stands, as `get` reports it. */
export interface GenerationStatus {
  id: string;
  queue: string;
  state: string;
  /** `{ step, providerStatus, progress }` while it runs. */
  progress: unknown;
  result?: GenerationResult;
  failedReason?: string;
}

/** BullMQ refuses ids containing ':' and ids that look like integers (it mints those itself). */
const JOB_ID = /^(?!\d+$)[^:]{1,256}$/;

/** Enqueues generation requests (TypeScript producers) and reads their state. */
export class GenerationClient {
  private readonly queues = new Map<string, Queue>();
  private readonly connection: Redis;
  private readonly ownsConnection: boolean;
  readonly prefix: string;

  constructor(options: GenerationClientOptions = {}) {
    this.connection = options.connection ?? createRedis(options.redisUrl ?? "redis://127.0.0.1:6379", "producer");
    this.ownsConnection = !options.connection;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  /**
   * Validates and enqueues; resolves with the job id. `id` is the idempotency key: enqueueing
   * the same id again returns the existing job and adds nothing.
   */
  async enqueue(request: GenerationRequest, options: { id?: string; jobOptions?: JobsOptions } = {}): Promise<string> {
    const checked = validateRequest(request);
    if (options.id !== undefined && !JOB_ID.test(options.id)) throw new InvalidRequestError(`id: must be 1-256 characters, no ':', not only digits`);
    const job = await this.queue(checked.provider).add(GENERATE_JOB, checked, {
      attempts: 3,
      backoff: { type: "exponential", delay: 10_000 },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
      ...options.jobOptions,
      jobId: options.id,
    });
    return String(job.id);
  }

  /** The job's state, progress and result, looked up in every provider queue. Undefined if unknown. */
  async get(id: string): Promise<GenerationStatus | undefined> {
    for (const provider of PROVIDERS) {
      const queue = this.queue(provider);
      // state first: once it reads completed or failed, the job read after it carries the result
      const state = await queue.getJobState(id);
      if (state === "unknown") continue;
      const job = await queue.getJob(id);
      if (job) return describe(job, queue.name, state);
    }
    return undefined;
  }

  /** Resolves with the final status once the job completes or fails, polling every `intervalMs`. */
  async waitFor(id: string, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<GenerationStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    for (;;) {
      const status = await this.get(id);
      if (status && (status.state === "completed" || status.state === "failed")) return status;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${status?.state ?? "unknown"} after ${options.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    if (this.ownsConnection) await this.connection.quit().catch(() => undefined);
  }

  private queue(provider: string): Queue {
    let queue = this.queues.get(provider);
    if (!queue) {
      queue = new Queue(generateQueueName(provider), { connection: this.connection, prefix: this.prefix });
      queue.on("error", () => undefined); // surfaced to callers through the rejected calls
      this.queues.set(provider, queue);
    }
    return queue;
  }
}

/** The checks a worker would make, made before the request reaches Redis. */
export function validateRequest(request: unknown): GenerationRequest {
  const parsed = GenerationRequest.safeParse(request);
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error));
  const { provider, model: modelId, input } = parsed.data;
  if (!(PROVIDERS as readonly string[]).includes(provider)) throw new InvalidRequestError(`provider: unknown provider "${provider}"; known: ${PROVIDERS.join(", ")}`);
  const model = findModel(provider, modelId);
  if (!model) throw new InvalidRequestError(`model: unknown ${provider} model "${modelId}"; known: ${modelIds(provider).join(", ")}`);
  const checked = model.input.safeParse(input);
  if (!checked.success) throw new InvalidRequestError(`invalid input for ${model.id}: ${describeIssues(checked.error, "input")}`);
  return parsed.data;
}

function describe(job: Job, queue: string, state: string): GenerationStatus {
  const stored = (job.data as { kiln?: { result?: unknown } }).kiln?.result;
  const result = GenerationResult.safeParse(job.returnvalue ?? stored);
  return { id: String(job.id), queue, state, progress: job.progress, result: result.success ? result.data : undefined, failedReason: job.failedReason || undefined };
}
