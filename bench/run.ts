import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { once } from "node:events";
import { readManifest } from "../src/producers/manifest-reader.js";
import { BatchProducer } from "../src/producers/batch-producer.js";
import { createRedis } from "../src/redis.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { request } from "undici";
import { loadEnvironment } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { GenerationClient } from "../src/producers/generation-client.js";
import { startRedisProcess, getFreePort } from "../src/util/redis-process.js";
import { startKilnWorkers } from "../src/workers/kiln-workers.js";
import { MB, mb, RssSampler, settle } from "./measure.js";

/**
 * kiln's benchmarks, each reported as a ratio against a baseline measured in the same run on
 * the same machine: absolute figures depend on the machine, ratios much less.
 *
 * 1. Archive memory: kiln streaming one large video into the archive, against buffering the
 *    same download whole (what a naive `await res.arrayBuffer()` does). Peak RSS growth.
 * 2. Parked tasks: memory of one worker process holding N provider tasks in flight (delayed
 *    jobs, no worker slot held), against the same process idle.
 * 3. Bulk manifest memory: enqueueing a 100,000-line manifest as a batch (streamed), against
 *    reading and parsing the same file whole. Peak RSS growth.
 */
async function main(): Promise<void> {
  const videoBytes = Number(process.env.BENCH_VIDEO_MB ?? 256) * MB;
  const parked = Number(process.env.BENCH_PARKED ?? 2000);
  const redis = await startRedisProcess();
  const simPort = await getFreePort();
  const sim = spawn(process.execPath, ["bin/kiln.js", "simulate", "--port", String(simPort), "--api-key", "bench", "--video-ms", "500", "--video-bytes", String(videoBytes), "--image-ms", "60000"], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => sim.stdout!.once("data", resolve));
  const simUrl = `http://127.0.0.1:${simPort}`;
  const archive = await mkdtemp(join(tmpdir(), "kiln-bench-"));
  try {
    const env = loadEnvironment({ REDIS_URL: redis.url, KILN_PREFIX: "{bench}", TOKENHUB_API_KEY: "bench", TOKENHUB_BASE_URL: simUrl, KILN_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}`, KILN_ALLOW_PRIVATE_URLS: "true", KILN_POLL_SCALE: "0.05", ARCHIVE_DIR: archive });
    const workers = await startKilnWorkers(env, createLogger({ level: "silent" }));
    const client = new GenerationClient({ redisUrl: redis.url, prefix: "{bench}" });
    let closed = false;
    try {
      // parked tasks first: the archive run leaves freed pages in RSS that would blur its baseline
      await parkedTasks(client, parked);
      await archiveMemory(client, simUrl, videoBytes);
      // no workers while the manifest is measured: only the producer's memory counts
      await workers.close();
      closed = true;
      // two sizes: streaming should grow little with the manifest, parsing it whole in proportion
      const lines = Number(process.env.BENCH_MANIFEST_LINES ?? 100_000);
      for (const n of [lines, lines * 3]) await manifestMemory(redis.url, archive, n);
      await manifestUnderHeapCap(redis.url, join(archive, `manifest-${lines * 3}.jsonl`), 64);
    } finally {
      await client.close();
      if (!closed) await workers.close();
    }
  } finally {
    sim.kill("SIGTERM");
    await redis.stop();
    await rm(archive, { recursive: true, force: true });
  }
}

async function archiveMemory(client: GenerationClient, simUrl: string, videoBytes: number): Promise<void> {
  const before = await settle();
  const sampler = new RssSampler().start();
  const id = await client.enqueue({ provider: "tokenhub", model: "hy-video-1.5", input: { prompt: "bench video" } });
  const status = await client.waitFor(id, { timeoutMs: 600_000, intervalMs: 100 });
  const kilnPeak = sampler.stop() - before;
  if (status.state !== "completed") throw new Error(`bench job ended ${status.state}: ${status.failedReason}`);
  const url = await resultUrlOf(simUrl, status.result!.providerTaskId!);

  const baseBefore = await settle();
  const baseline = new RssSampler().start();
  const response = await request(url);
  const whole = Buffer.from(await response.body.arrayBuffer());
  const baselinePeak = baseline.stop() - baseBefore;
  console.log(`archive memory: a ${mb(whole.length)} video streamed to the archive grew RSS by ${mb(kilnPeak)}; buffering it whole grew RSS by ${mb(baselinePeak)}; ratio ${(kilnPeak / baselinePeak).toFixed(3)} (lower is better)`);
}

/** Asks the simulator for the task's result URL (fresh, before it expires). */
async function resultUrlOf(simUrl: string, taskId: string): Promise<string> {
  const answer = await request(`${simUrl}/v1/api/video/query`, { method: "POST", headers: { authorization: "Bearer bench", "content-type": "application/json" }, body: JSON.stringify({ model: "hy-video-1.5", id: taskId }) });
  const body = (await answer.body.json()) as { data: { url: string } };
  return body.data.url;
}

async function parkedTasks(client: GenerationClient, count: number): Promise<void> {
  await settle();
  const idle = process.memoryUsage().heapUsed;
  const started = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < count; i += 500) {
    const chunk = Array.from({ length: Math.min(500, count - i) }, (_, j) => client.enqueue({ provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: `parked ${i + j}` } }));
    ids.push(...(await Promise.all(chunk)));
  }
  // every task submitted and parked in the delayed set, polling: the worker holds none of them
  for (;;) {
    const counts = await Promise.all(ids.slice(-50).map((id) => client.get(id)));
    if (counts.every((s) => s?.state === "delayed")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const parkedAt = Date.now() - started;
  await settle();
  const loaded = process.memoryUsage().heapUsed;
  console.log(`parked tasks: ${count} provider tasks in flight on one worker process (concurrency 50) after ${(parkedAt / 1000).toFixed(1)} s; JS heap ${mb(loaded)} against ${mb(idle)} idle; ratio ${(loaded / idle).toFixed(2)}; ${((loaded - idle) / count / 1024).toFixed(1)} KiB per parked task`);
}

async function manifestMemory(redisUrl: string, dir: string, lines: number): Promise<void> {
  const path = join(dir, `manifest-${lines}.jsonl`);
  const out = createWriteStream(path);
  for (let i = 0; i < lines; i++) {
    const line = JSON.stringify({ custom_id: `line-${i}`, provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: `a manifest line with some words to make it realistic, number ${i}` }, metadata: { order: i, tags: ["bench", "manifest"] } });
    if (!out.write(`${line}\n`)) await once(out, "drain");
  }
  await new Promise((resolve) => out.end(resolve));
  const size = (await stat(path)).size;

  const before = await settle();
  const sampler = new RssSampler().start();
  const started = Date.now();
  const connection = createRedis(redisUrl, "producer");
  const producer = new BatchProducer(connection, "{bench}");
  const enqueued = await producer.enqueue(readManifest(path), { batchId: `bench-manifest-${lines}` });
  const streamedPeak = sampler.stop() - before;
  await producer.close();
  await connection.quit();
  if (enqueued.total !== lines) throw new Error(`bench manifest: ${enqueued.total} of ${lines} lines enqueued`);
  const seconds = (Date.now() - started) / 1000;

  const baseBefore = await settle();
  const baseline = new RssSampler().start();
  const whole = (await readFile(path, "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as unknown);
  const baselinePeak = baseline.stop() - baseBefore;
  console.log(`bulk manifest memory: ${enqueued.total} lines (${mb(size)}) enqueued as one batch in ${seconds.toFixed(1)} s grew RSS by ${mb(streamedPeak)}; reading and parsing the file whole grew RSS by ${mb(baselinePeak)} (${whole.length} lines); ratio ${(streamedPeak / baselinePeak).toFixed(3)} (lower is better)`);
}

/**
 * The bound that matters: `kiln bulk` enqueues the largest manifest with V8's old space capped
 * at `capMb`, where reading and parsing the same file whole cannot finish under that cap.
 */
async function manifestUnderHeapCap(redisUrl: string, path: string, capMb: number): Promise<void> {
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<number | null>((resolve) => spawn(process.execPath, [`--max-old-space-size=${capMb}`, ...args], { stdio: "ignore", env: { ...process.env, ...env } }).once("exit", resolve));
  const streamed = await run(["bin/kiln.js", "bulk", path, "--batch-id", "bench-capped"], { REDIS_URL: redisUrl, KILN_PREFIX: "{bench}" });
  const whole = await run(["-e", `JSON.stringify(require("fs").readFileSync(${JSON.stringify(path)}, "utf8").split("\\n").filter(Boolean).map((l) => JSON.parse(l)).length)`]);
  console.log(`bulk manifest under a ${capMb} MB heap cap: kiln bulk ${streamed === 0 ? "finished" : `failed (exit ${streamed})`}; reading and parsing the file whole ${whole === 0 ? "finished" : `ran out of memory (exit ${whole})`}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
