import { mkdir } from "node:fs/promises";
import { WebhookReceiver } from "../src/simulator/webhook-receiver.js";
import type { BenchContext, RowResult } from "./row.js";
import { CpuMeter, round } from "./proc-stats.js";
import { enqueueBare, enqueueKiln, imageRequest, sized } from "./sizes.js";
import { BaselineProcess, BENCH_API_KEY, BENCH_PREFIX, BenchStack, commandDelta, KilnWorkerProcess, waitUntil } from "./stack.js";
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
    const worker = stack.own(
      new KilnWorkerProcess(
        stack.workerEnv({ KILN_POLL_SCALE: "0.001", KILN_CONCURRENCY: "50", ...archive }),
        ctx.scratchDir,
        // BENCH_CPU_PROF=<dir>: the worker runs under --cpu-prof into that directory
        process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : [],
      ),
    );
    await worker.start();
    const c0 = await stack.commandCalls();
    const cpu = new CpuMeter({
      worker: worker.pid,
      "redis-server": stack.redisPid,
      simulator: stack.simPid,
      ...(s3?.pid ? { "S3 server": s3.pid } : {}),
    }).start();
    const started = Date.now();
    const completed = () => receiver.received.filter((r) => r.payload.type === "generation.completed" && r.verified).length;
    await waitUntil(() => completed() >= jobs, 600_000, `${jobs} verified generation.completed webhooks`, 50);
    const kilnSeconds = (Math.max(...receiver.received.map((r) => r.at)) - started) / 1000;
    const kilnCpu = cpu.stop();
    const kilnCommands = commandDelta(c0, await stack.commandCalls());
    await worker.stop();
    const kilnRate = jobs / kilnSeconds;
    ctx.log(`kiln: ${jobs} lifecycles in ${kilnSeconds.toFixed(1)} s`);

    await enqueueBare(stack.redisUrl, "bare-noop", jobs);
    const bare = stack.own(
      new BaselineProcess("noop", { redisUrl: stack.redisUrl, prefix: BENCH_PREFIX, queue: "bare-noop", concurrency: 50, target: jobs }),
    );
    await bare.start();
    const bc0 = await stack.commandCalls();
    const bareCpu = new CpuMeter({ baseline: bare.pid, "redis-server": stack.redisPid }).start();
    await bare.until(() => bare.report.doneAt !== undefined, 600_000, `${jobs} no-op jobs done`);
    const bareUsage = bareCpu.stop();
    const bareCommands = commandDelta(bc0, await stack.commandCalls());
    await bare.stop();
    const bareRate = jobs / ((bare.report.doneAt! - bare.report.readyAt) / 1000);
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
        "baseline CPU ms per job": round(bareUsage["baseline CPU ms"]! / jobs, 3),
        // script calls are the round trips BullMQ and kiln send; the rest run inside the scripts
        ...(handmade
          ? {
              "handmade pipeline jobs/s (same work, no state kept)": round(handmade.rate),
              "handmade pipeline CPU ms per job": round(handmade.cpuMs / jobs, 2),
              "kiln / handmade pipeline": round(kilnRate / handmade.rate, 3),
              "handmade pipeline / no-op": round(handmade.rate / bareRate, 3),
            }
          : {}),
        "kiln Redis script calls per job": round((kilnCommands.evalsha ?? 0) / jobs, 2),
        "baseline Redis script calls per job": round((bareCommands.evalsha ?? 0) / jobs, 2),
        "kiln Redis commands per job (scripts included)": round(sum(kilnCommands) / jobs, 1),
        "baseline Redis commands per job (scripts included)": round(sum(bareCommands) / jobs, 1),
        "kiln commands per job": perJob(kilnCommands, jobs),
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

/**
 * The same lifecycle done by hand in a bare BullMQ processor (submit, one status request, the
 * output to a file, a signed webhook POSTed to the same receiver), no state kept between steps: what
 * the work itself costs, so the note can say how much of the gap to the no-op rate is kiln's.
 */
async function handmadePipeline(stack: BenchStack, ctx: BenchContext, jobs: number, webhookUrl: string) {
  const archiveDir = `${ctx.scratchDir}/handmade`;
  await mkdir(archiveDir, { recursive: true });
  await enqueueBare(stack.redisUrl, "bare-pipeline", jobs, (i) => ({ prompt: `handmade image ${i}` }));
  const handmade = stack.own(
    new BaselineProcess("pipeline", {
      redisUrl: stack.redisUrl,
      prefix: BENCH_PREFIX,
      queue: "bare-pipeline",
      concurrency: 50,
      target: jobs,
      simUrl: stack.simUrl,
      apiKey: BENCH_API_KEY,
      archiveDir,
      webhookUrl,
      webhookSecret: stack.webhookSecret,
    }),
  );
  await handmade.start();
  const cpu = new CpuMeter({ baseline: handmade.pid }).start();
  await handmade.until(() => handmade.report.doneAt !== undefined, 600_000, `${jobs} handmade lifecycles done`);
  const usage = cpu.stop();
  await handmade.stop();
  const rate = jobs / ((handmade.report.doneAt! - handmade.report.readyAt) / 1000);
  ctx.log(`handmade pipeline: ${jobs} lifecycles at ${rate.toFixed(0)}/s`);
  return { rate, cpuMs: usage["baseline CPU ms"]! };
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** The commands with the most calls, per job: `evalsha 6.00, xadd 12.0, …`. */
function perJob(counts: Record<string, number>, jobs: number): string {
  return Object.entries(counts)
    .slice(0, 12)
    .map(([name, calls]) => `${name} ${(calls / jobs).toFixed(2)}`)
    .join(", ");
}
