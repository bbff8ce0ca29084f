import type { BenchContext, BenchRow, RowResult } from "./row.js";
import { round } from "./proc-stats.js";
import { sized } from "./sizes.js";
import { BENCH_PREFIX, BenchStack, KilnWorkerProcess } from "./stack.js";
import { GenerationClient } from "../src/producers/generation-client.js";
import { runFairness, type FairnessOutcome } from "../test/support/fairness-scenario.js";

/** The scenario at 1/20 of its time: tasks of 1 s (20 s), web's first request 1.5 s (30 s) after the bulk, one per 50 ms (1 s). */
export const SCALE = 0.05;
const TASK_MS = 20_000 * SCALE;
const TRICKLE = 20;
/** The interactive tenant's weight in the weighted run. */
const WEB_WEIGHT = 20;

/** What makes the provider the bottleneck in a fairness row: its in-flight cap or its rate. */
export interface Bottleneck {
  id: string;
  title: string;
  /** In words, for the goal and the logs. */
  name: string;
  /** The worker's variables that set it. */
  env: Record<string, string>;
  /** Tasks it lets start per second, for the bound of web's wait; undefined when polls share it (a rate). */
  tasksPerSecond?: number;
}

/**
 * Fair shares behind a bottleneck: tenant bulk enqueues N tasks at once, then tenant web
 * enqueues 20 one after another; web's p95 wait from enqueue to submit, and bulk's throughput.
 * Three runs on fresh stacks with the same jobs: FIFO (the same requests without tenants,
 * which is how kiln served every tenant before fair shares), fair shares with equal weights,
 * and with web weighted 20. Bulk's task durations spread from 0.5× to 1.5× so its tasks do not
 * all end at once.
 */
export function fairnessRow(limit: Bottleneck): BenchRow {
  const row: BenchRow = {
    id: limit.id,
    title: limit.title,
    async run(ctx: BenchContext): Promise<RowResult> {
      const bulk = sized(ctx, "FAIRNESS_BULK", 600, 5000);
      const fifo = await runOnce(ctx, bulk, limit, { tenants: false });
      ctx.log(`FIFO: web's p95 ${fifo.p95Ms} ms, bulk ${round(fifo.bulkPerSecond ?? 0, 2)}/s`);
      const equal = await runOnce(ctx, bulk, limit, { tenants: true });
      ctx.log(`fair, equal weights: web's p95 ${equal.p95Ms} ms, bulk ${round(equal.bulkPerSecond ?? 0, 2)}/s`);
      const weighted = await runOnce(ctx, bulk, limit, { tenants: true, weights: `web=${WEB_WEIGHT}` });
      ctx.log(`fair, web=${WEB_WEIGHT}: web's p95 ${weighted.p95Ms} ms, bulk ${round(weighted.bulkPerSecond ?? 0, 2)}/s`);
      const share = (outcome: FairnessOutcome) => (outcome.bulkPerSecond ?? 0) / (fifo.bulkPerSecond ?? 1);
      const met = weighted.p95Ms <= TASK_MS && share(weighted) >= 0.95 && share(equal) >= 0.95;
      return {
        id: limit.id,
        title: row.title,
        kiln: { value: round(weighted.p95Ms / 1000, 2), unit: "s p95" },
        baseline: { value: round(fifo.p95Ms / 1000, 2), unit: "s p95", name: "FIFO (no tenants)" },
        ratio: round(weighted.p95Ms / fifo.p95Ms, 4),
        goal: `behind ${limit.name}: web's p95 wait ≤ one task duration (${TASK_MS / 1000} s) with web weighted ${WEB_WEIGHT}; bulk's throughput ≥ 95% of FIFO's`,
        met,
        context: {
          "time scale": SCALE,
          bottleneck: limit.name,
          "task s": TASK_MS / 1000,
          "bulk tasks": bulk,
          "web tasks": TRICKLE,
          "web every s": (1000 * SCALE) / 1000,
          "FIFO web p95 s": round(fifo.p95Ms / 1000, 2),
          "equal weights web p95 s": round(equal.p95Ms / 1000, 2),
          [`web=${WEB_WEIGHT} web p95 s`]: round(weighted.p95Ms / 1000, 2),
          // web asks 20 tasks/s of a cap that frees 10/s: even all of it cannot keep web's line short
          ...(limit.tasksPerSecond
            ? { "web p95 s with every free slot to web (bound)": round(boundP95(limit.tasksPerSecond, 1000 * SCALE) / 1000, 2) }
            : {}),
          "bulk/s FIFO": round(fifo.bulkPerSecond ?? 0, 2),
          "bulk/s equal weights (share of FIFO)": `${round(equal.bulkPerSecond ?? 0, 2)} (${round(100 * share(equal))}%)`,
          [`bulk/s web=${WEB_WEIGHT} (share of FIFO)`]: `${round(weighted.bulkPerSecond ?? 0, 2)} (${round(100 * share(weighted))}%)`,
        },
        series: {
          FIFO: fifo.waitsMs.map((ms, i) => [i, round(ms / 1000, 2)]),
          "fair, equal weights": equal.waitsMs.map((ms, i) => [i, round(ms / 1000, 2)]),
          [`fair, web=${WEB_WEIGHT}`]: weighted.waitsMs.map((ms, i) => [i, round(ms / 1000, 2)]),
        },
        seriesAxes: { x: "web's requests in enqueue order (count)", y: "wait from enqueue to submit (s)", joined: true },
      };
    },
  };
  return row;
}

async function runOnce(
  ctx: BenchContext,
  bulk: number,
  limit: Bottleneck,
  options: { tenants: boolean; weights?: string },
): Promise<FairnessOutcome> {
  const stack = await new BenchStack().start(["--image-ms", String(TASK_MS), "--image-bytes", "1024"]);
  const env = stack.workerEnv({
    KILN_POLL_SCALE: String(SCALE),
    ...limit.env,
    ARCHIVE_DIR: `${ctx.scratchDir}/archive`,
    ...(options.weights ? { KILN_TENANT_WEIGHTS: options.weights } : {}),
  });
  const worker = stack.own(new KilnWorkerProcess(env, ctx.scratchDir));
  const client = new GenerationClient({ redisUrl: stack.redisUrl, prefix: BENCH_PREFIX });
  try {
    await worker.start();
    return await runFairness({
      enqueue: (request) => client.enqueue(request),
      submissions: () => stack.simStats(),
      model: "hy-image-v3.0",
      bulk: {
        ...(options.tenants ? { tenant: "bulk" } : {}),
        count: bulk,
        everyMs: 0,
        afterMs: 0,
        durationMs: (i) => TASK_MS * (0.5 + ((i * 37) % 100) / 100),
      },
      trickle: { ...(options.tenants ? { tenant: "web" } : {}), count: TRICKLE, everyMs: 1000 * SCALE, afterMs: 30_000 * SCALE },
      drain: true,
      timeoutMs: bulk * TASK_MS + 60_000,
    });
  } finally {
    await client.close();
    await stack.stop();
  }
}

/** Web's p95 wait if every slot freed went to web: slots free at `perSecond`, web asks one every `everyMs`. */
function boundP95(perSecond: number, everyMs: number): number {
  const waits = Array.from({ length: TRICKLE }, (_, k) => Math.max(0, ((k + 1) * 1000) / perSecond - k * everyMs)).sort((a, b) => a - b);
  return waits[Math.ceil(0.95 * waits.length) - 1]!;
}
