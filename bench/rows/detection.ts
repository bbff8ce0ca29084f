import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { loadEnvironment } from "../../src/config/index.js";
import { createLogger } from "../../src/logger.js";
import { GenerationClient } from "../../src/producers/generation-client.js";
import { ProviderSimulator, startRedisProcess } from "@kiln/dev-tools";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { logUniform, percentile, prefixed, round, seeded, stateOf, waitAllDone } from "../detection-common.js";

/**
 * Detection delay: the time from a provider task's end (the simulator knows it) to the kiln job
 * that carried it completing (BullMQ's `finishedOn`), for N TokenHub videos whose durations are
 * drawn from three distributions, one model each (so each model learns its own):
 *
 * - hy-video-1.5: a geometric spread, log-uniform from 5 s to 5 min (as many tasks of 5–10 s
 *   as of 2.5–5 min: the hardest case for a schedule that learns one duration per model);
 * - yt-video-2.0: log-normal, median 60 s, σ 0.6, clipped to 5 s–5 min;
 * - yt-video-humanactor: bimodal, half around 20 s, half around 200 s.
 *
 * The same tasks, submitted at the same moments (spread over 5 min so later tasks can learn from
 * earlier ones), run at once through two kiln deployments on the same Redis and machine: the
 * learning schedule (KILN_POLL_SCHEDULE=adaptive) and today's fixed 1.5× backoff (fixed), the
 * baseline. Without --full, every duration and every poll delay is scaled by 0.2 (the goal's 2 s
 * floor too), so the row takes about two minutes; a fixed overhead per visit (a busy machine's
 * scheduling delays) then weighs five times more than at real scale.
 */
export const row: BenchRow = {
  id: "detection",
  title: "detection delay (task done at the provider → job done), videos of 5 s–5 min",
  run,
};

const MIN = 60_000;
type Mode = "adaptive" | "fixed";

interface Planned {
  model: string;
  input: Record<string, unknown>;
  durationMs: number;
  submitAtMs: number;
}

interface Measured {
  model: string;
  durationMs: number;
  delayMs: number;
  /** Task done → the status request that saw it done (without archive and notify). */
  detectMs: number;
  polls: number;
}

async function run(context: BenchContext): Promise<RowResult> {
  const scale = context.full ? 1 : 0.2;
  const count = Number(process.env.BENCH_DETECTION_TASKS ?? 200);
  const plan = planTasks(count, scale, seeded("detection"));
  context.log(`detection: ${count} videos, time scale ${scale}, adaptive and fixed schedules side by side`);
  const redis = await startRedisProcess();
  const loadBefore = loadavg()[0]!;
  try {
    const [adaptive, fixed] = await Promise.all(
      (["adaptive", "fixed"] as const).map((mode) => runMode(mode, plan, scale, redis.url, context)),
    );
    const result = resultOf(adaptive!, fixed!, scale, count);
    result.context.loadAverage1m = `${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (2 cores)`;
    return result;
  } finally {
    await redis.stop();
  }
}

/** The tasks, their models, durations and submit times, the same for both schedules. */
function planTasks(count: number, scale: number, random: () => number): Planned[] {
  const clip = (ms: number) => Math.min(5 * MIN, Math.max(5_000, ms));
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const kinds = [
    { model: "hy-video-1.5", input: {}, draw: () => logUniform(random, 5_000, 5 * MIN) },
    { model: "yt-video-2.0", input: { image: { url: "https://example.com/frame.png" } }, draw: () => clip(MIN * Math.exp(0.6 * gauss())) },
    {
      model: "yt-video-humanactor",
      input: { audio_url: "https://example.com/voice.mp3", image_url: "https://example.com/face.png" },
      draw: () => clip(random() < 0.5 ? 20_000 * Math.exp(0.2 * gauss()) : 200_000 * Math.exp(0.15 * gauss())),
    },
  ];
  return Array.from({ length: count }, (_, i) => {
    const kind = kinds[i % kinds.length]!;
    return {
      model: kind.model,
      input: kind.input,
      durationMs: Math.round(kind.draw() * scale),
      submitAtMs: Math.round(random() * 5 * MIN * scale),
    };
  });
}

/** One deployment (simulator, workers, prefix) running every planned task under one schedule. */
async function runMode(mode: Mode, plan: Planned[], scale: number, redisUrl: string, context: BenchContext): Promise<Measured[]> {
  const simulator = new ProviderSimulator({
    apiKey: "bench",
    outputBytes: { image: 4096, video: 16_384, model: 4096, preview: 1024 },
    seed: mode,
  });
  const simUrl = await simulator.start();
  const prefix = `{detect-${mode}}`;
  const env = loadEnvironment({
    REDIS_URL: redisUrl,
    KILN_PREFIX: prefix,
    TOKENHUB_API_KEY: "bench",
    TOKENHUB_BASE_URL: simUrl,
    KILN_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
    KILN_ALLOW_PRIVATE_URLS: "true",
    KILN_POLL_SCALE: String(scale),
    KILN_POLL_SCHEDULE: mode,
    ARCHIVE_DIR: await mkdtemp(join(context.scratchDir, `detection-${mode}-`)),
    LOG_LEVEL: "silent",
  });
  const workers = await startKilnWorkers(env, createLogger({ level: "silent" }));
  const client = new GenerationClient({ redisUrl, prefix });
  const queue = new Queue("generate-tokenhub", { connection: { url: redisUrl }, prefix });
  try {
    const started = Date.now();
    const ids = await Promise.all(
      plan.map(async (task, i) => {
        await new Promise((r) => setTimeout(r, task.submitAtMs));
        return client.enqueue({
          provider: "tokenhub",
          model: task.model,
          input: { ...task.input, prompt: `${mode} ${i} [sim:ms=${task.durationMs}]` },
        });
      }),
    );
    await waitAllDone(queue, ids.length, "detection bench");
    context.log(
      `detection: ${mode} finished ${ids.length} tasks in ${((Date.now() - started) / 1000).toFixed(1)} s; ${simulator.stats().queries} status queries`,
    );
    return await Promise.all(ids.map((id, i) => measure(queue, simulator, id, plan[i]!)));
  } finally {
    await queue.close();
    await client.close();
    await workers.close();
    await simulator.stop();
  }
}

async function measure(queue: Queue, simulator: ProviderSimulator, id: string, planned: Planned): Promise<Measured> {
  const job = await queue.getJob(id);
  const state = stateOf(job);
  const task = state?.taskId ? simulator.book.tasks.get(state.taskId) : undefined;
  if (!job?.finishedOn || !task) throw new Error(`detection bench: job ${id} has no finish time or task`);
  return {
    model: planned.model,
    durationMs: task.doneAt - task.createdAt,
    delayMs: job.finishedOn - task.doneAt,
    detectMs: (state?.providerCompletedAt ?? job.finishedOn) - task.doneAt,
    polls: state?.polls ?? 0,
  };
}

/** The series' names: a point per task, one colour per schedule. */
const ADAPTIVE = "adaptive schedule (kiln)";
const FIXED = "fixed 1.5× backoff (baseline)";

function resultOf(adaptive: Measured[], fixed: Measured[], scale: number, count: number): RowResult {
  const a = summary(adaptive, scale);
  const f = summary(fixed, scale);
  const met = a.p95Ratio <= 1 && a.pollsAt5Min <= 12;
  return {
    id: row.id,
    title: row.title,
    kiln: { value: a.sharePct, unit: "% within max(2 s, 10% of duration)" },
    baseline: { name: "fixed 1.5× backoff (today's schedule)", value: f.sharePct, unit: "% within max(2 s, 10% of duration)" },
    ratio: f.sharePct > 0 ? a.sharePct / f.sharePct : undefined,
    goal: "p95 detection delay ≤ max(2 s, 10% of the task's duration); ≤ 12 polls for a 5-minute video",
    met,
    context: {
      tasks: count,
      timeScale: scale,
      note: scale === 1 ? "real time" : `every duration and delay ×${scale}; seconds below are converted back to real scale (÷${scale})`,
      ...prefixed("adaptive", a),
      ...prefixed("fixed", f),
      ...perModel("adaptive", adaptive, scale),
      ...perModel("fixed", fixed, scale),
    },
    series: {
      [ADAPTIVE]: adaptive.map((m) => [round(m.durationMs / scale / 1000), round(m.delayMs / scale / 1000)]),
      [FIXED]: fixed.map((m) => [round(m.durationMs / scale / 1000), round(m.delayMs / scale / 1000)]),
    },
    // one point per task: durations are drawn at random, so a line between them would mean nothing
    seriesAxes: { x: "task duration (s)", y: "detection delay (s)" },
  };
}

/** Percentiles in real-scale seconds, the share within the goal, the p95 of delay ÷ allowance, and polls. */
function summary(runs: Measured[], scale: number) {
  const allowance = (m: Measured) => Math.max(2_000 * scale, 0.1 * m.durationMs);
  const delays = runs.map((m) => m.delayMs / scale / 1000);
  const long = runs.filter((m) => m.durationMs >= 4.5 * MIN * scale).map((m) => m.polls);
  return {
    p50DelayS: round(percentile(delays, 0.5)),
    p95DelayS: round(percentile(delays, 0.95)),
    p95DetectS: round(
      percentile(
        runs.map((m) => m.detectMs / scale / 1000),
        0.95,
      ),
    ),
    sharePct: round((100 * runs.filter((m) => m.delayMs <= allowance(m)).length) / runs.length),
    p95Ratio: round(
      percentile(
        runs.map((m) => m.delayMs / allowance(m)),
        0.95,
      ),
    ),
    pollsMean: round(runs.reduce((sum, m) => sum + m.polls, 0) / runs.length),
    pollsAt5Min: long.length ? Math.max(...long) : 0,
    pollsMeanAt5Min: long.length ? round(long.reduce((sum, p) => sum + p, 0) / long.length) : 0,
    tasksAt5Min: long.length,
  };
}

function perModel(mode: Mode, runs: Measured[], scale: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const model of new Set(runs.map((m) => m.model))) {
    const s = summary(
      runs.filter((m) => m.model === model),
      scale,
    );
    out[`${mode}.${model}.p95DelayS`] = s.p95DelayS;
    out[`${mode}.${model}.sharePct`] = s.sharePct;
    out[`${mode}.${model}.pollsMean`] = s.pollsMean;
    out[`${mode}.${model}.pollsAt5Min`] = s.pollsAt5Min;
  }
  return out;
}
