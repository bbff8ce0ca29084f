import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { generateQueueName } from "../../src/contract/queue-names.js";
import { deliveryJobId, eventSubject, type EventType } from "../../src/contract/webhook-message.js";
import { loadEnvironment, queueLocationOf, type Environment } from "../../src/config/index.js";
import { prefixOf } from "../../src/queue/partitions.js";
import { connectRedis, redisTargetOf } from "../../src/queue/redis.js";
import { createLogger } from "../../src/logger.js";
import { GenerationClient } from "../../src/producers/generation-client.js";
import { ProviderSimulator, type SimulatorOptions } from "@kiln/dev-tools";
import { startKilnWorkers, type KilnWorkers } from "../../src/workers/kiln-workers.js";
import { WebhookReceiver } from "./webhook-receiver.js";

/**
 * Random-looking like a real key: kiln scrubs every 8-character piece of its keys from what it
 * shows, so a key spelling a word ("tokenhub") would blank that word too.
 */
export const TEST_API_KEY = "sk-test-Q7vX2mK9pL4wZ8rNd3";

/** A fresh `whsec_` secret. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

export interface HarnessOptions {
  simulator?: Partial<SimulatorOptions>;
  /** "s3" (the run's S3 server) or "local" (a temp directory). @defaultValue "s3" */
  archive?: "s3" | "local";
  /** Start in-process workers. @defaultValue true */
  workers?: boolean;
  env?: Record<string, string>;
  /** `KILN_PREFIX`. @defaultValue a fresh `{kiln-<random>}` */
  prefix?: string;
  /**
   * Run on a Redis Cluster (`startRedisCluster`) instead of the run's Redis: kiln connects with
   * `REDIS_CLUSTER_NODES` and spreads its queues over `partitions` (`KILN_PARTITIONS`).
   */
  cluster?: { seeds: string; partitions?: number };
}

/**
 * Everything an end-to-end test needs, all real: the simulator over HTTP, a webhook receiver,
 * kiln's workers on the run's Redis, S3 (or a directory), on a prefix of its own.
 */
export class KilnHarness {
  simulator!: ProviderSimulator;
  receiver!: WebhookReceiver;
  client!: GenerationClient;
  workers?: KilnWorkers;
  env!: Environment;
  rawEnv!: Record<string, string>;
  prefix = `{kiln-${randomUUID().slice(0, 8)}}`;
  readonly secret = newWebhookSecret();
  private archiveDir?: string;

  async start(options: HarnessOptions = {}): Promise<this> {
    this.prefix = options.prefix ?? this.prefix;
    this.simulator = new ProviderSimulator({
      apiKey: TEST_API_KEY,
      durationsMs: { image: 300, video: 600, "3d": 600 },
      outputBytes: { image: 20_000, video: 60_000, model: 30_000, preview: 5_000 },
      ...options.simulator,
    });
    const simUrl = await this.simulator.start();
    this.receiver = new WebhookReceiver(this.secret);
    await this.receiver.start();
    this.rawEnv = {
      ...(await this.archiveEnv(options.archive ?? "s3")),
      REDIS_URL: inject("redisUrl"),
      KILN_PREFIX: this.prefix,
      TOKENHUB_API_KEY: TEST_API_KEY,
      TOKENHUB_BASE_URL: simUrl,
      GATEWAY_API_KEY: TEST_API_KEY,
      GATEWAY_BASE_URL: `${simUrl}/gateway`,
      WCODE_API_KEY: TEST_API_KEY,
      WCODE_BASE_URL: `${simUrl}/wcode/api/gpt/v1`,
      KILN_WEBHOOK_SECRET: this.secret,
      KILN_ALLOW_PRIVATE_URLS: "true",
      KILN_POLL_SCALE: "0.02",
      LOG_LEVEL: "silent",
      ...(options.cluster ? { REDIS_CLUSTER_NODES: options.cluster.seeds, KILN_PARTITIONS: String(options.cluster.partitions ?? 1) } : {}),
      ...options.env,
    };
    this.env = loadEnvironment(this.rawEnv);
    this.client = new GenerationClient(queueLocationOf(this.env));
    if (options.workers ?? true) await this.startWorkers();
    return this;
  }

  async startWorkers(): Promise<KilnWorkers> {
    this.workers = await startKilnWorkers(this.env, createLogger({ level: "silent" }), {
      webhookSchedule: [100, 200, 400],
      rawEnv: this.rawEnv,
    });
    return this.workers;
  }

  /** A request for `model` with a prompt unique to this call, so submissions can be counted per job. */
  request(model: string, input: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
    const prompt = typeof input.prompt === "string" ? input.prompt : `test ${randomUUID()}`;
    return {
      provider: "tokenhub",
      model,
      input: { prompt, ...input },
      webhook: { url: this.receiver.url },
      metadata: { prompt },
      ...extra,
    };
  }

  /** A unified-body request (gateway, wcode, TokenHub text): the prompt is the last user message. */
  chatRequest(
    provider: "gateway" | "wcode" | "tokenhub",
    model: string,
    input: Record<string, unknown> = {},
    extra: Record<string, unknown> = {},
  ) {
    const prompt = `test ${randomUUID()}`;
    return {
      provider,
      model,
      input: { messages: [{ role: "user", content: prompt }], ...input },
      webhook: { url: this.receiver.url },
      metadata: { prompt },
      ...extra,
    };
  }

  /** The webhook delivery's BullMQ job id for `type` of the generation job `jobId`. */
  async deliveryIdOf(jobId: string, type: EventType = "generation.completed", provider = "tokenhub"): Promise<string> {
    const connection = connectRedis(redisTargetOf(this.env), "producer");
    const prefix = prefixOf(jobId, this.prefix, this.env.KILN_PARTITIONS);
    const queue = new Queue(generateQueueName(provider), { connection, prefix });
    try {
      const job = await queue.getJob(jobId);
      if (!job) throw new Error(`no job ${jobId} on ${queue.name}`);
      return deliveryJobId(eventSubject(queue.name, jobId, job.timestamp), type);
    } finally {
      await queue.close();
      await connection.quit();
    }
  }

  async close(): Promise<void> {
    await this.workers?.close();
    await this.client.close();
    await this.receiver.stop();
    await this.simulator.stop();
    // a cluster is its test file's own and is stopped with it; the run's Redis is shared
    if (!this.env.REDIS_CLUSTER_NODES) await cleanPrefix(this.env.REDIS_URL, this.prefix);
    if (this.archiveDir) await rm(this.archiveDir, { recursive: true, force: true });
  }

  private async archiveEnv(kind: "s3" | "local"): Promise<Record<string, string>> {
    if (kind === "local") {
      this.archiveDir = await mkdtemp(join(tmpdir(), "kiln-archive-"));
      return { ARCHIVE_DIR: this.archiveDir };
    }
    const s3 = inject("s3");
    return {
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_BUCKET: s3.bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
    };
  }
}

/** Deletes every key under a test's prefix. */
export async function cleanPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
  await redis.quit();
}
