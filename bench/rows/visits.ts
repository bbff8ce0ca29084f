import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { CpuMeter, round } from "../proc-stats.js";
import { enqueueBare, enqueueKiln, imageRequest, sized, sleep } from "../sizes.js";
import { Queue } from "bullmq";
import { generateQueueName } from "../../src/contract/queue-names.js";
import {
  BaselineProcess,
  type BaselineMode,
  BENCH_API_KEY,
  BENCH_PREFIX,
  BenchStack,
  callsPer,
  callTotal,
  commandDelta,
  KilnWorkerProcess,
  waitUntil,
} from "../stack.js";

/**
 * Poll visits per second of one worker process, every task still pending at the provider and
 * due again at once (poll delays scaled to ~0), against bare BullMQ re-polls (a processor that
 * only moves its job back to the delayed set) on the same redis-server. Also counts Redis
 * commands per visit: those run (INFO commandstats over the window, script internals
 * included) and those sent (MONITOR, for 3 s after the window).
 *
 * `BENCH_CPU_PROF=<dir>` runs the kiln worker with `--cpu-prof` into that directory.
 */
export const row: BenchRow = {
  id: "visits",
  title: "poll visits per second, one process (task still pending)",
  async run(ctx: BenchContext): Promise<RowResult> {
    const tasks = sized(ctx, "VISITS_TASKS", 1000, 2000);
    const windowMs = sized(ctx, "VISITS_WINDOW_S", 15, 30) * 1000;
    const stack = await new BenchStack().start(["--image-ms", String(1e10)]);
    try {
      await enqueueKiln(stack.redisUrl, tasks, (i) => imageRequest(i));
      await submitAll(stack, ctx, tasks);
      const prof = process.env.BENCH_CPU_PROF;
      const worker = await stack
        .own(
          new KilnWorkerProcess(
            stack.workerEnv({ KILN_POLL_SCALE: "0.00001", KILN_CONCURRENCY: "50" }),
            ctx.scratchDir,
            prof ? ["--cpu-prof", "--cpu-prof-dir", prof] : [],
          ),
        )
        .start();
      await sleep(2000);
      const q0 = await stack.simQueries();
      const c0 = await stack.commandCalls();
      const cpu = new CpuMeter({ worker: worker.pid, "redis-server": stack.redisPid, simulator: stack.simPid }).start();
      await sleep(windowMs);
      const kilnCpu = cpu.stop();
      const visits = (await stack.simQueries()) - q0;
      const kilnCommands = commandDelta(c0, await stack.commandCalls());
      const kilnSent = await stack.clientCommands(3000);
      await worker.stop();
      const kilnRate = visits / (windowMs / 1000);
      ctx.log(
        `visits: kiln ${round(kilnRate)} visits/s, ${round(callTotal(kilnSent.byCommand) / kilnSent.simQueries, 2)} Redis calls sent ` +
          `and ${round(callTotal(kilnCommands) / visits, 2)} commands run (scripts included) per visit`,
      );

      await enqueueBare(stack.redisUrl, "bare-repoll", tasks);
      const repolls = await measuredRepolls(stack, "repoll", { queue: "bare-repoll" }, windowMs);
      const { rate: bareRate, visits: bareVisits, usage: bareCpu, commands: bareCommands } = repolls;
      const bareSentFrom = { ...repolls.baseline.report };
      const bareSent = await stack.clientCommands(3000);
      const bareSentVisits = repolls.baseline.report.count - bareSentFrom.count;
      await repolls.baseline.stop();
      const ratio = kilnRate / bareRate;
      const withStatus = await repollsWithStatus(stack, tasks, windowMs);
      ctx.log(`bare re-polls with the status request: ${round(withStatus.rate)} visits/s`);
      return {
        id: "visits",
        title: row.title,
        kiln: { value: round(kilnRate), unit: "visits/s" },
        baseline: { value: round(bareRate), unit: "visits/s", name: "bare BullMQ delayed re-polls (moveToDelayed, no work)" },
        ratio: round(ratio, 3),
        goal: "≥ 50% of bare BullMQ re-polls",
        met: ratio >= 0.5,
        context: {
          "pending tasks": tasks,
          "window s": windowMs / 1000,
          "kiln Redis calls sent per visit": round(callTotal(kilnSent.byCommand) / kilnSent.simQueries, 2),
          "baseline Redis calls sent per visit": round(callTotal(bareSent.byCommand) / bareSentVisits, 2),
          "kiln calls sent": callsPer(kilnSent.byCommand, kilnSent.simQueries),
          "baseline calls sent": callsPer(bareSent.byCommand, bareSentVisits),
          "kiln Redis commands per visit": round(callTotal(kilnCommands) / visits, 2),
          "baseline Redis commands per visit": round(callTotal(bareCommands) / bareVisits, 2),
          "kiln commands": callsPer(kilnCommands, visits),
          "baseline commands": callsPer(bareCommands, bareVisits),
          "worker CPU ms per visit": round(kilnCpu["worker CPU ms"]! / visits, 3),
          "baseline CPU ms per visit": round(bareCpu["baseline CPU ms"]! / bareVisits, 3),
          "bare re-polls with the status request (visits/s)": round(withStatus.rate),
          "bare re-polls with the status request: CPU ms per visit": round(withStatus.cpuMsPerVisit, 3),
          "kiln / bare re-polls with the status request": round(kilnRate / withStatus.rate, 3),
          "bare re-polls with the status request / bare re-polls": round(withStatus.rate / bareRate, 3),
          ...prefixed("kiln run: ", kilnCpu),
          ...prefixed("baseline run: ", bareCpu),
        },
      };
    } finally {
      await stack.stop();
    }
  },
};

/**
 * Submits every task first, with polls far apart: with polls due at once, polls go before new
 * work, so the submits would wait behind them for ever. Then every parked job is made due now.
 */
async function submitAll(stack: BenchStack, ctx: BenchContext, tasks: number): Promise<void> {
  const submitter = await stack.own(new KilnWorkerProcess(stack.workerEnv({ KILN_POLL_SCALE: "10" }), ctx.scratchDir)).start();
  await waitUntil(async () => (await stack.simSubmissions()) >= tasks, 300_000, "every task submitted");
  await submitter.stop();
  const queue = new Queue(generateQueueName("tokenhub"), { connection: stack.redis, prefix: BENCH_PREFIX });
  await queue.promoteJobs();
  await queue.close();
}

/**
 * The same re-poll with the visit's own work added: one status request to the simulator for a
 * pending task (the ids kiln's jobs hold), no state kept. What a poll visit costs at the least,
 * so the note can say how much of the gap to the bare re-poll is kiln's.
 */
async function repollsWithStatus(stack: BenchStack, tasks: number, windowMs: number): Promise<{ rate: number; cpuMsPerVisit: number }> {
  const queue = new Queue(generateQueueName("tokenhub"), { connection: stack.redis, prefix: BENCH_PREFIX });
  const taskIds: string[] = [];
  for (const job of await queue.getJobs(["delayed", "wait", "prioritized"], 0, tasks - 1)) {
    const taskId = (job.progress as { taskId?: unknown } | undefined)?.taskId;
    if (typeof taskId === "string") taskIds.push(taskId);
  }
  await queue.close();
  if (taskIds.length === 0) throw new Error("no task ids in kiln's jobs to poll");
  await enqueueBare(stack.redisUrl, "bare-repoll-status", tasks, (i) => ({ taskId: taskIds[i % taskIds.length] }));
  const config = { queue: "bare-repoll-status", simUrl: stack.simUrl, apiKey: BENCH_API_KEY };
  const { baseline, rate, visits, usage } = await measuredRepolls(stack, "repollStatus", config, windowMs);
  await baseline.stop();
  return { rate, cpuMsPerVisit: usage["baseline CPU ms"]! / visits };
}

/**
 * Starts a re-poll baseline (50 slots, every job due again at once) and measures it over
 * `windowMs` after 2 s of warm-up: visits/s, its and redis-server's CPU, the Redis commands run.
 * The baseline keeps running: the caller stops it.
 */
async function measuredRepolls(stack: BenchStack, mode: BaselineMode, config: Record<string, unknown>, windowMs: number) {
  const baseline = await stack
    .own(new BaselineProcess(mode, { redisUrl: stack.redisUrl, prefix: BENCH_PREFIX, concurrency: 50, delayMs: 0, ...config }))
    .start();
  await sleep(2000);
  const b0 = { ...baseline.report };
  const c0 = await stack.commandCalls();
  const cpu = new CpuMeter({ baseline: baseline.pid, "redis-server": stack.redisPid }).start();
  await sleep(windowMs);
  const b1 = { ...baseline.report };
  const usage = cpu.stop();
  const commands = commandDelta(c0, await stack.commandCalls());
  const visits = b1.count - b0.count;
  return { baseline, visits, rate: visits / ((b1.countAt - b0.countAt) / 1000), usage, commands };
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [prefix + k, v]));
}
