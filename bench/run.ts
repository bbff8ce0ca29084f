import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
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
    try {
      await archiveMemory(client, simUrl, videoBytes);
      await parkedTasks(client, parked);
    } finally {
      await client.close();
      await workers.close();
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
  const idle = await settle();
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
  const loaded = await settle();
  console.log(`parked tasks: ${count} provider tasks in flight on one worker process (concurrency 50) after ${(parkedAt / 1000).toFixed(1)} s; RSS ${mb(loaded)} against ${mb(idle)} idle; ratio ${(loaded / idle).toFixed(2)}; ${((loaded - idle) / count / 1024).toFixed(1)} KiB per parked task`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
