import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { Queue } from "bullmq";
import { request } from "undici";
import { createLogger } from "../../src/logger.js";
import { GenerationClient } from "../../src/producers/generation-client.js";
import { findModel } from "../../src/providers/model-registry.js";
import { TokenHubProvider } from "../../src/providers/tokenhub/tokenhub-provider.js";
import { SUBMIT_SHARE } from "../../src/inflight/inflight-slots.js";
import { rateWindowFor } from "../../src/rate-limits/queue-limiter.js";
import { logUniform, percentile, prefixed, round, seeded, stateOf, waitAllDone } from "../detection-common.js";
import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { sleep } from "../sizes.js";
import { BENCH_API_KEY, BENCH_PREFIX, BenchStack, KilnWorkerProcess } from "../stack.js";

/**
 * Detection under a request budget: N TokenHub videos (hy-video-1.5, which reports progress)
 * enqueued at once, their durations spread log-uniformly from 30 s to 10 min, behind a provider
 * that answers 429 beyond 20 requests per second, submits and status queries alike; kiln runs
 * with `KILN_TOKENHUB_RATE=20`. The baseline is a round-robin poller spending the same budget
 * through the same TokenHub client: one sliding window of 20 requests/s, submits given the same
 * share kiln gives them (while submits wait, polls fill at most 1 − SUBMIT_SHARE of the window),
 * and every pending task polled in turn. Both run at once, each against its own simulator and
 * redis-server processes; kiln in a worker process of its own, the baseline in the bench's.
 *
 * Detection delay: the task's end at the provider to kiln's job completing (BullMQ's
 * `finishedOn`, after the archive), or to the baseline's status answer that saw it done. Without
 * --full, every duration and the rate are scaled by 0.2 (100 requests/s, tasks of 6 s–2 min).
 */
export const row: BenchRow = {
  id: "detection-rate",
  title: "detection delay behind a rate of 20 requests/s (submits and polls), 2,000 videos of 30 s–10 min",
  run,
};

const RATE = 20;
const MODEL = "hy-video-1.5";

interface Measured {
  durationMs: number;
  /** Task done at the provider → job done (kiln) or the answer that saw it done (baseline). */
  delayMs: number;
  /** Task done → the status answer that saw it done (kiln's job then archives before it is done). */
  detectMs?: number;
  polls: number;
}

interface Run {
  measured: Measured[];
  rateLimited: number;
  submitSeconds: number;
  queries: number;
  seconds: number;
}

async function run(context: BenchContext): Promise<RowResult> {
  const scale = context.full ? 1 : 0.2;
  const count = Number(process.env.BENCH_DETECTION_RATE_TASKS ?? 2000);
  const random = seeded("detection-rate");
  const durations = Array.from({ length: count }, () => Math.round(logUniform(random, 30_000, 600_000) * scale));
  const rate = RATE / scale;
  context.log(`detection-rate: ${count} videos of 30 s–10 min, ${RATE} requests/s, time scale ${scale}; kiln and round-robin at once`);
  const [kiln, robin] = await Promise.all([runKiln(durations, scale, rate, context), runRoundRobin(durations, rate, context)]);
  return resultOf(kiln, robin, scale, count);
}

/** A redis-server and a simulator process that answers 429 beyond `rate` requests per second. */
function stackFor(rate: number): Promise<BenchStack> {
  return new BenchStack().start(["--rate-per-second", String(rate), "--video-bytes", "16384", "--seed", "detection-rate"]);
}

interface SimStats {
  submissions: Array<{ taskId: string; prompt: string; at: number }>;
  queries: number;
  rateLimited: number;
}

async function simStats(stack: BenchStack): Promise<SimStats> {
  const answer = await request(`${stack.simUrl}/__simulator/stats`);
  return (await answer.body.json()) as SimStats;
}

/** When each task ended at the provider: its submission plus the duration its prompt set. */
function doneTimes(stats: SimStats): Map<string, { doneAt: number; durationMs: number }> {
  return new Map(
    stats.submissions.map((s) => {
      const durationMs = Number(/\[sim:ms=(\d+)\]/.exec(s.prompt)?.[1]);
      return [s.taskId, { doneAt: s.at + durationMs, durationMs }];
    }),
  );
}

/** Seconds from the first submission to the last. */
function submitSpan(stats: SimStats): number {
  const times = stats.submissions.map((s) => s.at);
  return times.length > 1 ? (Math.max(...times) - Math.min(...times)) / 1000 : 0;
}

async function runKiln(durations: number[], scale: number, rate: number, context: BenchContext): Promise<Run> {
  const stack = await stackFor(rate);
  const worker = stack.own(
    new KilnWorkerProcess(
      stack.workerEnv({
        KILN_TOKENHUB_RATE: String(rate),
        KILN_POLL_SCALE: String(scale),
        ARCHIVE_DIR: await mkdtemp(join(context.scratchDir, "detection-rate-")),
      }),
      context.scratchDir,
    ),
  );
  const client = new GenerationClient({ redisUrl: stack.redisUrl, prefix: BENCH_PREFIX });
  const queue = new Queue("generate-tokenhub", { connection: { url: stack.redisUrl }, prefix: BENCH_PREFIX });
  try {
    const ids: string[] = [];
    for (const [i, ms] of durations.entries())
      ids.push(await client.enqueue({ provider: "tokenhub", model: MODEL, input: { prompt: `rate ${i} [sim:ms=${ms}]` } }));
    const started = Date.now();
    await worker.start();
    await waitAllDone(queue, ids.length, "detection-rate bench");
    const seconds = (Date.now() - started) / 1000;
    const stats = await simStats(stack);
    context.log(
      `detection-rate: kiln finished ${ids.length} tasks in ${seconds.toFixed(1)} s; ${stats.queries} queries, ${stats.rateLimited} answered 429`,
    );
    const done = doneTimes(stats);
    const measured = await Promise.all(
      ids.map(async (id) => {
        const job = await queue.getJob(id);
        const state = stateOf(job);
        const task = state?.taskId ? done.get(state.taskId) : undefined;
        if (!job?.finishedOn || !task) throw new Error(`detection-rate bench: job ${id} has no finish time or task`);
        return {
          durationMs: task.durationMs,
          delayMs: job.finishedOn - task.doneAt,
          detectMs: (state?.providerCompletedAt ?? job.finishedOn) - task.doneAt,
          polls: state?.polls ?? 0,
        };
      }),
    );
    return { measured, rateLimited: stats.rateLimited, submitSeconds: submitSpan(stats), queries: stats.queries, seconds };
  } finally {
    await queue.close();
    await client.close();
    await stack.stop();
  }
}

/**
 * The baseline: one loop spending at most `rate` requests in any window (kiln's margin
 * included). While tasks wait to be submitted, polls take at most (1 − SUBMIT_SHARE) of the
 * window and submits the rest; every pending task is polled in turn.
 */
async function runRoundRobin(durations: number[], rate: number, context: BenchContext): Promise<Run> {
  const stack = await stackFor(rate);
  const log = createLogger({ level: "silent" });
  const provider = new TokenHubProvider({ apiKey: BENCH_API_KEY, baseUrls: [stack.simUrl], log });
  const model = findModel("tokenhub", MODEL)!;
  const started = Date.now();
  const toSubmit = durations.map((ms, i) => ({ i, ms }));
  const ring: Array<{ taskId: string; polls: number }> = [];
  const seen: Array<{ taskId: string; at: number; polls: number }> = [];
  const window: Array<{ at: number; poll: boolean }> = [];
  const pollRoom = rate - Math.floor(rate * SUBMIT_SHARE);
  const windowMs = rateWindowFor(rate).windowMs;
  const requests = new Set<Promise<void>>();
  try {
    while (seen.length < durations.length) {
      const now = Date.now();
      while (window.length > 0 && window[0]!.at <= now - windowMs) window.shift();
      const polls = window.filter((w) => w.poll).length;
      if (window.length >= rate) {
        await sleep(window[0]!.at + windowMs - now);
        continue;
      }
      const submit = toSubmit.length > 0 && (ring.length === 0 || polls >= pollRoom);
      if (!submit && ring.length === 0) {
        await sleep(5);
        continue;
      }
      window.push({ at: now, poll: !submit });
      const call = submit ? submitOne(toSubmit.shift()!) : pollOne(ring.shift()!);
      requests.add(call);
      void call.finally(() => requests.delete(call));
    }
    await Promise.allSettled([...requests]);
    const seconds = (Date.now() - started) / 1000;
    const stats = await simStats(stack);
    context.log(
      `detection-rate: round-robin finished in ${seconds.toFixed(1)} s; ${stats.queries} queries, ${stats.rateLimited} answered 429`,
    );
    const done = doneTimes(stats);
    const measured = seen.map((s) => {
      const task = done.get(s.taskId)!;
      return { durationMs: task.durationMs, delayMs: s.at - task.doneAt, polls: s.polls };
    });
    return { measured, rateLimited: stats.rateLimited, submitSeconds: submitSpan(stats), queries: stats.queries, seconds };
  } finally {
    await Promise.allSettled([...requests]);
    await stack.stop();
  }

  async function submitOne(task: { i: number; ms: number }): Promise<void> {
    try {
      const answer = await provider.submit(model, { prompt: `rate ${task.i} [sim:ms=${task.ms}]` });
      if (answer.type !== "task") throw new Error("detection-rate bench: a video submit answered without a task");
      ring.push({ taskId: answer.taskId, polls: 0 });
    } catch {
      toSubmit.unshift(task); // a 429: submitted again in turn
    }
  }

  async function pollOne(task: { taskId: string; polls: number }): Promise<void> {
    let status;
    try {
      status = await provider.poll(model, task.taskId);
    } catch {
      ring.push(task); // a 429: polled again in turn
      return;
    }
    task.polls++;
    if (status.state === "pending") ring.push(task);
    else seen.push({ taskId: task.taskId, at: Date.now(), polls: task.polls });
  }
}

const KILN = "kiln (learned durations and progress, within the rate)";
const ROBIN = "round-robin poller (same budget)";

function resultOf(kiln: Run, robin: Run, scale: number, count: number): RowResult {
  const k = summary(kiln, scale);
  const r = summary(robin, scale);
  const ratio = k.p95DelayS > 0 ? r.p95DelayS / k.p95DelayS : undefined;
  const counts = (run: Run) => ({
    answered429: run.rateLimited,
    queries: run.queries,
    submitsSpanS: round(run.submitSeconds / scale),
    // submits per second at real scale while they went on, as a share of the rate
    submitsPerSecondPctOfRate: round((count / Math.max(run.submitSeconds / scale, 1e-3) / RATE) * 100),
    runS: round(run.seconds / scale),
  });
  return {
    id: row.id,
    title: row.title,
    kiln: { value: k.p95DelayS, unit: "s p95 detection delay" },
    baseline: { name: "round-robin poller spending the same budget", value: r.p95DelayS, unit: "s p95 detection delay" },
    ratio: ratio === undefined ? undefined : round(ratio),
    goal: "p95 detection delay ≥ 3× better than the round-robin poller's (ratio = round-robin ÷ kiln), 0 answers 429",
    met: ratio !== undefined && ratio >= 3 && kiln.rateLimited === 0,
    context: {
      tasks: count,
      rate: `${RATE} requests/s (submits and status queries), enforced by the simulator with 429`,
      timeScale: scale,
      note: scale === 1 ? "real time" : `every duration ×${scale} and the rate ÷${scale}; seconds below are converted back to real scale`,
      "submit share while submits wait (at least)": `${Math.round(SUBMIT_SHARE * 100)}% of the rate`,
      ...prefixed("kiln", { ...k, ...counts(kiln) }),
      ...prefixed("roundRobin", { ...r, ...counts(robin) }),
    },
    series: {
      [KILN]: kiln.measured.map((m) => [round(m.durationMs / scale / 1000), round(m.delayMs / scale / 1000)]),
      [ROBIN]: robin.measured.map((m) => [round(m.durationMs / scale / 1000), round(m.delayMs / scale / 1000)]),
    },
    // one point per task: durations are drawn at random, so a line between them would mean nothing
    seriesAxes: { x: "task duration (s)", y: "detection delay (s)" },
  };
}

function summary(run: Run, scale: number) {
  const delays = run.measured.map((m) => m.delayMs / scale / 1000);
  return {
    p50DelayS: round(percentile(delays, 0.5)),
    p95DelayS: round(percentile(delays, 0.95)),
    maxDelayS: round(Math.max(...delays)),
    // kiln's job ends after the archive: the detection alone, for the record
    p95DetectS: round(
      percentile(
        run.measured.map((m) => (m.detectMs ?? m.delayMs) / scale / 1000),
        0.95,
      ),
    ),
    pollsMean: round(run.measured.reduce((sum, m) => sum + m.polls, 0) / run.measured.length),
    pollsMax: Math.max(...run.measured.map((m) => m.polls)),
  };
}
