import { request } from "undici";
import { getFreePort, WebhookReceiver } from "@kiln/dev-tools";
import { GenerationClient } from "../../src/producers/generation-client.js";
import { round, rssMibOf } from "../proc-stats.js";
import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { imageRequest, sized, sleep } from "../sizes.js";
import { BaselineProcess, BENCH_API_KEY, BENCH_PREFIX, BenchStack, KilnWorkerProcess } from "../stack.js";
import { mkdir } from "node:fs/promises";
import { Queue } from "bullmq";
import { Redis } from "ioredis";

/** Jobs enqueued per second, steadily, the whole run. */
const RATE = 20;
/** How often the worker and Redis are sampled, ms. */
const SAMPLE_EVERY_MS = 10_000;
/** The share of the run before which samples are warm-up (caches, JIT, pools, BullMQ's event streams filling to their cap). */
const WARM_UP_SHARE = 0.3;
/** The goal: each figure grows less than this per 10 minutes after the warm-up. */
const GOAL_MIB_PER_10_MIN = 1;

interface Sample {
  atS: number;
  rssMib: number;
  heapMib: number;
  redisMib: number;
  completed: number;
}

/**
 * A day of steady load, shortened: image requests enqueued at a fixed rate through the whole
 * pipeline (submit, poll, a 16 KiB output to a local archive, a signed webhook to a receiver)
 * for 10 minutes (an hour with `--full`), sampling the worker's RSS and V8 heap (its /metrics)
 * and Redis's used memory. After the warm-up, the slope of each (least squares) must be below
 * 1 MiB per 10 minutes; Redis grows by what retention keeps (7 days of completed jobs and
 * deliveries), so its figure is per completed job, against what a kept job costs.
 * Baseline, side by side on a stack of its own (the two need a tenth of a core together): the
 * handmade pipeline (the lifecycle rows' baseline: the same work in one bare BullMQ visit, no
 * state kept) fed at the same rate, its RSS sampled at the same times: what a Node process doing
 * this work drifts by on this machine anyway.
 */
export const row: BenchRow = {
  id: "soak",
  title: "steady load through the whole pipeline: the worker's memory after warm-up (slope per 10 min)",
  async run(ctx: BenchContext): Promise<RowResult> {
    const minutes = sized(ctx, "SOAK_MINUTES", 10, 60);
    const stack = await new BenchStack().start(["--image-ms", "1000", "--image-bytes", String(16 * 1024)]);
    const receiver = new WebhookReceiver(stack.webhookSecret);
    const hooks = await receiver.start();
    const port = await getFreePort();
    const worker = stack.own(
      new KilnWorkerProcess(
        stack.workerEnv({
          KILN_POLL_SCALE: "0.1",
          KILN_CONCURRENCY: "50",
          ARCHIVE_DIR: `${ctx.scratchDir}/archive`,
          KILN_HTTP_PORT: String(port),
          KILN_HTTP_HOST: "127.0.0.1",
        }),
        ctx.scratchDir,
      ),
    );
    const client = new GenerationClient({ redisUrl: stack.redisUrl, prefix: BENCH_PREFIX });
    const bareArchive = `${ctx.scratchDir}/bare-archive`;
    await mkdir(bareArchive, { recursive: true });
    // the handmade pipeline expects its task done at its first status request
    const bareStack = await new BenchStack().start(["--image-ms", "0", "--image-bytes", String(16 * 1024)]);
    const bareReceiver = new WebhookReceiver(bareStack.webhookSecret);
    const bareHooks = await bareReceiver.start();
    const bareConnection = new Redis(bareStack.redisUrl, { maxRetriesPerRequest: null });
    const bareQueue = new Queue("bare-soak", { connection: bareConnection, prefix: BENCH_PREFIX });
    const bare = bareStack.own(
      new BaselineProcess("pipeline", {
        redisUrl: bareStack.redisUrl,
        prefix: BENCH_PREFIX,
        queue: "bare-soak",
        concurrency: 50,
        target: Number.MAX_SAFE_INTEGER,
        simUrl: bareStack.simUrl,
        apiKey: BENCH_API_KEY,
        webhookUrl: bareHooks,
        webhookSecret: bareStack.webhookSecret,
        archiveDir: bareArchive,
      }),
    );
    try {
      await worker.start();
      await bare.start();
      const bareRss: Array<[number, number]> = [];
      const samples: Sample[] = [];
      const started = Date.now();
      const endAt = started + minutes * 60_000;
      let enqueued = 0;
      let nextSample = started;
      // steady: every 100 ms the requests due by then, so the rate holds whatever an enqueue costs
      while (Date.now() < endAt) {
        const due = Math.floor(((Date.now() - started) / 1000) * RATE);
        const batch = [];
        const bareJobs = [];
        for (; enqueued < due; enqueued++) {
          batch.push(client.enqueue(imageRequest(enqueued, hooks)));
          bareJobs.push({ name: "bare", data: { prompt: `soak ${enqueued}` } });
        }
        await Promise.all([...batch, bareQueue.addBulk(bareJobs)]);
        if (Date.now() >= nextSample) {
          samples.push(await sample(stack, worker.pid, port, started, receiver));
          bareRss.push([samples.at(-1)!.atS, rssMibOf(bare.pid)]);
          nextSample += SAMPLE_EVERY_MS;
        }
        await sleep(100);
      }
      samples.push(await sample(stack, worker.pid, port, started, receiver));
      bareRss.push([samples.at(-1)!.atS, rssMibOf(bare.pid)]);
      const warm = samples.filter((s) => s.atS >= minutes * 60 * WARM_UP_SHARE);
      const perTenMin = (pick: (s: Sample) => number) => round(slopePerSecond(warm.map((s) => [s.atS, pick(s)])) * 600, 2);
      const rssSlope = perTenMin((s) => s.rssMib);
      const heapSlope = perTenMin((s) => s.heapMib);
      const bareWarm = bareRss.filter(([atS]) => atS >= minutes * 60 * WARM_UP_SHARE);
      const bareSlope = round(slopePerSecond(bareWarm) * 600, 2);
      const bareDone = bare.report.count;
      const last = samples.at(-1)!;
      const first = warm[0]!;
      const redisKibPerJob = round(((last.redisMib - first.redisMib) * 1024) / Math.max(1, last.completed - first.completed), 2);
      ctx.log(
        `${enqueued} enqueued, ${last.completed} completed; after warm-up: RSS ${rssSlope} MiB/10 min, heap ${heapSlope} MiB/10 min, Redis +${redisKibPerJob} KiB per completed job`,
      );
      const met = Math.abs(rssSlope) < GOAL_MIB_PER_10_MIN && Math.abs(heapSlope) < GOAL_MIB_PER_10_MIN;
      return {
        id: row.id,
        title: row.title,
        kiln: { value: Math.max(rssSlope, heapSlope), unit: "MiB per 10 min" },
        baseline: { name: "the handmade pipeline at the same rate, side by side (its RSS)", value: bareSlope, unit: "MiB per 10 min" },
        goal: `RSS and heap slopes after warm-up below ${GOAL_MIB_PER_10_MIN} MiB per 10 min; Redis grows by what retention keeps`,
        met,
        context: {
          minutes,
          "jobs/s enqueued": RATE,
          enqueued,
          completed: last.completed,
          "RSS slope, MiB/10 min": rssSlope,
          "heap slope, MiB/10 min": heapSlope,
          "RSS at the end, MiB": round(last.rssMib),
          "heap at the end, MiB": round(last.heapMib),
          "Redis used at the end, MiB": round(last.redisMib),
          "handmade pipeline: jobs done": bareDone,
          "handmade pipeline: RSS slope, MiB/10 min": bareSlope,
          "handmade pipeline: RSS at the end, MiB": round(bareRss.at(-1)![1]),
          "Redis growth per completed job after warm-up, KiB (retention keeps each job and its delivery 7 days)": redisKibPerJob,
        },
        series: {
          "worker RSS": samples.map((s) => [round(s.atS / 60, 2), round(s.rssMib)]),
          "worker heap used": samples.map((s) => [round(s.atS / 60, 2), round(s.heapMib)]),
          "handmade pipeline RSS": bareRss.map(([atS, mib]) => [round(atS / 60, 2), round(mib)]),
        },
        seriesAxes: { x: "time since the start (min)", y: "memory (MiB)", joined: true },
      };
    } finally {
      await client.close();
      await bareQueue.close();
      await bareConnection.quit();
      await receiver.stop();
      await bareReceiver.stop();
      await stack.stop();
      await bareStack.stop();
    }
  },
};

async function sample(stack: BenchStack, pid: number, port: number, started: number, receiver: WebhookReceiver): Promise<Sample> {
  const metrics = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
  const heap = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1] ?? NaN);
  const redis = Number(/used_memory:(\d+)/.exec(await stack.redis.info("memory"))?.[1] ?? NaN);
  return {
    atS: (Date.now() - started) / 1000,
    rssMib: rssMibOf(pid),
    heapMib: heap / 1024 / 1024,
    redisMib: redis / 1024 / 1024,
    completed: receiver.received.filter((r) => r.payload.type === "generation.completed").length,
  };
}

/** Least-squares slope of y over x. */
function slopePerSecond(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}
