import { createHmac, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { DelayedError, Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { request } from "undici";

/**
 * The baselines of the bench, each a plain BullMQ worker in a process of its own, run as
 * `node bare-worker.js <mode> <json config>`:
 *
 * - `repoll`: a processor that does no work and moves its job back to the delayed set
 *   (`moveToDelayed` + `DelayedError`): the cheapest poll visit BullMQ allows.
 * - `repollStatus`: the same with one status request for a pending task (`taskId` in the data)
 *   before the move: a poll visit's own work, with no state kept.
 * - `noop`: a processor that returns at once: the cheapest job BullMQ allows.
 * - `naive`: how a poller is written without kiln: submit, then sleep between status requests
 *   while holding the worker slot, then download the output.
 * - `pipeline`: the lifecycle's own work done by hand in one visit, with no state kept: submit,
 *   one status request, the output streamed to a file, a signed webhook POSTed. What the work
 *   costs without kiln's durability, for the lifecycle row.
 * - `pipelineS3`: the same with the output streamed to S3 instead (`s3` in the config) by
 *   lib-storage's `Upload` on an `S3Client` of the SDK's defaults: for a 16 KiB output one
 *   PutObject with its CRC32 checksum, the request kiln's S3 store sends.
 * - either pipeline with `durable` in the config: the same work with the least BullMQ and Redis
 *   that kiln's guarantees take, written by hand (`durableLifecycle`). The floor those
 *   guarantees set, below which no kiln build can go.
 *
 * It writes JSON lines on stdout: `{readyAt}` once the worker runs, `{count, countAt}` every
 * 250 ms, and `{doneAt}` when `target` jobs are done.
 */
interface Config {
  redisUrl: string;
  prefix: string;
  queue: string;
  concurrency: number;
  /** repoll: how far ahead each visit reschedules its job, ms. */
  delayMs?: number;
  /** noop, naive: jobs to finish before reporting `doneAt`. */
  target?: number;
  /** naive: the provider simulator. */
  simUrl?: string;
  apiKey?: string;
  pollMs?: number;
  /** pipeline: where outputs go, and the webhook to sign and POST. */
  archiveDir?: string;
  /** pipelineS3: the S3 server and bucket outputs go to. */
  s3?: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean };
  webhookUrl?: string;
  webhookSecret?: string;
  /** pipeline, pipelineS3: with the steps kiln's guarantees take (`durableLifecycle`). */
  durable?: boolean;
}

const [mode, json] = process.argv.slice(2);
const config = JSON.parse(json ?? "{}") as Config;
let count = 0;
let reportedDone = false;
const say = (line: Record<string, number>) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** Counts a finished job and reports the moment the target is reached (not at the next tick). */
function counted(): void {
  count++;
  if (!reportedDone && config.target !== undefined && count >= config.target) {
    reportedDone = true;
    say({ doneAt: Date.now() });
  }
}

const processors: Record<string, (job: Job, token?: string) => Promise<unknown>> = {
  async repoll(job, token) {
    count++;
    await job.moveToDelayed(Date.now() + (config.delayMs ?? 0), token);
    throw new DelayedError();
  },
  async repollStatus(job, token) {
    const status = await api("/v1/api/image/query", { id: (job.data as { taskId?: string }).taskId });
    if (status.status === "completed" || status.status === "failed") throw new Error(`task is ${status.status}; the row's tasks never end`);
    count++;
    await job.moveToDelayed(Date.now() + (config.delayMs ?? 0), token);
    throw new DelayedError();
  },
  async noop() {
    counted();
    return undefined;
  },
  async pipeline(job, token) {
    if (config.durable) return durableLifecycle(job, token!, toFile);
    await handmadeLifecycle(job.id!, String((job.data as { prompt?: string }).prompt ?? ""), toFile);
    counted();
    return undefined;
  },
  async pipelineS3(job, token) {
    if (config.durable) return durableLifecycle(job, token!, toS3);
    await handmadeLifecycle(job.id!, String((job.data as { prompt?: string }).prompt ?? ""), toS3);
    counted();
    return undefined;
  },
  async naive(job) {
    await naivePoll(String((job.data as { prompt?: string }).prompt ?? ""));
    counted();
    return undefined;
  },
};

/** One call of the simulator's TokenHub image API. */
async function api(path: string, body: Record<string, unknown>) {
  const answer = await request(`${config.simUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${config.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "hy-image-v3.0", ...body }),
  });
  return (await answer.body.json()) as { id?: string; status?: string; data?: Array<{ url: string }> };
}

type Store = (jobId: string, body: Readable) => Promise<void>;

const toFile: Store = (jobId, body) => pipeline(body, createWriteStream(`${config.archiveDir}/${jobId}.png`));

/** One client for the process, as an application keeps it: the SDK's agent reuses connections the server keeps open. */
let s3: S3Client | undefined;
const toS3: Store = async (jobId, body) => {
  const { bucket, accessKeyId, secretAccessKey, ...options } = config.s3!;
  s3 ??= new S3Client({ ...options, credentials: { accessKeyId, secretAccessKey } });
  await new Upload({ client: s3, params: { Bucket: bucket, Key: `handmade/${jobId}.png`, Body: body, ContentType: "image/png" } }).done();
};

async function handmadeLifecycle(jobId: string, prompt: string, store: Store): Promise<void> {
  const { id } = await api("/v1/api/image/submit", { prompt });
  const status = await api("/v1/api/image/query", { id });
  if (status.status !== "completed") throw new Error(`task ${id} is ${status.status} (the row's tasks finish at once)`);
  const download = await request(status.data![0]!.url);
  await store(jobId, download.body);
  await signedWebhook(jobId, id!);
}

/** What `durableLifecycle` keeps in the job's data between its visits. */
interface DurableData {
  prompt?: string;
  submitCalls?: number;
  taskId?: string;
  archived?: boolean;
}

/** The queue of the durable pipeline's webhooks, and its worker (`durable` only). */
let webhooks: Queue | undefined;

/**
 * The handmade lifecycle with the least that kiln's guarantees take, each the way a BullMQ user
 * would write it: a submit never sent twice unknowingly (the attempt stored before the request,
 * the task id right after it); the poll in a visit of its own, the slot free while the task runs
 * (`moveToDelayed`); the outputs recorded as archived before the webhook is owed; the webhook a
 * job of its own, so it survives a crash and retries apart from the generation. Three visits,
 * three data writes and one enqueue, against one visit of the plain pipeline. None of kiln's
 * other work: no validation, budgets, slots, poll statistics, logging, hashing or cancel checks.
 */
async function durableLifecycle(job: Job, token: string, store: Store): Promise<void> {
  const data = job.data as DurableData;
  if (!data.taskId) {
    await job.updateData({ ...data, submitCalls: (data.submitCalls ?? 0) + 1 });
    const { id } = await api("/v1/api/image/submit", { prompt: data.prompt ?? "" });
    await job.updateData({ ...job.data, taskId: id });
    await job.moveToDelayed(Date.now(), token);
    throw new DelayedError();
  }
  const status = await api("/v1/api/image/query", { id: data.taskId });
  if (status.status !== "completed") throw new Error(`task ${data.taskId} is ${status.status} (the row's tasks finish at once)`);
  const download = await request(status.data![0]!.url);
  // a name of its own: the handmade side's jobs are numbered from 1 too, and would be overwritten
  await store(`durable-${job.id}`, download.body);
  await job.updateData({ ...data, archived: true });
  await webhooks!.add("deliver", { jobId: job.id, taskId: data.taskId }, { jobId: `webhook-${job.id}`, removeOnComplete: true });
}

async function signedWebhook(jobId: string, taskId: string): Promise<void> {
  const body = JSON.stringify({ type: "generation.completed", timestamp: new Date().toISOString(), data: { id: jobId, taskId } });
  const messageId = `msg_${randomUUID()}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(config.webhookSecret!.slice("whsec_".length), "base64");
  const signature = createHmac("sha256", key).update(`${messageId}.${timestamp}.${body}`).digest("base64");
  const answer = await request(config.webhookUrl!, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": messageId,
      "webhook-timestamp": timestamp,
      "webhook-signature": `v1,${signature}`,
    },
    body,
  });
  await answer.body.dump();
  if (answer.statusCode >= 300) throw new Error(`webhook answered ${answer.statusCode}`);
}

async function naivePoll(prompt: string): Promise<void> {
  const { id } = await api("/v1/api/image/submit", { prompt });
  for (;;) {
    // the slot stays taken while it sleeps: that is what makes this poller naive
    await new Promise((r) => setTimeout(r, config.pollMs ?? 1000));
    const status = await api("/v1/api/image/query", { id });
    if (status.status === "failed") throw new Error(`task ${id} failed`);
    if (status.status !== "completed") continue;
    const download = await request(status.data![0]!.url);
    for await (const chunk of download.body) void chunk;
    return;
  }
}

async function main(): Promise<void> {
  const processor = processors[mode ?? ""];
  if (!processor) throw new Error(`unknown baseline mode ${mode}`);
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker(config.queue, processor, {
    connection,
    prefix: config.prefix,
    concurrency: config.concurrency,
    autorun: false,
  });
  worker.on("error", (err) => process.stderr.write(`baseline worker error: ${err.message}\n`));
  // a pipeline's job never fails but by a bug: the row stops at once instead of waiting for its target
  const fatal = (job: Job | undefined, err: Error) => {
    process.stderr.write(`baseline ${mode} job ${job?.id} failed: ${err.message}\n`);
    process.exit(1);
  };
  if (mode === "pipeline" || mode === "pipelineS3") worker.on("failed", fatal);
  const webhookQueue = `${config.queue}-webhooks`;
  webhooks = config.durable ? new Queue(webhookQueue, { connection, prefix: config.prefix }) : undefined;
  const webhookWorker = config.durable
    ? new Worker(
        webhookQueue,
        async (job: Job<{ jobId: string; taskId: string }>) => {
          await signedWebhook(job.data.jobId, job.data.taskId);
          counted();
        },
        { connection, prefix: config.prefix, concurrency: config.concurrency, autorun: false },
      )
    : undefined;
  webhookWorker?.on("failed", fatal);
  const timer = setInterval(() => {
    say({ count, countAt: Date.now() });
  }, 250);
  process.once("SIGTERM", () => {
    clearInterval(timer);
    // in order: a generation job that ends while closing still enqueues its webhook
    void worker
      .close()
      .then(() => webhooks?.close())
      .then(() => webhookWorker?.close())
      .then(() => connection.quit())
      .finally(() => process.exit(0));
  });
  await worker.waitUntilReady();
  void worker.run();
  if (webhookWorker) {
    await webhookWorker.waitUntilReady();
    void webhookWorker.run();
  }
  say({ readyAt: Date.now() });
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
