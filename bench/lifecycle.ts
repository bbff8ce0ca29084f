import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
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
import { startKeepAliveS3 } from "./keep-alive-s3.js";
import type { S3Handle } from "../test/support/s3-server.js";

/** The goal: kiln's worker CPU per job at most this multiple of the handmade pipeline's. */
const CPU_GOAL = 1.25;

/**
 * Full lifecycles of one worker process: N jobs enqueued before the worker starts, each
 * submitted, polled once (the simulator finishes image tasks at once), its 16 KiB output
 * archived, and `generation.completed` signed and delivered to a local receiver; timed from the
 * worker being ready to the last webhook. Its baseline is the handmade pipeline: the same work
 * (submit, status request, download to the same store, signed webhook) in one visit of a bare
 * BullMQ processor, no state kept. The figure is worker CPU per job, kiln against that, both
 * measured in the same run, alternating (kiln, handmade, durable, then the reverse, ...:
 * `BENCH_LIFECYCLE_PASSES` each, default 2), medians compared. The durable side, the handmade
 * pipeline with the least BullMQ and Redis kiln's guarantees take, is the floor of the ratio;
 * bare BullMQ no-op jobs on the same Redis give the rates context.
 */
export async function lifecycleRow(
  ctx: BenchContext,
  options: { id: string; title: string; s3: boolean; noopGoal: number },
): Promise<RowResult> {
  const jobs = sized(ctx, "LIFECYCLE_JOBS", options.s3 ? 1000 : 2000, options.s3 ? 5000 : 10000);
  const stack = await new BenchStack().start(["--image-ms", "0", "--image-bytes", String(16 * 1024)]);
  const receiver = new WebhookReceiver(stack.webhookSecret);
  const s3 = options.s3 ? await startKeepAliveS3() : undefined;
  try {
    const hooks = await receiver.start();
    const meters = { "redis-server": stack.redisPid, simulator: stack.simPid, ...(s3?.pid ? { "S3 server": s3.pid } : {}) };
    const kilnEnv = stack.workerEnv({
      // the first poll 2 ms after the submit: the poll delay does not bound the rate
      KILN_POLL_SCALE: "0.001",
      KILN_CONCURRENCY: "50",
      ...(s3 ? s3Env(s3) : { ARCHIVE_DIR: `${ctx.scratchDir}/archive` }),
    });
    let kilnJobs = 0;
    const kilnRun = async (bin: string): Promise<Lifecycles> => {
      const worker = stack.own(new KilnWorkerProcess(kilnEnv, ctx.scratchDir, prof, bin));
      await enqueueKiln(stack.redisUrl, jobs, (i) => imageRequest(kilnJobs + i, hooks));
      kilnJobs += jobs;
      return timedLifecycles(stack, worker, receiver, meters, jobs);
    };
    const handmadeDir = `${ctx.scratchDir}/handmade`;
    await mkdir(handmadeDir, { recursive: true });
    const handmadeRun = (durable: boolean) =>
      handmadePipeline(stack, jobs, hooks, s3 ? { s3 } : { archiveDir: handmadeDir }, meters, durable);

    // BENCH_COMPARE_BIN=<another checkout's bin/kiln.js>: that build runs the same lifecycles in
    // this run too (BENCH_COMPARE_PASSES each, default 4), and the row reports the ratio of the medians
    const compareBin = process.env.BENCH_COMPARE_BIN;
    const passes = Number((compareBin ? process.env.BENCH_COMPARE_PASSES : process.env.BENCH_LIFECYCLE_PASSES) ?? (compareBin ? 4 : 2));
    const sides: Side[] = ["kiln", "handmade", "durable", ...(compareBin ? (["compared"] as const) : [])];
    const runs: Array<{ side: Side; run: Lifecycles }> = [];
    for (let pass = 0; pass < passes; pass++) {
      // ABBA order: a drift over the run (another process taking CPU) weighs on every side alike
      for (const side of pass % 2 ? [...sides].reverse() : sides) {
        const run =
          side === "handmade" || side === "durable"
            ? await handmadeRun(side === "durable")
            : await kilnRun(side === "kiln" ? KILN_BIN : compareBin!);
        ctx.log(`${side}: ${jobs} lifecycles in ${run.seconds.toFixed(1)} s, ${(run.cpuMs / jobs).toFixed(2)} ms CPU per job`);
        runs.push({ side, run });
      }
    }
    const of = (side: Side) => runs.filter((r) => r.side === side).map((r) => r.run);
    const perJob = (side: Side) => of(side).map((r) => r.cpuMs / jobs);
    const rate = (side: Side) => median(of(side).map((r) => jobs / r.seconds));
    const kilnCpu = median(perJob("kiln"));
    const handmadeCpu = median(perJob("handmade"));
    const durableCpu = median(perJob("durable"));
    const ratio = kilnCpu / handmadeCpu;
    const kiln = of("kiln")[0]!;
    const handmade = of("handmade")[0]!;

    await enqueueBare(stack.redisUrl, "bare-noop", jobs);
    const noop = await untilTarget(stack, "noop", { queue: "bare-noop" }, jobs, `${jobs} no-op jobs done`);
    const noopRate = jobs / noop.seconds;
    return {
      id: options.id,
      title: options.title,
      kiln: { value: round(kilnCpu, 2), unit: "ms CPU per job" },
      baseline: {
        value: round(handmadeCpu, 2),
        unit: "ms CPU per job",
        name: "handmade pipeline (the same work in one bare BullMQ visit, no state kept)",
      },
      ratio: round(ratio, 3),
      goal: `kiln CPU per job ≤ ${CPU_GOAL}× the handmade pipeline's`,
      met: ratio <= CPU_GOAL,
      context: {
        jobs,
        ...(s3 ? { "S3 server": s3.name } : {}),
        "runs per side (alternating, medians compared)": passes,
        "kiln worker CPU ms per job (each run)": list(perJob("kiln")),
        "handmade pipeline CPU ms per job (each run)": list(perJob("handmade")),
        // the least BullMQ and Redis that kiln's guarantees take, by hand: the floor of the ratio above
        "handmade with kiln's guarantees CPU ms per job (each run)": list(perJob("durable")),
        "handmade with kiln's guarantees / handmade pipeline (medians)": round(durableCpu / handmadeCpu, 3),
        "kiln / handmade with kiln's guarantees (medians)": round(kilnCpu / durableCpu, 3),
        ...(compareBin
          ? {
              "compared build": buildOf(compareBin),
              "compared build worker CPU ms per job (each run)": list(perJob("compared")),
              "worker CPU per job, this build / compared build (medians)": round(kilnCpu / median(perJob("compared")), 3),
            }
          : {}),
        "kiln jobs/s": round(rate("kiln")),
        "handmade pipeline jobs/s": round(rate("handmade")),
        "handmade with kiln's guarantees jobs/s": round(rate("durable")),
        "kiln / handmade pipeline (jobs/s)": round(rate("kiln") / rate("handmade"), 3),
        "kiln s (first run)": round(kiln.seconds, 2),
        "no-op jobs/s (bare BullMQ, no work)": round(noopRate),
        "no-op CPU ms per job": round(noop.cpuMs / jobs, 3),
        [`kiln / no-op (jobs/s; earlier goal ≥ ${options.noopGoal})`]: round(rate("kiln") / noopRate, 3),
        "handmade pipeline / no-op (jobs/s)": round(rate("handmade") / noopRate, 3),
        // script calls are the round trips BullMQ and kiln send; the rest run inside the scripts
        "kiln Redis script calls per job": round((kiln.commands.evalsha ?? 0) / jobs, 2),
        "handmade Redis script calls per job": round((handmade.commands.evalsha ?? 0) / jobs, 2),
        "handmade with kiln's guarantees Redis script calls per job": round((of("durable")[0]!.commands.evalsha ?? 0) / jobs, 2),
        "no-op Redis script calls per job": round((noop.commands.evalsha ?? 0) / jobs, 2),
        "kiln Redis commands per job (scripts included)": round(callTotal(kiln.commands) / jobs, 1),
        "handmade Redis commands per job (scripts included)": round(callTotal(handmade.commands) / jobs, 1),
        "no-op Redis commands per job (scripts included)": round(callTotal(noop.commands) / jobs, 1),
        "kiln commands per job": callsPer(kiln.commands, jobs),
        "handmade commands per job": callsPer(handmade.commands, jobs),
        ...prefixed("kiln run (first): ", kiln.usage),
        ...prefixed("handmade run (first): ", handmade.usage),
        ...prefixed("no-op run: ", noop.usage),
      },
    };
  } finally {
    await receiver.stop();
    await s3?.stop();
    await stack.stop();
  }
}

/** `durable`: the handmade pipeline with the steps kiln's guarantees take (`durableLifecycle` of the bare worker). */
type Side = "kiln" | "handmade" | "durable" | "compared";

/** BENCH_CPU_PROF=<dir>: the kiln worker and the handmade pipeline run under --cpu-prof into that directory. */
const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : [];

/** One side's run: seconds from ready to done, the worker's CPU, every metered process's, the Redis commands meanwhile. */
type Lifecycles = { seconds: number; cpuMs: number; usage: Record<string, number>; commands: Record<string, number> };

const s3Env = (s3: S3Handle): Record<string, string> => ({
  S3_ENDPOINT: s3.endpoint,
  S3_BUCKET: s3.bucket,
  S3_REGION: s3.region,
  S3_ACCESS_KEY_ID: s3.accessKeyId,
  S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
});

/** The compared build by its commit (its checkout's HEAD), or its path when that is not a git checkout. */
function buildOf(bin: string): string {
  try {
    return `commit ${execFileSync("git", ["-C", dirname(bin), "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()}`;
  } catch {
    return bin;
  }
}

const list = (values: number[]) => values.map((v) => round(v, 2)).join(", ");
const prefixed = (prefix: string, usage: Record<string, number>) =>
  Object.fromEntries(Object.entries(usage).map(([k, v]) => [`${prefix}${k}`, v]));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Starts `worker` and times it from ready until `jobs` more verified `generation.completed` webhooks arrived. */
async function timedLifecycles(
  stack: BenchStack,
  worker: KilnWorkerProcess,
  receiver: WebhookReceiver,
  meters: Record<string, number>,
  jobs: number,
): Promise<Lifecycles> {
  await worker.start();
  const completed = () => receiver.received.filter((r) => r.payload.type === "generation.completed" && r.verified).length;
  // the handmade pipeline posts to the same receiver: only the webhooks from here on are this run's
  const before = completed();
  const c0 = await stack.commandCalls();
  const cpu = new CpuMeter({ worker: worker.pid, ...meters }).start();
  const started = Date.now();
  await waitUntil(() => completed() >= before + jobs, 600_000, `${jobs} verified generation.completed webhooks`, 50);
  const seconds = (Math.max(...receiver.received.map((r) => r.at)) - started) / 1000;
  const usage = cpu.stop();
  const commands = commandDelta(c0, await stack.commandCalls());
  await worker.stop();
  return { seconds, cpuMs: usage["worker CPU ms"]!, usage, commands };
}

/**
 * The same lifecycle done by hand in a bare BullMQ processor (submit, one status request, the
 * output to a file or to S3, a signed webhook POSTed to the same receiver), no state kept
 * between steps: what the work itself costs.
 */
async function handmadePipeline(
  stack: BenchStack,
  jobs: number,
  webhookUrl: string,
  store: { archiveDir: string } | { s3: S3Handle },
  meters: Record<string, number>,
  durable = false,
): Promise<Lifecycles> {
  const queue = durable ? "bare-durable" : "bare-pipeline";
  await enqueueBare(stack.redisUrl, queue, jobs, (i) => ({ prompt: `handmade image ${i}` }));
  const config = {
    queue,
    durable,
    simUrl: stack.simUrl,
    apiKey: BENCH_API_KEY,
    webhookUrl,
    webhookSecret: stack.webhookSecret,
    ...("s3" in store ? { s3: s3Config(store.s3) } : store),
  };
  const mode = "s3" in store ? "pipelineS3" : "pipeline";
  return untilTarget(stack, mode, config, jobs, `${jobs} handmade lifecycles done`, meters, prof);
}

const s3Config = ({ endpoint, region, bucket, accessKeyId, secretAccessKey, forcePathStyle }: S3Handle) => ({
  endpoint,
  region,
  bucket,
  accessKeyId,
  secretAccessKey,
  forcePathStyle,
});

/**
 * Runs a baseline (50 slots, on the stack's Redis) until it has done `jobs` jobs: its time from
 * ready to done, its CPU and that of the processes in `meters`, and the Redis commands meanwhile.
 */
async function untilTarget(
  stack: BenchStack,
  mode: BaselineMode,
  config: Record<string, unknown>,
  jobs: number,
  what: string,
  meters: Record<string, number> = { "redis-server": stack.redisPid },
  nodeArgs: string[] = [],
): Promise<Lifecycles> {
  const bare = stack.own(
    new BaselineProcess(mode, { redisUrl: stack.redisUrl, prefix: BENCH_PREFIX, concurrency: 50, target: jobs, ...config }, nodeArgs),
  );
  await bare.start();
  const c0 = await stack.commandCalls();
  const cpu = new CpuMeter({ baseline: bare.pid, ...meters }).start();
  await bare.until(() => bare.report.doneAt !== undefined, 600_000, what);
  const usage = cpu.stop();
  const commands = commandDelta(c0, await stack.commandCalls());
  await bare.stop();
  return { seconds: (bare.report.doneAt! - bare.report.readyAt) / 1000, cpuMs: usage["baseline CPU ms"]!, usage, commands };
}
