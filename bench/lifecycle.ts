import { mkdir } from "node:fs/promises";
import { WebhookReceiver } from "@kiln/dev-tools";
import type { BenchContext, RowResult } from "./row.js";
import { CpuMeter, round } from "./proc-stats.js";
import { enqueueBare, enqueueKiln, imageRequest, sized } from "./sizes.js";
import {
  BaselineProcess,
  type BaselineMode,
  BENCH_API_KEY,
  BENCH_PREFIX,
  BenchStack,
  callsPer,
  callTotal,
  commandDelta,
  KILN_BIN,
  KilnWorkerProcess,
  waitUntil,
} from "./stack.js";
import { startS3 } from "../test/support/s3-server.js";

/**
 * Full lifecycles per second of one worker process: N jobs enqueued before the worker starts,
 * each submitted, polled once (the simulator finishes image tasks at once), its 16 KiB output
 * archived, and `generation.completed` signed and delivered to a local receiver; timed from the
 * worker being ready to the last webhook. Against bare BullMQ no-op jobs on the same Redis.
 */
export async function lifecycleRow(
  ctx: BenchContext,
  options: { id: string; title: string; s3: boolean; goal: number },
): Promise<RowResult> {
  const jobs = sized(ctx, "LIFECYCLE_JOBS", options.s3 ? 1000 : 2000, options.s3 ? 5000 : 10000);
  const stack = await new BenchStack().start(["--image-ms", "0", "--image-bytes", String(16 * 1024)]);
  const receiver = new WebhookReceiver(stack.webhookSecret);
  const s3 = options.s3 ? await startS3() : undefined;
  try {
    const hooks = await receiver.start();
    await enqueueKiln(stack.redisUrl, jobs, (i) => imageRequest(i, hooks));
    const archive: Record<string, string> = s3
      ? {
          S3_ENDPOINT: s3.endpoint,
          S3_BUCKET: s3.bucket,
          S3_REGION: s3.region,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
          S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
        }
      : { ARCHIVE_DIR: `${ctx.scratchDir}/archive` };
    // the first poll 2 ms after the submit: the poll delay does not bound the rate
    const env = stack.workerEnv({ KILN_POLL_SCALE: "0.001", KILN_CONCURRENCY: "50", ...archive });
    const meters = { "redis-server": stack.redisPid, simulator: stack.simPid, ...(s3?.pid ? { "S3 server": s3.pid } : {}) };
    const measure = async (bin: string, pass: number) => {
      const worker = stack.own(
        new KilnWorkerProcess(
          env,
          ctx.scratchDir,
          // BENCH_CPU_PROF=<dir>: the worker runs under --cpu-prof into that directory
          process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : [],
          bin,
        ),
      );
      if (pass > 0) await enqueueKiln(stack.redisUrl, jobs, (i) => imageRequest(pass * jobs + i, hooks));
      return timedLifecycles(stack, worker, receiver, meters, jobs * (pass + 1), jobs);
    };
    // BENCH_COMPARE_BIN=<another checkout's bin/kiln.js>: that build runs the same lifecycles in
    // this run, alternating with this one (BENCH_COMPARE_PASSES runs each, default 4), and the row reports the ratio of their median CPU per job
    const compareBin = process.env.BENCH_COMPARE_BIN;
    const passes = compareBin ? Number(process.env.BENCH_COMPARE_PASSES ?? 4) : 1;
    const runs: Array<{ build: "this" | "that"; run: Lifecycles }> = [];
    for (let pass = 0; pass < (compareBin ? 2 * passes : 1); pass++) {
      // ABBA order (this, that, that, this, ...): a drift over the run weighs on both builds alike
      const build = [0, 3].includes(pass % 4) ? "this" : "that";
      runs.push({ build, run: await measure(build === "this" ? KILN_BIN : compareBin!, pass) });
    }
    const kiln = runs[0]!.run;
    const { seconds: kilnSeconds, cpu: kilnCpu, commands: kilnCommands } = kiln;
    const kilnRate = jobs / kilnSeconds;
    ctx.log(`kiln: ${jobs} lifecycles in ${kilnSeconds.toFixed(1)} s`);
    const perJob = (run: Lifecycles) => run.cpu["worker CPU ms"]! / jobs;
    const cpuOf = (build: "this" | "that") => runs.filter((r) => r.build === build).map((r) => perJob(r.run));
    const comparison: Record<string, string | number> = compareBin
      ? {
          "compared build": compareBin,
          "worker CPU ms per job, this build (each run)": cpuOf("this")
            .map((v) => round(v, 2))
            .join(", "),
          "worker CPU ms per job, compared build (each run)": cpuOf("that")
            .map((v) => round(v, 2))
            .join(", "),
          "worker CPU per job, this build / compared build (medians)": round(median(cpuOf("this")) / median(cpuOf("that")), 3),
        }
      : {};

    await enqueueBare(stack.redisUrl, "bare-noop", jobs);
    const {
      rate: bareRate,
      usage: bareUsage,
      commands: bareCommands,
    } = await untilTarget(stack, "noop", { queue: "bare-noop" }, jobs, `${jobs} no-op jobs done`);
    const ratio = kilnRate / bareRate;
    const handmade = s3 ? undefined : await handmadePipeline(stack, ctx, jobs, hooks);
    return {
      id: options.id,
      title: options.title,
      kiln: { value: round(kilnRate), unit: "jobs/s" },
      baseline: { value: round(bareRate), unit: "jobs/s", name: "bare BullMQ no-op jobs" },
      ratio: round(ratio, 3),
      goal: `≥ ${options.goal * 100}% of the no-op rate`,
      met: ratio >= options.goal,
      context: {
        jobs,
        "kiln s": round(kilnSeconds, 2),
        "worker CPU ms per job": round(kilnCpu["worker CPU ms"]! / jobs, 2),
        ...comparison,
        "baseline CPU ms per job": round(bareUsage["baseline CPU ms"]! / jobs, 3),
        ...(handmade
          ? {
              "handmade pipeline jobs/s (same work, no state kept)": round(handmade.rate),
              "handmade pipeline CPU ms per job": round(handmade.cpuMs / jobs, 2),
              "kiln / handmade pipeline": round(kilnRate / handmade.rate, 3),
              "handmade pipeline / no-op": round(handmade.rate / bareRate, 3),
            }
          : {}),
        // script calls are the round trips BullMQ and kiln send; the rest run inside the scripts
        "kiln Redis script calls per job": round((kilnCommands.evalsha ?? 0) / jobs, 2),
        "baseline Redis script calls per job": round((bareCommands.evalsha ?? 0) / jobs, 2),
        "kiln Redis commands per job (scripts included)": round(callTotal(kilnCommands) / jobs, 1),
        "baseline Redis commands per job (scripts included)": round(callTotal(bareCommands) / jobs, 1),
        "kiln commands per job": callsPer(kilnCommands, jobs),
        ...(s3 ? { "S3 server": s3.source } : {}),
        ...Object.fromEntries(Object.entries(kilnCpu).map(([k, v]) => [`kiln run: ${k}`, v])),
        ...Object.fromEntries(Object.entries(bareUsage).map(([k, v]) => [`baseline run: ${k}`, v])),
      },
    };
  } finally {
    await receiver.stop();
    await s3?.stop();
    await stack.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

type Lifecycles = { seconds: number; cpu: Record<string, number>; commands: Record<string, number> };

/** Starts `worker` and times it from ready until `total` verified `generation.completed` webhooks arrived (the last `jobs` of them its own). */
async function timedLifecycles(
  stack: BenchStack,
  worker: KilnWorkerProcess,
  receiver: WebhookReceiver,
  meters: Record<string, number>,
  total: number,
  jobs: number,
): Promise<Lifecycles> {
  await worker.start();
  const c0 = await stack.commandCalls();
  const cpu = new CpuMeter({ worker: worker.pid, ...meters }).start();
  const started = Date.now();
  const completed = () => receiver.received.filter((r) => r.payload.type === "generation.completed" && r.verified).length;
  await waitUntil(() => completed() >= total, 600_000, `${jobs} verified generation.completed webhooks`, 50);
  const seconds = (Math.max(...receiver.received.map((r) => r.at)) - started) / 1000;
  const usage = cpu.stop();
  const commands = commandDelta(c0, await stack.commandCalls());
  await worker.stop();
  return { seconds, cpu: usage, commands };
}

/**
 * The same lifecycle done by hand in a bare BullMQ processor (submit, one status request, the
 * output to a file, a signed webhook POSTed to the same receiver), no state kept between steps: what
 * the work itself costs, so the note can say how much of the gap to the no-op rate is kiln's.
 */
async function handmadePipeline(stack: BenchStack, ctx: BenchContext, jobs: number, webhookUrl: string) {
  const archiveDir = `${ctx.scratchDir}/handmade`;
  await mkdir(archiveDir, { recursive: true });
  await enqueueBare(stack.redisUrl, "bare-pipeline", jobs, (i) => ({ prompt: `handmade image ${i}` }));
  const config = {
    queue: "bare-pipeline",
    simUrl: stack.simUrl,
    apiKey: BENCH_API_KEY,
    archiveDir,
    webhookUrl,
    webhookSecret: stack.webhookSecret,
  };
  const { rate, usage } = await untilTarget(stack, "pipeline", config, jobs, `${jobs} handmade lifecycles done`);
  ctx.log(`handmade pipeline: ${jobs} lifecycles at ${rate.toFixed(0)}/s`);
  return { rate, cpuMs: usage["baseline CPU ms"]! };
}

/**
 * Runs a baseline (50 slots, on the stack's Redis) until it has done `jobs` jobs: its rate from
 * ready to done, its and redis-server's CPU, and the Redis commands meanwhile.
 */
async function untilTarget(stack: BenchStack, mode: BaselineMode, config: Record<string, unknown>, jobs: number, what: string) {
  const bare = stack.own(
    new BaselineProcess(mode, { redisUrl: stack.redisUrl, prefix: BENCH_PREFIX, concurrency: 50, target: jobs, ...config }),
  );
  await bare.start();
  const c0 = await stack.commandCalls();
  const cpu = new CpuMeter({ baseline: bare.pid, "redis-server": stack.redisPid }).start();
  await bare.until(() => bare.report.doneAt !== undefined, 600_000, what);
  const usage = cpu.stop();
  const commands = commandDelta(c0, await stack.commandCalls());
  await bare.stop();
  return { rate: jobs / ((bare.report.doneAt! - bare.report.readyAt) / 1000), usage, commands };
}
